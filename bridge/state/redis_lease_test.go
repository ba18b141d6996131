package state

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/internal/testenv"
)

func redisLeaseEngine() leaseEngine {
	return leaseEngine{
		name: "redis",
		open: func(t *testing.T) Leases {
			return NewRedisLeases(newBusTestClient(t, testenv.RedisURL(t)))
		},
		lease: func(t *testing.T) string { return "watch:" + testenv.UniqueUser(t) },
	}
}

func TestRedisLeaseKeysShareASlot(t *testing.T) {
	// Cluster runs the Lua script only if both keys hash to one slot; the
	// hash tag guarantees it when both keys carry the same {name}.
	for _, name := range []string{"watch:alice@example.com", "a}b", "{x}"} {
		k, f := leaseKey(name), leaseFence(name)
		if tag(k) != tag(f) {
			t.Errorf("%q: %s and %s have different hash tags", name, k, f)
		}
	}
}

// tag returns the part of key Redis Cluster hashes (its hash tag rule).
func tag(key string) string {
	for i := 0; i < len(key); i++ {
		if key[i] == '{' {
			for j := i + 1; j < len(key); j++ {
				if key[j] == '}' {
					if j > i+1 {
						return key[i+1 : j]
					}
					return key
				}
			}
			return key
		}
	}
	return key
}

func TestRedisLeasesUnavailable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	leases := NewRedisLeases(newBusTestClient(t, "redis://"+addr+"/0"))
	cases := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Acquire", func(ctx context.Context) error {
			_, _, err := leases.Acquire(ctx, "watch:u", "a", time.Minute)
			return err
		}},
		{"Renew", func(ctx context.Context) error { return leases.Renew(ctx, "watch:u", "a", 1, time.Minute) }},
		{"RenewMany", func(ctx context.Context) error {
			_, err := leases.RenewMany(ctx, "a", time.Minute, []LeaseRef{{Name: "watch:u", Token: 1}})
			return err
		}},
		{"Release", func(ctx context.Context) error { return leases.Release(ctx, "watch:u", "a", 1) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			if err := tc.call(ctx); !errors.Is(err, ErrUnavailable) {
				t.Errorf("err = %v, want ErrUnavailable", err)
			}
		})
	}
}

func TestRedisRenewManyAfterScriptFlush(t *testing.T) {
	// A Redis restart empties the script cache: the pipelined EVALSHAs
	// then fail with NOSCRIPT and must be sent again, not reported lost.
	client := newBusTestClient(t, testenv.RedisURL(t))
	l := NewRedisLeases(client)
	name := "watch:" + testenv.UniqueUser(t)
	refs := acquireMany(t, l, name, "a", 2, time.Minute)
	if err := client.ScriptFlush(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	wantRenewed(t, l, "a", time.Minute, refs, nil)
	wantRenewed(t, l, "a", time.Minute, refs, nil) // and again from the reloaded cache
}
