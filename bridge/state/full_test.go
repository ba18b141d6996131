package state

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idlebridge/idlebridge/internal/testenv"
)

// A full disk under the embedded store is a retryable outage
// (ErrUnavailable, so the front answers 503 with Retry-After), and what
// was stored before stays readable and writable once space is freed.
func TestEmbeddedFullDiskIsUnavailableAndKeepsState(t *testing.T) {
	dir := testenv.TinyDisk(t, "1m")
	path := filepath.Join(dir, EmbeddedFile)
	e, err := OpenEmbedded(path, EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = e.Close() }()
	ctx := context.Background()
	if _, err := e.UpdateDevice(ctx, "u@x", "before", func(d *Device) error { d.Type = "kept"; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Commit(ctx, "u@x", "before", "7", 0, CommitRequest{SyncKey: "1", Apply: &Delta{Set: map[string]string{"7:1": "v1"}}}); err != nil {
		t.Fatal(err)
	}

	free := testenv.FillDisk(t, dir)
	big := strings.Repeat("x", 256<<10) // more than any page left free in the file
	var fullErr error
	for i := 0; i < 64 && fullErr == nil; i++ {
		_, fullErr = e.UpdateDevice(ctx, "u@x", "new"+string(rune('a'+i%26))+strings.Repeat("z", i), func(d *Device) error {
			d.Meta = map[string]string{"big": big}
			return nil
		})
	}
	if fullErr == nil {
		t.Fatal("writing to a full disk never failed")
	}
	if !errors.Is(fullErr, ErrUnavailable) || !errors.Is(fullErr, ErrNoSpace) {
		t.Fatalf("full disk: %v, want ErrUnavailable and ErrNoSpace", fullErr)
	}
	_, err = e.Commit(ctx, "u@x", "before", "7", 1, CommitRequest{SyncKey: "2", Apply: &Delta{Set: map[string]string{"7:2": big}}})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Commit on a full disk: %v, want ErrUnavailable", err)
	}

	// Nothing was lost or half-written.
	check := func(when string) {
		t.Helper()
		d, err := e.GetDevice(ctx, "u@x", "before")
		if err != nil || d.Type != "kept" {
			t.Fatalf("%s: device %+v, %v", when, d, err)
		}
		c, err := e.GetCollection(ctx, "u@x", "before", "7")
		if err != nil || c.SyncKey != "1" || c.Generation != 1 {
			t.Fatalf("%s: collection %+v, %v", when, c, err)
		}
		snap, err := e.Snapshot(ctx, "u@x", "before", "7")
		if err != nil || len(snap) != 1 || snap["7:1"] != "v1" {
			t.Fatalf("%s: snapshot %v, %v", when, snap, err)
		}
	}
	check("while full")

	free()
	if _, err := e.Commit(ctx, "u@x", "before", "7", 1, CommitRequest{SyncKey: "2", PrevSyncKey: "1", Apply: &Delta{Set: map[string]string{"7:2": "v2"}}}); err != nil {
		t.Fatalf("Commit after space was freed: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if e, err = OpenEmbedded(path, EmbeddedOptions{}); err != nil {
		t.Fatalf("reopening after a full disk: %v", err)
	}
	snap, err := e.Snapshot(ctx, "u@x", "before", "7")
	if err != nil || snap["7:1"] != "v1" || snap["7:2"] != "v2" {
		t.Fatalf("after reopening: %v, %v", snap, err)
	}
}

// Redis out of memory (maxmemory with no eviction) is the same retryable
// outage as a full disk, and a refused write leaves what was stored.
func TestRedisFullIsUnavailableAndKeepsState(t *testing.T) {
	srv := testenv.StartRedis(t)
	client, err := OpenRedisClient(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	s := NewRedisStore(client, RedisOptions{OwnClient: true})
	defer s.Close()
	ctx := context.Background()
	if _, err := s.UpdateDevice(ctx, "u@x", "before", func(d *Device) error { d.Type = "kept"; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := client.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err(); err != nil {
		t.Fatal(err)
	}
	if err := client.ConfigSet(ctx, "maxmemory", "1").Err(); err != nil {
		t.Fatal(err)
	}
	_, err = s.UpdateDevice(ctx, "u@x", "new", func(d *Device) error { d.Type = "lost"; return nil })
	// Inside MULTI the OOM comes back as EXECABORT, which does not name
	// its cause: unavailable (retry later) is what can be said.
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Redis out of memory: %v, want ErrUnavailable", err)
	}
	if err := client.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if d, err := s.GetDevice(ctx, "u@x", "before"); err != nil || d.Type != "kept" {
		t.Fatalf("after the refused write: %+v, %v", d, err)
	}
	if _, err := s.GetDevice(ctx, "u@x", "new"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the refused device was stored: %v", err)
	}
	if _, err := s.UpdateDevice(ctx, "u@x", "new", func(d *Device) error { return nil }); err != nil {
		t.Fatalf("a write once memory is back: %v", err)
	}
}
