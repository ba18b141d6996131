package state

import (
	"errors"
	"testing"
	"time"
)

// This file holds the Leases contract, run against both engines (the
// Redis engine is defined in redis_lease_test.go and skips without a test
// Redis).

type leaseEngine struct {
	name string
	open func(t *testing.T) Leases
	// lease names a fresh lease, so tests sharing a backend never meet.
	lease func(t *testing.T) string
}

func leaseEngines() []leaseEngine {
	return []leaseEngine{
		{
			name:  "memory",
			open:  func(*testing.T) Leases { return NewMemoryLeases() },
			lease: func(t *testing.T) string { return "watch:" + t.Name() + "@example.test" },
		},
		redisLeaseEngine(),
	}
}

func mustAcquire(t *testing.T, l Leases, name, owner string, ttl time.Duration) uint64 {
	t.Helper()
	held, tok, err := l.Acquire(t.Context(), name, owner, ttl)
	if err != nil {
		t.Fatalf("Acquire(%s): %v", owner, err)
	}
	if !held {
		t.Fatalf("Acquire(%s): not held", owner)
	}
	if tok == 0 {
		t.Fatalf("Acquire(%s): token 0", owner)
	}
	return tok
}

func mustNotAcquire(t *testing.T, l Leases, name, owner string) {
	t.Helper()
	held, _, err := l.Acquire(t.Context(), name, owner, time.Minute)
	if err != nil {
		t.Fatalf("Acquire(%s): %v", owner, err)
	}
	if held {
		t.Fatalf("Acquire(%s): got a lease someone else holds", owner)
	}
}

func TestLeaseContract(t *testing.T) {
	const short = 200 * time.Millisecond
	cases := []struct {
		name string
		run  func(t *testing.T, l Leases, name string)
	}{
		{"exclusive between owners", func(t *testing.T, l Leases, name string) {
			tok := mustAcquire(t, l, name, "a", time.Minute)
			mustNotAcquire(t, l, name, "b")
			if again := mustAcquire(t, l, name, "a", time.Minute); again != tok {
				t.Errorf("re-Acquire by the holder changed the token %d → %d", tok, again)
			}
			mustNotAcquire(t, l, name, "b")
		}},
		{"renew extends", func(t *testing.T, l Leases, name string) {
			tok := mustAcquire(t, l, name, "a", 2*short)
			for range 3 { // outlive the first TTL twice over
				time.Sleep(short)
				if err := l.Renew(t.Context(), name, "a", tok, 2*short); err != nil {
					t.Fatalf("Renew: %v", err)
				}
			}
			mustNotAcquire(t, l, name, "b")
		}},
		{"re-Acquire by the holder extends", func(t *testing.T, l Leases, name string) {
			tok := mustAcquire(t, l, name, "a", 2*short)
			time.Sleep(short)
			mustAcquire(t, l, name, "a", 2*short)
			time.Sleep(short + short/2)
			mustNotAcquire(t, l, name, "b")
			if err := l.Renew(t.Context(), name, "a", tok, time.Minute); err != nil {
				t.Errorf("Renew after re-Acquire: %v", err)
			}
		}},
		{"lapsed lease changes hands", func(t *testing.T, l Leases, name string) {
			old := mustAcquire(t, l, name, "a", short)
			time.Sleep(short + 100*time.Millisecond)
			tok := mustAcquire(t, l, name, "b", time.Minute)
			if tok <= old {
				t.Errorf("new holder's token %d not above old %d", tok, old)
			}
			if err := l.Renew(t.Context(), name, "a", old, time.Minute); !errors.Is(err, ErrNotFound) {
				t.Errorf("old holder's Renew: err = %v, want ErrNotFound", err)
			}
			if err := l.Release(t.Context(), name, "a", old); err != nil {
				t.Errorf("old holder's Release: %v", err)
			}
			mustNotAcquire(t, l, name, "a") // the stale Release freed nothing
			if err := l.Renew(t.Context(), name, "b", tok, time.Minute); err != nil {
				t.Errorf("new holder's Renew: %v", err)
			}
		}},
		{"lapsed lease cannot be renewed", func(t *testing.T, l Leases, name string) {
			tok := mustAcquire(t, l, name, "a", short)
			time.Sleep(short + 100*time.Millisecond)
			if err := l.Renew(t.Context(), name, "a", tok, time.Minute); !errors.Is(err, ErrNotFound) {
				t.Errorf("Renew of a lapsed lease: err = %v, want ErrNotFound", err)
			}
		}},
		{"release frees", func(t *testing.T, l Leases, name string) {
			old := mustAcquire(t, l, name, "a", time.Minute)
			if err := l.Release(t.Context(), name, "a", old); err != nil {
				t.Fatalf("Release: %v", err)
			}
			if err := l.Renew(t.Context(), name, "a", old, time.Minute); !errors.Is(err, ErrNotFound) {
				t.Errorf("Renew after Release: err = %v, want ErrNotFound", err)
			}
			if tok := mustAcquire(t, l, name, "b", time.Minute); tok <= old {
				t.Errorf("token after release %d not above %d", tok, old)
			}
		}},
		{"renew with wrong token", func(t *testing.T, l Leases, name string) {
			tok := mustAcquire(t, l, name, "a", time.Minute)
			if err := l.Renew(t.Context(), name, "a", tok+1, time.Minute); !errors.Is(err, ErrNotFound) {
				t.Errorf("Renew with a wrong token: err = %v, want ErrNotFound", err)
			}
			if err := l.Release(t.Context(), name, "a", tok+1); err != nil {
				t.Errorf("Release with a wrong token: %v", err)
			}
			mustNotAcquire(t, l, name, "b")
		}},
		{"owner containing the separator", func(t *testing.T, l Leases, name string) {
			tok := mustAcquire(t, l, name, "host|1", time.Minute)
			if again := mustAcquire(t, l, name, "host|1", time.Minute); again != tok {
				t.Errorf("token changed %d → %d", tok, again)
			}
			mustNotAcquire(t, l, name, "host")
		}},
		{"names are independent", func(t *testing.T, l Leases, name string) {
			mustAcquire(t, l, name, "a", time.Minute)
			mustAcquire(t, l, name+"-other", "b", time.Minute)
		}},
		{"invalid arguments", func(t *testing.T, l Leases, name string) {
			for _, c := range []struct {
				name, owner string
				ttl         time.Duration
			}{{"", "a", time.Minute}, {name, "", time.Minute}, {name, "a", 0}, {name, "a", -time.Second}} {
				if _, _, err := l.Acquire(t.Context(), c.name, c.owner, c.ttl); err == nil {
					t.Errorf("Acquire(%q, %q, %v) accepted", c.name, c.owner, c.ttl)
				}
			}
		}},
	}
	for _, eng := range leaseEngines() {
		t.Run(eng.name, func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel() // the cases mostly sleep
					tc.run(t, eng.open(t), eng.lease(t))
				})
			}
		})
	}
}
