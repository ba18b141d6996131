package bridge_test

import (
	"bytes"
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/bridge/mail"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/internal/bridgetest"
	"github.com/idlebridge/idlebridge/internal/testenv"
)

// recheckCounter counts the mail engine's re-checks by what decided them
// and the IMAP commands the re-check path (op GetItemEstimate) cost.
type recheckCounter struct {
	mu       sync.Mutex
	by       map[string]int
	commands int64
}

func (c *recheckCounter) options() mail.Options {
	c.by = map[string]int{}
	return mail.Options{
		OnRecheck: func(by string) { c.mu.Lock(); c.by[by]++; c.mu.Unlock() },
		OnIMAP: func(op string, n int64) {
			if op == "GetItemEstimate" {
				c.mu.Lock()
				c.commands += n
				c.mu.Unlock()
			}
		},
	}
}

// take returns the counts since the last take.
func (c *recheckCounter) take() (version, upstream int, commands int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	version, upstream, commands = c.by[mail.RecheckByVersion], c.by[mail.RecheckByUpstream]+c.by[mail.RecheckByShared], c.commands
	c.by, c.commands = map[string]int{}, 0
	return
}

// Many devices of one user parked on the inbox, one delivery: every one
// is woken, and the wake-up cycle asks the provider once per device (the
// version the watcher recorded differs from each device's), where it used
// to ask twice: after each device's catch-up Sync its Ping parks again
// and its first check now compares the device's version with the NOTIFY
// watcher's record, with no IMAP command at all. On main each of those
// first checks was an upstream SELECT, so the cycle's re-check commands
// halve (figures logged).
func TestPushManyDevicesShareTheWatchersVersion(t *testing.T) {
	forEngines(t, func(t *testing.T, redis bool) {
		const n = 8
		var rc recheckCounter
		e := bridgetest.Start(t, bridgetest.Options{Redis: redis, MaxDevices: n + 2, MailOptions: rc.options()})
		appendMail(t, e, "before")
		type dev struct {
			c          *client.Client
			inbox, key string
		}
		devs := make([]dev, n)
		for i := range devs {
			c, inbox, key := inboxReady(t, e, "phone"+string(rune('a'+i)))
			devs[i] = dev{c, inbox, key}
		}
		inbox := devs[0].inbox
		pings := make([]<-chan pingResult, n)
		for i, d := range devs {
			pings[i] = parkPing(t, e, d.c, 300, d.inbox)
		}
		// The watcher's NOTIFY SET STATUS records the inbox (live) before
		// its OnReady re-checks; wait for it, then start counting.
		testenv.WaitFor(t, 20*time.Second, "the watcher's live record of INBOX", func() bool {
			v, ok, err := e.Store.GetVersion(context.Background(), e.User, "INBOX", time.Now())
			return err == nil && ok && v.Live
		})
		time.Sleep(200 * time.Millisecond) // OnReady's re-checks finish
		rc.take()

		appendMail(t, e, "pushed")
		for i := range devs {
			r := awaitPing(t, pings[i], 30*time.Second)
			if r.status != "2" {
				t.Fatalf("device %d answered %s, want 2", i, r.status)
			}
		}
		wv, wu, wc := rc.take()
		if wu < n {
			t.Fatalf("wake re-checks: %d by version, %d upstream; want each of the %d devices upstream (the record differs from its version)", wv, wu, n)
		}
		// Each device catches up and parks again.
		for i := range devs {
			d := &devs[i]
			s, err := d.c.Sync(context.Background(), d.inbox, d.key, client.SyncOptions{})
			if err != nil || len(s.Adds()) != 1 {
				t.Fatalf("device %d catch-up: %v %+v", i, err, s)
			}
			d.key = s.SyncKey
		}
		for i, d := range devs {
			pings[i] = parkPing(t, e, d.c, 300, inbox)
		}
		pv, pu, pc := rc.take()
		t.Logf("%d devices, one delivery: wake re-checks %d by version / %d upstream (%d IMAP commands); "+
			"re-park first checks %d by version / %d upstream (%d IMAP commands); main: %d upstream checks for the cycle",
			n, wv, wu, wc, pv, pu, pc, 2*n)
		if pv != n || pu != 0 || pc != 0 {
			t.Fatalf("re-park first checks: %d by version, %d upstream, %d IMAP commands; want %d, 0, 0", pv, pu, pc, n)
		}
		// And still parked: nothing changed for them.
		for i := range devs {
			select {
			case r := <-pings[i]:
				t.Fatalf("device %d answered %s %v after its catch-up, want still parked", i, r.status, r.changed)
			default:
			}
		}
	})
}

