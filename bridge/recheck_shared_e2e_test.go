package bridge_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/bridge/mail"
	"github.com/idlebridge/idlebridge/internal/bridgetest"
	"github.com/idlebridge/idlebridge/internal/testenv"
)

// sharedCounter counts re-checks by outcome and the IMAP commands of the
// re-check path (op GetItemEstimate), one entry per engine call.
type sharedCounter struct {
	mu       sync.Mutex
	by       map[string]int
	calls    int
	commands int64
}

func (c *sharedCounter) options() mail.Options {
	c.by = map[string]int{}
	return mail.Options{
		OnRecheck: func(by string) { c.mu.Lock(); c.by[by]++; c.mu.Unlock() },
		OnIMAP: func(op string, n int64) {
			if op == "GetItemEstimate" {
				c.mu.Lock()
				c.calls++
				c.commands += n
				c.mu.Unlock()
			}
		},
	}
}

func (c *sharedCounter) take() (by map[string]int, calls int, commands int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	by, calls, commands = c.by, c.calls, c.commands
	c.by, c.calls, c.commands = map[string]int{}, 0, 0
	return
}

// Many devices of one user parked on the inbox, one delivery: every one
// is woken, and the wake-up re-checks ask the provider about once between
// them (one SELECT + one FETCH CHANGEDSINCE), not once per device — the
// devices share the version, the record and so the upstream data.
func TestPushWakeRechecksShareOneFetch(t *testing.T) {
	forEngines(t, func(t *testing.T, redis bool) {
		const n = 50
		var sc sharedCounter
		e := bridgetest.Start(t, bridgetest.Options{Redis: redis, MaxDevices: n + 2, MailOptions: sc.options()})
		appendMail(t, e, "before")
		pings := make([]<-chan pingResult, n)
		var inbox string
		for i := range pings {
			c, in, _ := inboxReady(t, e, "phone"+string(rune('A'+i/26))+string(rune('a'+i%26)))
			inbox = in
			pings[i] = parkPing(t, e, c, 300, in)
		}
		testenv.WaitFor(t, 20*time.Second, "the watcher's live record of INBOX", func() bool {
			v, ok, err := e.Store.GetVersion(context.Background(), e.User, "INBOX", time.Now())
			return err == nil && ok && v.Live
		})
		time.Sleep(200 * time.Millisecond) // OnReady's re-checks finish
		sc.take()

		appendMail(t, e, "pushed")
		delivered := time.Now()
		for i := range pings {
			r := awaitPing(t, pings[i], 30*time.Second)
			if r.status != "2" || len(r.changed) != 1 || r.changed[0] != inbox {
				t.Fatalf("device %d answered %s %v, want 2 for the inbox", i, r.status, r.changed)
			}
		}
		all := time.Since(delivered)
		by, calls, cmds := sc.take()
		t.Logf("%d devices, one delivery: wake re-checks %v; %d upstream fetches, %d IMAP commands (each device its own fetch before: %d fetches, %d commands); all answered %v after the APPEND (a figure, not asserted)",
			n, by, calls, cmds, n, 2*n, all.Round(time.Millisecond))
		if got := by[mail.RecheckByUpstream] + by[mail.RecheckByShared] + by[mail.RecheckByVersion]; got < n {
			t.Fatalf("%d re-checks for %d woken devices", got, n)
		}
		// A second record of the same delivery (NOTIFY may report it in
		// two STATUS lines) may start a second fetch; never one per device.
		if calls > 3 || cmds > 2*int64(calls) || by[mail.RecheckByShared] < n-3 {
			t.Fatalf("wake re-checks: %v, %d upstream fetches, %d IMAP commands; want at most 3 fetches of 2 commands for %d devices", by, calls, cmds, n)
		}
	})
}
