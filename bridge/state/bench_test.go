package state

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/idlebridge/idlebridge/internal/testenv"
)

// benchEngine is one engine under benchmark.
type benchEngine struct {
	name string
	open func(b *testing.B) Store
}

// benchEngines: the embedded engine as deployed (fsync on commit), the
// embedded engine without fsync (to separate the disk from the engine),
// and Redis on a private server over loopback.
func benchEngines() []benchEngine {
	embedded := func(noSync bool) func(b *testing.B) Store {
		return func(b *testing.B) Store {
			e, err := OpenEmbedded(filepath.Join(b.TempDir(), EmbeddedFile), EmbeddedOptions{NoSync: noSync})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = e.Close() })
			return e
		}
	}
	return []benchEngine{
		{"embedded", embedded(false)},
		{"embedded-nosync", embedded(true)},
		{"redis", func(b *testing.B) Store {
			srv := testenv.StartRedis(b)
			client, err := OpenRedisClient(srv.URL())
			if err != nil {
				b.Fatal(err)
			}
			s := NewRedisStore(client, RedisOptions{OwnClient: true})
			b.Cleanup(func() { _ = s.Close() })
			return s
		}},
	}
}

func benchCommit(b *testing.B, s Store, user, dev, coll string, gen uint64, req CommitRequest) {
	b.Helper()
	if _, err := s.Commit(context.Background(), user, dev, coll, gen, req); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkStore(b *testing.B) {
	ctx := context.Background()
	const user = "bench@example.com"
	for _, eng := range benchEngines() {
		b.Run(eng.name, func(b *testing.B) {
			s := eng.open(b)
			_, err := s.UpdateDevice(ctx, user, "d1", func(d *Device) error {
				d.Type, d.UserAgent, d.ProtocolVersion = "iPhone", "Apple-iPhone15C2/2101.1", "16.1"
				d.Info = map[string]string{"Model": "iPhone15,2", "OS": "iOS 17.4"}
				d.PolicyKey = 1234567890
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			for _, n := range []int{100, 10_000, 100_000} {
				benchCommit(b, s, user, "d1", "snap"+strconv.Itoa(n), 0, CommitRequest{Apply: &Delta{Set: largeSet(n)}, SyncKey: "1"})
			}

			b.Run("GetDevice", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := s.GetDevice(ctx, user, "d1"); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("UpdateDevice", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					_, err := s.UpdateDevice(ctx, user, "d1", func(d *Device) error { d.PolicyKey++; return nil })
					if err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("CommitWindow100", func(b *testing.B) {
				// Each round folds the previous 100-item window and
				// stores the next one as pending: one Sync round trip.
				b.ReportAllocs()
				var gen uint64
				for b.Loop() {
					window := make(map[string]string, 100)
					for j := range 100 {
						window["7:"+strconv.Itoa(int(gen)*100+j)] = strconv.Itoa(j)
					}
					benchCommit(b, s, user, "d1", "window", gen, CommitRequest{
						ApplyPending: true, SyncKey: strconv.Itoa(int(gen) + 1), Pending: &Delta{Set: window},
						Meta: map[string]string{"modseq": strconv.Itoa(int(gen))},
					})
					gen++
				}
			})
			b.Run("SnapshotGet100of100000", func(b *testing.B) {
				ids := make([]string, 100)
				for j := range ids {
					ids[j] = "7:" + strconv.Itoa(j*997+1)
				}
				b.ReportAllocs()
				for b.Loop() {
					m, err := s.SnapshotGet(ctx, user, "d1", "snap100000", ids)
					if err != nil || len(m) != len(ids) {
						b.Fatalf("SnapshotGet = %d entries, %v", len(m), err)
					}
				}
			})
			for _, n := range []int{100, 10_000, 100_000} {
				b.Run("Snapshot"+strconv.Itoa(n), func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						m, err := s.Snapshot(ctx, user, "d1", "snap"+strconv.Itoa(n))
						if err != nil || len(m) != n {
							b.Fatalf("Snapshot = %d entries, %v", len(m), err)
						}
					}
				})
			}
			b.Run("Commit1On100000", func(b *testing.B) {
				b.ReportAllocs()
				gen := uint64(1)
				for b.Loop() {
					benchCommit(b, s, user, "d1", "snap100000", gen, CommitRequest{
						Apply: &Delta{Set: map[string]string{"7:" + strconv.Itoa(int(gen)%100_000+1): "x"}}, SyncKey: strconv.Itoa(int(gen) + 1),
					})
					gen++
				}
			})
		})
	}
}
