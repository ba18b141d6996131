package bridge

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/internal/testenv"
)

// countingLeases counts the store calls the hub makes through it.
type countingLeases struct {
	state.Leases
	renews atomic.Int64
	mu     sync.Mutex
	many   [][]state.LeaseRef // each RenewMany call's leases
}

func (c *countingLeases) Renew(ctx context.Context, name, owner string, token uint64, ttl time.Duration) error {
	c.renews.Add(1)
	return c.Leases.Renew(ctx, name, owner, token, ttl)
}

func (c *countingLeases) RenewMany(ctx context.Context, owner string, ttl time.Duration, leases []state.LeaseRef) ([]error, error) {
	c.mu.Lock()
	c.many = append(c.many, append([]state.LeaseRef(nil), leases...))
	c.mu.Unlock()
	return c.Leases.RenewMany(ctx, owner, ttl, leases)
}

func (c *countingLeases) calls() [][]state.LeaseRef {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]state.LeaseRef(nil), c.many...)
}

func (c *countingLeases) reset() {
	c.mu.Lock()
	c.many = nil
	c.mu.Unlock()
	c.renews.Store(0)
}

// TestLeasesDueAtATickAreOneStoreCall parks N users on the real Dovecot,
// makes all of them due at the same tick, and counts the lease calls:
// one RenewMany carrying every user's lease, no Renew. One lease is
// fenced meanwhile (taken by another instance): only its user's
// connection stops. Both lease engines.
func TestLeasesDueAtATickAreOneStoreCall(t *testing.T) {
	engines := map[string]func(t *testing.T) state.Leases{
		"memory": func(*testing.T) state.Leases { return state.NewMemoryLeases() },
		"redis": func(t *testing.T) state.Leases {
			rdb, err := state.OpenRedisClient(testenv.RedisURL(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = rdb.Close() })
			return state.NewRedisLeases(rdb)
		},
	}
	for name, open := range engines {
		t.Run(name, func(t *testing.T) { testLeasesOneCall(t, open(t)) })
	}
}

func testLeasesOneCall(t *testing.T, leases state.Leases) {
	const n = 8
	bus := state.NewMemoryBus()
	t.Cleanup(func() { _ = bus.Close() })
	counted := &countingLeases{Leases: leases}
	var conns atomic.Int64
	// A TTL long enough that no user comes due by itself during the test:
	// the test decides when they are due.
	p := NewPush(bus, counted, embeddedStore(t), &restChecker{changed: map[string]bool{}}, slog.New(slog.DiscardHandler), PushOptions{
		Instance: "renew-test-" + testenv.UniqueUser(t),
		LeaseTTL: time.Hour,
		OnConn:   func(d int) { conns.Add(int64(d)) },
	})
	t.Cleanup(p.Close)
	users := make([]string, n)
	for i := range n {
		acct, _ := testAccount(t)
		users[i] = acct.Address()
		if _, err := p.Ping(testCtx(t), acct, "dev", []activesync.PingFolder{{ID: "in", Class: "Email"}}, time.Hour,
			func([]string, error) {}); err != nil {
			t.Fatalf("Ping %d: %v", i, err)
		}
	}
	testenv.WaitFor(t, 60*time.Second, "every user's watcher connection", func() bool { return conns.Load() == n })
	tokens := func() map[string]uint64 {
		p.mu.Lock()
		defer p.mu.Unlock()
		out := map[string]uint64{}
		for _, u := range users {
			if uw := p.users[u]; uw != nil {
				out[u] = uw.leaseToken
			}
		}
		return out
	}
	testenv.WaitFor(t, 30*time.Second, "every user holding its lease", func() bool {
		for _, u := range users {
			if tokens()[u] == 0 {
				return false
			}
		}
		return true
	})
	held := tokens()

	// Fence user 2's lease: it is released behind the hub's back and
	// another instance takes it, with a newer token.
	fenced := users[2]
	if err := leases.Release(testCtx(t), "watch:"+fenced, p.opts.Instance, held[fenced]); err != nil {
		t.Fatal(err)
	}
	if ok, tok, err := leases.Acquire(testCtx(t), "watch:"+fenced, p.opts.Instance+"-other", time.Hour); err != nil || !ok || tok <= held[fenced] {
		t.Fatalf("the other instance's Acquire: %v %v %d (old token %d)", ok, err, tok, held[fenced])
	}

	counted.reset()
	p.mu.Lock()
	due := time.Now().Add(-time.Second)
	for _, u := range users {
		p.users[u].nextTick = due
	}
	p.mu.Unlock()
	testenv.WaitFor(t, 30*time.Second, "the tick's renewal", func() bool { return len(counted.calls()) > 0 })
	testenv.WaitFor(t, 30*time.Second, "the fenced user's connection to stop", func() bool { return conns.Load() == n-1 })

	calls := counted.calls()
	if len(calls) != 1 {
		t.Fatalf("%d RenewMany calls for one tick, want 1: %v", len(calls), calls)
	}
	if len(calls[0]) != n {
		t.Fatalf("the tick's RenewMany renewed %d leases, want all %d: %v", len(calls[0]), n, calls[0])
	}
	if r := counted.renews.Load(); r != 0 {
		t.Fatalf("%d Renew calls besides the batch, want none", r)
	}
	after := tokens()
	for _, u := range users {
		switch {
		case u == fenced && after[u] != 0:
			t.Errorf("the fenced user still holds token %d", after[u])
		case u != fenced && after[u] != held[u]:
			t.Errorf("user %s: token %d after the tick, want %d kept", u, after[u], held[u])
		}
	}
	// The others' leases were really renewed: still theirs, fenced by
	// their own token.
	for _, u := range users {
		if u == fenced {
			continue
		}
		if err := leases.Renew(testCtx(t), "watch:"+u, p.opts.Instance, held[u], time.Hour); err != nil {
			t.Errorf("user %s: lease no longer held after the batch: %v", u, err)
		}
	}
	if c := conns.Load(); c != n-1 {
		t.Fatalf("%d connections after the fencing, want %d (only the fenced user's stops)", c, n-1)
	}
}
