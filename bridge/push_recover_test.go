package bridge

import (
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/internal/testenv"
)

// panicRig is a push hub in front of the real Dovecot whose recovery
// points panic as inject decides, counting what was recovered.
type panicRig struct {
	*mailRig
	p     *Push
	inbox string

	mu        sync.Mutex
	recovered map[string]int
}

func newPanicRig(t *testing.T, inject func(where string, n int) bool) *panicRig {
	t.Helper()
	r := &panicRig{mailRig: newRig(t, embeddedStore(t)), recovered: map[string]int{}}
	r.inbox = r.folderID("INBOX")
	r.primed(r.inbox, syncOpts{})
	bus := state.NewMemoryBus()
	t.Cleanup(func() { _ = bus.Close() })
	r.p = NewPush(bus, state.NewMemoryLeases(), r.store, r.m, slog.New(slog.DiscardHandler), PushOptions{
		OnPanic: func(where string) {
			r.mu.Lock()
			r.recovered[where]++
			r.mu.Unlock()
		},
	})
	calls := map[string]int{}
	var mu sync.Mutex
	r.p.fault = func(where string) {
		mu.Lock()
		calls[where]++
		n := calls[where]
		mu.Unlock()
		if inject(where, n) {
			panic("injected panic at " + where)
		}
	}
	t.Cleanup(r.p.Close)
	return r
}

func (r *panicRig) count(where string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.recovered[where]
}

// ping parks the device's Ping on the inbox and returns its answer.
func (r *panicRig) ping(t *testing.T) <-chan []string {
	t.Helper()
	out := make(chan []string, 1)
	_, err := r.p.Ping(testCtx(t), r.acct, r.device, []activesync.PingFolder{{ID: r.inbox, Class: "Email"}}, 5*time.Minute,
		func(changed []string, err error) {
			if err != nil {
				t.Errorf("Ping ended with %v", err)
			}
			out <- changed
		})
	if err != nil {
		t.Fatalf("Ping: %v", err)
	}
	return out
}

func wantWoken(t *testing.T, ch <-chan []string, inbox string) {
	t.Helper()
	select {
	case changed := <-ch:
		if !slices.Equal(changed, []string{inbox}) {
			t.Fatalf("Ping answered %v, want [%s]", changed, inbox)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Ping still parked")
	}
}

// TestPushRecoversPanics: a panic in the dispatcher, the re-check queue
// or a watcher is recovered, logged and counted; the instance's parked
// Pings still answer, and the next delivery still wakes them.
func TestPushRecoversPanics(t *testing.T) {
	t.Run("watcher", func(t *testing.T) {
		// The watch manager panics on its first run: it is restarted
		// and its IDLE connection serves the Ping.
		r := newPanicRig(t, func(where string, n int) bool { return where == panicWatcher && n == 1 })
		ping := r.ping(t)
		testenv.WaitFor(t, 20*time.Second, "the watcher's panic", func() bool { return r.count(panicWatcher) == 1 })
		r.appendMsg("INBOX", message("after the watcher panic", "x"), time.Now())
		wantWoken(t, ping, r.inbox)
	})
	t.Run("dispatch", func(t *testing.T) {
		// Every event panics in the dispatcher: each counts as lost, so
		// parked requests re-check everything, and the delivery is still
		// found.
		r := newPanicRig(t, func(where string, n int) bool { return where == panicDispatch })
		ping := r.ping(t)
		r.appendMsg("INBOX", message("through a panicking dispatcher", "x"), time.Now())
		wantWoken(t, ping, r.inbox)
		if r.count(panicDispatch) == 0 {
			t.Fatal("no dispatcher panic was recovered")
		}
	})
	t.Run("check", func(t *testing.T) {
		// The first re-check panics: the Ping is answered with its
		// folder (the device Syncs it), not left without a check.
		r := newPanicRig(t, func(where string, n int) bool { return where == panicCheck && n == 1 })
		wantWoken(t, r.ping(t), r.inbox)
		if r.count(panicCheck) != 1 {
			t.Fatalf("%d check panics recovered, want 1", r.count(panicCheck))
		}
		// The hub goes on: the next Ping parks and wakes on a delivery.
		ping := r.ping(t)
		if n := r.p.Parked(); n != 1 {
			t.Fatalf("%d parked after the recovered panic, want 1", n)
		}
		r.appendMsg("INBOX", message("after the check panic", "x"), time.Now())
		wantWoken(t, ping, r.inbox)
	})
}
