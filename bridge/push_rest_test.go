package bridge

import (
	"bytes"
	"context"
	"log/slog"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
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
