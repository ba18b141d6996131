package state

import (
	"errors"
	"fmt"
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
		{"renew many extends each", func(t *testing.T, l Leases, name string) {
			refs := acquireMany(t, l, name, "a", 3, 2*short)
			for range 3 { // outlive the first TTL twice over
				time.Sleep(short)
				wantRenewed(t, l, "a", 2*short, refs, nil)
			}
			for _, r := range refs {
				mustNotAcquire(t, l, r.Name, "b")
			}
		}},
		{"renew many with one lapsed", func(t *testing.T, l Leases, name string) {
			refs := acquireMany(t, l, name, "a", 3, time.Minute)
			lapsed := name + "-lapsed"
			refs = append(refs, LeaseRef{Name: lapsed, Token: mustAcquire(t, l, lapsed, "a", short)})
			time.Sleep(short + 100*time.Millisecond)
			wantRenewed(t, l, "a", time.Minute, refs, map[int]bool{3: true})
			mustAcquire(t, l, lapsed, "b", time.Minute) // the failed renewal did not revive it
			for _, r := range refs[:3] {
				mustNotAcquire(t, l, r.Name, "b")
			}
		}},
		{"renew many with one fenced", func(t *testing.T, l Leases, name string) {
			refs := acquireMany(t, l, name, "a", 3, time.Minute)
			// refs[1] was released and taken again by the same owner: its
			// old token is fenced by the newer one.
			if err := l.Release(t.Context(), refs[1].Name, "a", refs[1].Token); err != nil {
				t.Fatal(err)
			}
			newer := mustAcquire(t, l, refs[1].Name, "a", short)
			wantRenewed(t, l, "a", time.Minute, refs, map[int]bool{1: true})
			// The fenced renewal did not extend the newer holding.
			time.Sleep(short + 100*time.Millisecond)
			mustAcquire(t, l, refs[1].Name, "b", time.Minute)
			if err := l.Renew(t.Context(), refs[1].Name, "a", newer, time.Minute); !errors.Is(err, ErrNotFound) {
				t.Errorf("Renew of the lapsed newer token: err = %v, want ErrNotFound", err)
			}
			for _, i := range []int{0, 2} {
				mustNotAcquire(t, l, refs[i].Name, "b")
			}
		}},
		{"renew many of another owner's", func(t *testing.T, l Leases, name string) {
			refs := acquireMany(t, l, name, "a", 2, time.Minute)
			wantRenewed(t, l, "b", time.Minute, refs, map[int]bool{0: true, 1: true})
		}},
		{"renew many of none", func(t *testing.T, l Leases, name string) {
			res, err := l.RenewMany(t.Context(), "a", time.Minute, nil)
			if err != nil || len(res) != 0 {
				t.Errorf("RenewMany(nil) = %v, %v; want no results, no error", res, err)
			}
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

// acquireMany takes n fresh leases named after name for owner.
func acquireMany(t *testing.T, l Leases, name, owner string, n int, ttl time.Duration) []LeaseRef {
	t.Helper()
	refs := make([]LeaseRef, n)
	for i := range refs {
		refs[i].Name = fmt.Sprintf("%s-%d", name, i)
		refs[i].Token = mustAcquire(t, l, refs[i].Name, owner, ttl)
	}
	return refs
}

// wantRenewed runs RenewMany and checks that exactly the entries in lost
// came back ErrNotFound and the others nil.
func wantRenewed(t *testing.T, l Leases, owner string, ttl time.Duration, refs []LeaseRef, lost map[int]bool) {
	t.Helper()
	res, err := l.RenewMany(t.Context(), owner, ttl, refs)
	if err != nil {
		t.Fatalf("RenewMany: %v", err)
	}
	if len(res) != len(refs) {
		t.Fatalf("RenewMany: %d results for %d leases", len(res), len(refs))
	}
	for i, e := range res {
		if lost[i] && !errors.Is(e, ErrNotFound) {
			t.Errorf("lease %d (%s): %v, want ErrNotFound", i, refs[i].Name, e)
		}
		if !lost[i] && e != nil {
			t.Errorf("lease %d (%s): %v, want renewed", i, refs[i].Name, e)
		}
	}
}