// A version record that is stale never costs a wake-up: IDLE mode has no
// status for the inbox's EXISTS, so the watcher marks the record stale and
// every parked device is re-checked upstream, and woken; a Ping's first
// check with the record stale finds a change made before it.
func TestPushWakesWithoutUsableVersion(t *testing.T) {
	var rc recheckCounter
	e := bridgetest.Start(t, bridgetest.Options{Push: bridgetestPushPolled(), MaxDevices: 5, MailOptions: rc.options()})
	appendMail(t, e, "before")
	a, inbox, _ := inboxReady(t, e, "phoneA")
	b, _, _ := inboxReady(t, e, "phoneB")
	pa := parkPing(t, e, a, 300, inbox)
	pb := parkPing(t, e, b, 300, inbox)
	rc.take()
	appendMail(t, e, "pushed")
	for _, p := range []<-chan pingResult{pa, pb} {
		if r := awaitPing(t, p, 30*time.Second); r.status != "2" {
			t.Fatalf("Ping answered %s, want 2", r.status)
		}
	}
	if v, u, _ := rc.take(); v != 0 || u < 2 {
		t.Fatalf("re-checks: %d by version, %d upstream; want none by version", v, u)
	}
	if _, ok, err := e.Store.GetVersion(context.Background(), e.User, "INBOX", time.Now()); err != nil || ok {
		t.Fatalf("INBOX record usable after an IDLE EXISTS (%v, %v), want stale", ok, err)
	}
	// A change before the Ping, with no record: the first check asks.
	appendMail(t, e, "between")
	st, _, err := a.Ping(context.Background(), 300, inbox)
	if err != nil || st != "2" {
		t.Fatalf("Ping after an unseen change: %v %s, want an immediate 2", err, st)
	}
}

// An extra IDLE connection (push.extra_idle_connections, no NOTIFY) hears
// only EXISTS/FETCH/EXPUNGE, no status, and takes its folder off the
// STATUS polls: it marks the folder's record stale when it starts and
// before each publish, so a record an earlier poll left, equal to the
// device's version, cannot hide a delivery. Fails if the marks are
// forgotten (the device would sleep through it).
func TestPushExtraIdleMarksRecordStale(t *testing.T) {
	var conns atomic.Int32
	po := bridgetestPushPolled()
	po.IdleBudget = 1
	po.OnConn = func(d int) { conns.Add(int32(d)) }
	e := bridgetest.Start(t, bridgetest.Options{Push: po, MaxDevices: 5})
	ctx := context.Background()
	dev := e.Device(t, "phone", "14.1")
	fs, err := dev.FolderSync(ctx, "0")
	if err != nil || fs.Status != "1" {
		t.Fatalf("FolderSync: %v %+v", err, fs)
	}
	inbox, _ := client.FolderByType(fs.Add, 2)
	sent, ok := client.FolderByType(fs.Add, 5)
	if !ok {
		t.Fatalf("no Sent in %+v", fs.Add)
	}
	for _, f := range []string{inbox.ServerID, sent.ServerID} {
		if _, _, err := dev.SyncAll(ctx, f, client.SyncOptions{WindowSize: 50}); err != nil {
			t.Fatal(err)
		}
	}
	// What an earlier STATUS poll would have recorded: the status the
	// device synced at.
	st, err := e.IMAP(t).Status(ctx, "Sent")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Store.PutVersion(ctx, e.User, "Sent", state.UpstreamVersion{UIDValidity: st.UIDValidity, UIDNext: st.UIDNext,
		ModSeq: st.HighestModSeq, Messages: st.Messages, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	res := parkPing(t, e, dev, 300, inbox.ServerID, sent.ServerID)
	testenv.WaitFor(t, 20*time.Second, "the watcher and the extra IDLE connection", func() bool { return conns.Load() >= 2 })
	time.Sleep(300 * time.Millisecond) // its IDLE starts
	msg := bridgetest.Message("to sent", "x")
	if _, err := e.IMAP(t).Append(ctx, "Sent", nil, time.Now(), bytes.NewReader(msg), int64(len(msg))); err != nil {
		t.Fatal(err)
	}
	r := awaitPing(t, res, 30*time.Second)
	if r.status != "2" {
		t.Fatalf("Ping answered %s %v, want 2 for Sent", r.status, r.changed)
	}
}
