package bridge

import (
	"bytes"
	"context"
	"log/slog"
	"maps"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/accounts"
	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/internal/testenv"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

// restChecker stands in for the mail engine's change check (this test is
// about what the hub holds, not about sync state): every user's folder
// "in" is the inbox, and it has changes once the test says so.
type restChecker struct {
	mu      sync.Mutex
	changed map[string]bool // by user
}

func (c *restChecker) refOf(_ context.Context, _, folderID string) (engine.Ref, bool, error) {
	return engine.Ref{Kind: engine.KindMail, Path: "INBOX"}, folderID == "in", nil
}

func (c *restChecker) hasChanges(_ context.Context, acct *Account, _, _ string, _ bool) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changed[acct.Address()], nil
}

func (c *restChecker) hierarchyChanged(context.Context, *Account, string) (bool, error) {
	return false, nil
}

// TestParkedUsersHoldNoGoroutines parks N users on the real Dovecot, each
// with its upstream watcher connection, and counts goroutines once they
// are at rest: a parked user must not hold one (the dispatcher, the watch
// manager and its ticker used to be two per user). A delivery to one user
// then still wakes its Ping.
func TestParkedUsersHoldNoGoroutines(t *testing.T) {
	const n = 30 // shared goroutines (the hub's tick, the upstream ready poller) stay under n/10
	bus := state.NewMemoryBus()
	t.Cleanup(func() { _ = bus.Close() })
	check := &restChecker{changed: map[string]bool{}}
	var conns atomic.Int64
	p := NewPush(bus, state.NewMemoryLeases(), embeddedStore(t), check, slog.New(slog.DiscardHandler), PushOptions{
		OnConn: func(d int) { conns.Add(int64(d)) },
	})
	t.Cleanup(p.Close)

	runtime.GC()
	base := runtime.NumGoroutine()
	accts := make([]*Account, n)
	answers := make([]chan []string, n)
	cfgs := make([]imap.Config, n)
	for i := range n {
		accts[i], cfgs[i] = testAccount(t)
		answers[i] = make(chan []string, 1)
		done := answers[i]
		if _, err := p.Ping(testCtx(t), accts[i], "dev", []activesync.PingFolder{{ID: "in", Class: "Email"}}, time.Hour,
			func(changed []string, err error) {
				if err != nil {
					t.Errorf("Ping ended with %v", err)
				}
				done <- changed
			}); err != nil {
			t.Fatalf("Ping %d: %v", i, err)
		}
	}
	testenv.WaitFor(t, 60*time.Second, "every user's watcher connection", func() bool { return conns.Load() == n })
	if got := p.Parked(); got != n {
		t.Fatalf("%d parked, want %d", got, n)
	}
	var grown int
	deadline := time.Now().Add(60 * time.Second)
	for grown = runtime.NumGoroutine() - base; grown >= n/10; grown = runtime.NumGoroutine() - base {
		if time.Now().After(deadline) {
			var b strings.Builder
			_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
			t.Fatalf("%d parked users still hold %d goroutines beyond the baseline:\n%s", n, grown, b.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("%d parked users hold %d goroutines beyond the baseline", n, grown)
	if c := conns.Load(); c != n {
		t.Fatalf("%d upstream connections for %d users at rest, want one each", c, n)
	}

	// At rest nothing is lost: a delivery wakes the user's Ping.
	check.mu.Lock()
	check.changed[accts[3].Address()] = true
	check.mu.Unlock()
	other, err := imap.Dial(testCtx(t), cfgs[3])
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	raw := message("to a user at rest", "x")
	if _, err := other.Append(testCtx(t), "INBOX", nil, time.Now(), bytes.NewReader(raw), int64(len(raw))); err != nil {
		t.Fatal(err)
	}
	select {
	case changed := <-answers[3]:
		if !slices.Equal(changed, []string{"in"}) {
			t.Fatalf("Ping answered %v, want [in]", changed)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the Ping of a user at rest slept through a delivery")
	}
	for i, a := range answers {
		select {
		case changed := <-a:
			t.Fatalf("user %d answered %v without a delivery", i, changed)
		default:
		}
	}
}

// countingWatches counts the store's watched-set reads.
type countingWatches struct {
	state.Store
	single, many atomic.Int64
}

func (c *countingWatches) Watched(ctx context.Context, user string, now time.Time) ([]string, error) {
	c.single.Add(1)
	return c.Store.Watched(ctx, user, now)
}

func (c *countingWatches) WatchedMany(ctx context.Context, users []string, now time.Time) ([][]string, error) {
	c.many.Add(1)
	return c.Store.WatchedMany(ctx, users, now)
}

// TestUsersAtRestGetNoPassPerTick parks users on the real Dovecot with a
// short lease, so the shared tick steps them every 100 ms, and counts
// what the ticks cost at rest: no watch-manager pass except the periodic
// full one (a pass per user per tick was a goroutine and, every third,
// a store read each), and the re-reads of the watched union in batches,
// never one read per user. An entry another instance wrote without
// telling (its announcement lost) is still found by the tick's re-read,
// and applied by a pass.
func TestUsersAtRestGetNoPassPerTick(t *testing.T) {
	const n = 4
	const ttl = 300 * time.Millisecond
	bus := state.NewMemoryBus()
	t.Cleanup(func() { _ = bus.Close() })
	store := &countingWatches{Store: embeddedStore(t)}
	var conns atomic.Int64
	p := NewPush(bus, state.NewMemoryLeases(), store, &restChecker{changed: map[string]bool{}}, slog.New(slog.DiscardHandler), PushOptions{
		LeaseTTL: ttl,
		OnConn:   func(d int) { conns.Add(int64(d)) },
	})
	t.Cleanup(p.Close)
	var pmu sync.Mutex
	passes := map[string]int{}
	p.mu.Lock()
	p.onPass = func(user string) {
		pmu.Lock()
		passes[user]++
		pmu.Unlock()
	}
	p.mu.Unlock()

	accts := make([]*Account, n)
	for i := range n {
		accts[i], _ = testAccount(t)
		if _, err := p.Ping(testCtx(t), accts[i], "dev", []activesync.PingFolder{{ID: "in", Class: "Email"}}, time.Hour,
			func([]string, error) {}); err != nil {
			t.Fatalf("Ping %d: %v", i, err)
		}
	}
	testenv.WaitFor(t, 60*time.Second, "every user's watcher connection", func() bool { return conns.Load() == n })
	settled := func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, a := range accts {
			if uw := p.users[a.Address()]; uw == nil || !uw.settled {
				return false
			}
		}
		return true
	}
	testenv.WaitFor(t, 30*time.Second, "every manager settled", settled)

	ticksOf := func() map[string]int {
		p.mu.Lock()
		defer p.mu.Unlock()
		out := map[string]int{}
		for _, a := range accts {
			out[a.Address()] = p.users[a.Address()].ticks
		}
		return out
	}
	pmu.Lock()
	passes0 := maps.Clone(passes)
	pmu.Unlock()
	ticks0, single0, many0 := ticksOf(), store.single.Load(), store.many.Load()
	// Long enough for several re-reads and full passes of every user.
	testenv.WaitFor(t, 60*time.Second, "24 ticks of every user", func() bool {
		for u, k := range ticksOf() {
			if k-ticks0[u] < 4*fullPassEvery {
				return false
			}
		}
		return true
	})
	ticks1 := ticksOf()
	pmu.Lock()
	passes1 := maps.Clone(passes)
	pmu.Unlock()
	for _, a := range accts {
		u := a.Address()
		dt, dp := ticks1[u]-ticks0[u], passes1[u]-passes0[u]
		t.Logf("%s: %d ticks, %d passes", u, dt, dp)
		if dp > dt/fullPassEvery+2 {
			t.Errorf("%s at rest: %d passes in %d ticks, want about one per %d", u, dp, dt, fullPassEvery)
		}
		if dp == 0 {
			t.Errorf("%s at rest: no full pass in %d ticks", u, dt)
		}
	}
	if d := store.single.Load() - single0; d != 0 {
		t.Errorf("%d one-user watched-set reads at rest, want none (batched)", d)
	}
	if d := store.many.Load() - many0; d == 0 {
		t.Error("no batched watched-set read at rest")
	}

	// Another instance's entry whose announcement was lost: the tick's
	// batched re-read finds it, and a pass applies it.
	u := accts[1].Address()
	if err := store.SetWatched(testCtx(t), u, "other-instance", []string{"elsewhere"}, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 30*time.Second, "the unannounced entry applied", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return slices.Contains(p.users[u].watchedIDs, "elsewhere")
	})
	if d := store.single.Load() - single0; d != 0 {
		t.Errorf("%d one-user watched-set reads, want none: the tick's batch found the entry", d)
	}
}

// servedCalendars is a class hierarchy that serves only users with a
// CalDAV server, and lists one calendar for them.
type servedCalendars struct{ lists atomic.Int64 }

func (*servedCalendars) Kinds() []engine.Kind { return []engine.Kind{engine.KindCalendar} }

func (*servedCalendars) Serves(pr *accounts.Principal) bool {
	return pr != nil && pr.User != nil && pr.User.CalDAV != ""
}

func (h *servedCalendars) Folders(_ context.Context, pr *accounts.Principal, _ engine.Client) ([]engine.Folder, error) {
	h.lists.Add(1)
	if pr == nil || pr.User == nil || pr.User.CalDAV == "" {
		return nil, nil
	}
	return []engine.Folder{{Ref: engine.Ref{Kind: engine.KindCalendar, Path: "/cal/home/"}, DisplayName: "Home", Type: activesync.FolderCalendar}}, nil
}

// TestMailOnlyUserHasNoHierarchyPoll: a user no class serves (no CalDAV
// or CardDAV server) is not polled for calendars and address books at
// all; once the user file gives the user a CalDAV server, the poll
// starts and its calendars answer parked Pings with a hierarchy change
// (Status 7), as a calendar created upstream would.
func TestMailOnlyUserHasNoHierarchyPoll(t *testing.T) {
	bus := state.NewMemoryBus()
	t.Cleanup(func() { _ = bus.Close() })
	var conns atomic.Int64
	p := NewPush(bus, state.NewMemoryLeases(), embeddedStore(t), &restChecker{changed: map[string]bool{}}, slog.New(slog.DiscardHandler), PushOptions{
		LeaseTTL:          300 * time.Millisecond,
		HierarchyInterval: 50 * time.Millisecond,
		OnConn:            func(d int) { conns.Add(int64(d)) },
	})
	t.Cleanup(p.Close)
	cals := &servedCalendars{}
	p.classes = []engine.Class{{Kinds: cals.Kinds(), Hierarchy: cals}}

	acct, _ := testAccount(t)
	ping := func(a *Account) {
		t.Helper()
		if _, err := p.Ping(testCtx(t), a, "dev", []activesync.PingFolder{{ID: "in", Class: "Email"}}, time.Hour,
			func([]string, error) {}); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	}
	ping(acct)
	testenv.WaitFor(t, 60*time.Second, "the watcher connection", func() bool { return conns.Load() == 1 })
	user := acct.Address()
	testenv.WaitFor(t, 30*time.Second, "the manager settled", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		uw := p.users[user]
		return uw != nil && uw.settled && uw.ticks >= 2*fullPassEvery
	})
	if n := cals.lists.Load(); n != 0 {
		t.Fatalf("a mail-only user's calendars were listed %d times", n)
	}

	sub, err := bus.Subscribe(testCtx(t), user)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	u := *acct.Principal.User
	u.CalDAV = "http://127.0.0.1:1/dav/"
	ping(&Account{Principal: &accounts.Principal{User: &u, Upstream: acct.Principal.Upstream}})
	deadline := time.After(30 * time.Second)
	for {
		select {
		case ch := <-sub.Changes():
			if ch.Collection == hierarchyCollection {
				if n := cals.lists.Load(); n == 0 {
					t.Fatal("hierarchy change published without a listing")
				}
				return
			}
		case <-deadline:
			t.Fatalf("no hierarchy change after the user gained a CalDAV server (%d listings)", cals.lists.Load())
		}
	}
}
