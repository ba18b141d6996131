package bridge_test

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/internal/bridgetest"
	"github.com/idlebridge/idlebridge/internal/testenv"
)

// pingResult is what a parked Ping answered.
type pingResult struct {
	status  string
	changed []string
	err     error
	after   time.Duration
}

// parkPing starts a Ping in the background and waits until the hub holds
// it, so the test's next step happens while it is parked.
func parkPing(t *testing.T, e *bridgetest.Env, dev *client.Client, hb int, folders ...string) <-chan pingResult {
	t.Helper()
	before := e.Push.Parked()
	out := make(chan pingResult, 1)
	start := time.Now()
	go func() {
		st, ch, err := dev.Ping(context.Background(), hb, folders...)
		out <- pingResult{st, ch, err, time.Since(start)}
	}()
	testenv.WaitFor(t, 20*time.Second, "the Ping to park", func() bool { return e.Push.Parked() > before })
	return out
}

func awaitPing(t *testing.T, ch <-chan pingResult, within time.Duration) pingResult {
	t.Helper()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("Ping failed: %v", r.err)
		}
		return r
	case <-time.After(within):
		t.Fatalf("Ping still parked after %v", within)
	}
	return pingResult{}
}

// inboxReady provisions a device, runs FolderSync and a full Sync of the
// inbox, and returns the inbox ID and the device's key.
func inboxReady(t *testing.T, e *bridgetest.Env, id string) (*client.Client, string, string) {
	t.Helper()
	ctx := context.Background()
	dev := e.Device(t, id, "14.1")
	fs, err := dev.FolderSync(ctx, "0")
	if err != nil || fs.Status != "1" {
		t.Fatalf("FolderSync: %v %+v", err, fs)
	}
	inbox, ok := client.FolderByType(fs.Add, 2)
	if !ok {
		t.Fatalf("no inbox in %+v", fs.Add)
	}
	_, key, err := dev.SyncAll(ctx, inbox.ServerID, client.SyncOptions{WindowSize: 50})
	if err != nil {
		t.Fatal(err)
	}
	return dev, inbox.ServerID, key
}

func appendMail(t *testing.T, e *bridgetest.Env, subject string) {
	t.Helper()
	msg := bridgetest.Message(subject, "hello")
	if _, err := e.IMAP(t).Append(context.Background(), "INBOX", nil, time.Now(), bytes.NewReader(msg), int64(len(msg))); err != nil {
		t.Fatal(err)
	}
}

func forEngines(t *testing.T, fn func(t *testing.T, redis bool)) {
	t.Run("embedded", func(t *testing.T) { fn(t, false) })
	t.Run("redis", func(t *testing.T) { fn(t, true) })
}

func TestPingWakesOnNewMail(t *testing.T) {
	forEngines(t, func(t *testing.T, redis bool) {
		e := bridgetest.Start(t, bridgetest.Options{Redis: redis})
		appendMail(t, e, "before the first sync")
		dev, inbox, key := inboxReady(t, e, "phone1")
		res := parkPing(t, e, dev, 300, inbox)
		appendMail(t, e, "pushed")
		r := awaitPing(t, res, 30*time.Second)
		if r.status != "2" || !slices.Equal(r.changed, []string{inbox}) {
			t.Fatalf("Ping answered %s %v, want 2 [%s]", r.status, r.changed, inbox)
		}
		t.Logf("APPEND → Ping answer: %v", r.after)
		s, err := dev.Sync(context.Background(), inbox, key, client.SyncOptions{})
		if err != nil || len(s.Adds()) != 1 {
			t.Fatalf("Sync after the wake-up: %v %+v", err, s)
		}
	})
}

func TestPingReportsChangesSinceLastSync(t *testing.T) {
	e := bridgetest.Start(t, bridgetest.Options{})
	dev, inbox, _ := inboxReady(t, e, "phone1")
	appendMail(t, e, "arrived between Sync and Ping")
	st, changed, err := dev.Ping(context.Background(), 300, inbox)
	if err != nil || st != "2" || !slices.Equal(changed, []string{inbox}) {
		t.Fatalf("Ping after an unseen change: %v %s %v, want an immediate 2", err, st, changed)
	}
}

func TestOwnChangeDoesNotWakeOwnPing(t *testing.T) {
	ctx := context.Background()
	e := bridgetest.Start(t, bridgetest.Options{})
	appendMail(t, e, "to be read")
	phone, inbox, _ := inboxReady(t, e, "phone")
	tablet, _, _ := inboxReady(t, e, "tablet")
	// Sync again from 0 to see the items (inboxReady drops them).
	items, key, err := phone.SyncAll(ctx, inbox, client.SyncOptions{})
	if err != nil || len(items) != 1 {
		t.Fatalf("items %v %v", items, err)
	}
	var id string
	for id = range items {
	}
	tabletPing := parkPing(t, e, tablet, 300, inbox)
	r, err := phone.Sync(ctx, inbox, key, client.SyncOptions{Commands: client.ChangeRead(id, true)})
	if err != nil || r.Status != "1" {
		t.Fatalf("marking read: %v %+v", err, r)
	}
	// The tablet learns of it…
	tr := awaitPing(t, tabletPing, 30*time.Second)
	if tr.status != "2" {
		t.Fatalf("tablet's Ping answered %s, want 2 after the phone's change", tr.status)
	}
	// …the phone does not: its Ping runs its full heartbeat.
	st, changed, err := phone.Ping(ctx, 3, inbox)
	if err != nil || st != "1" {
		t.Fatalf("phone's Ping after its own change: %v %s %v, want 1 (no echo)", err, st, changed)
	}
}

func TestNewerRequestEndsParkedPing(t *testing.T) {
	e := bridgetest.Start(t, bridgetest.Options{})
	dev, inbox, _ := inboxReady(t, e, "phone1")
	first := parkPing(t, e, dev, 600, inbox)
	second := *dev // same device, another connection
	st, _, err := second.Ping(context.Background(), 2, inbox)
	if err != nil || st != "1" {
		t.Fatalf("second Ping: %v %s", err, st)
	}
	r := awaitPing(t, first, 10*time.Second)
	if r.status != "1" {
		t.Fatalf("superseded Ping answered %s, want 1", r.status)
	}
}

// Only a newer Ping or Sync ends a parked Ping: the device fetching or
// estimating on another connection leaves it waiting, and the next
// delivery still wakes it.
func TestOtherRequestsLeaveParkedPing(t *testing.T) {
	ctx := context.Background()
	e := bridgetest.Start(t, bridgetest.Options{})
	dev, inbox, key := inboxReady(t, e, "phone1")
	parked := parkPing(t, e, dev, 300, inbox)
	other := *dev // same device, another connection
	if _, err := other.FolderSync(ctx, "0"); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Do(ctx, "GetItemEstimate", estimateReq(inbox, key)); err != nil {
		t.Fatal(err)
	}
	if n := e.Push.Parked(); n != 1 {
		t.Fatalf("%d parked after FolderSync and GetItemEstimate, want the Ping still parked", n)
	}
	appendMail(t, e, "after other requests")
	if r := awaitPing(t, parked, 30*time.Second); r.status != "2" {
		t.Fatalf("Ping answered %s, want 2 from the delivery", r.status)
	}
}

func TestPingAcrossInstances(t *testing.T) {
	a := bridgetest.Start(t, bridgetest.Options{Redis: true, Instance: "a", Push: pushOpts("a")})
	b := bridgetest.Start(t, bridgetest.Options{Redis: true, Instance: "b", User: a.User, Push: pushOpts("b")})
	// Provision through A, sync through B: state is shared.
	dev := a.Device(t, "phone1", "16.1")
	dev.BaseURL = b.URL
	fs, err := dev.FolderSync(context.Background(), "0")
	if err != nil || fs.Status != "1" {
		t.Fatalf("FolderSync through the other instance: %v %+v", err, fs)
	}
	inbox, _ := client.FolderByType(fs.Add, 2)
	_, key, err := dev.SyncAll(context.Background(), inbox.ServerID, client.SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Park on B while A watches: A's Ping holds the lease first.
	other := a.Device(t, "tablet", "16.1")
	ofs, _ := other.FolderSync(context.Background(), "0")
	oin, _ := client.FolderByType(ofs.Add, 2)
	if _, _, err := other.SyncAll(context.Background(), oin.ServerID, client.SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	aPing := parkPing(t, a, other, 300, oin.ServerID)
	bPing := parkPing(t, b, dev, 300, inbox.ServerID)
	appendMail(t, a, "to both instances")
	for name, ch := range map[string]<-chan pingResult{"A": aPing, "B": bPing} {
		r := awaitPing(t, ch, 30*time.Second)
		if r.status != "2" {
			t.Fatalf("Ping on instance %s answered %s, want 2", name, r.status)
		}
	}

	// The watcher moves when its instance goes away. (Catch up first: an
	// unsynced change would answer the next Ping at once.)
	if r, err := dev.Sync(context.Background(), inbox.ServerID, key, client.SyncOptions{}); err != nil || len(r.Adds()) != 1 {
		t.Fatalf("catching up: %v %+v", err, r)
	}
	bPing = parkPing(t, b, dev, 300, inbox.ServerID)
	a.Push.Close()
	time.Sleep(100 * time.Millisecond)
	appendMail(t, b, "after failover")
	r := awaitPing(t, bPing, 30*time.Second)
	if r.status != "2" {
		t.Fatalf("after A stopped, B's Ping answered %s, want 2", r.status)
	}
}

// TestPushSurvivesProviderRestart: the provider drops every connection and
// refuses new ones for a while (a Dovecot restart, seen through a relay);
// the watcher reconnects by itself and the next delivery still wakes the
// parked Ping. A delivery made while the provider was away is not lost.
func TestPushSurvivesProviderRestart(t *testing.T) {
	addr, _ := testenv.IMAP(t)
	proxy := bridgetest.StartProxy(t, addr)
	e := bridgetest.Start(t, bridgetest.Options{IMAPAddr: proxy.Addr()})
	dev, inbox, key := inboxReady(t, e, "phone1")
	ping := parkPing(t, e, dev, 300, inbox)
	testenv.WaitFor(t, 20*time.Second, "the watcher's IDLE connection", func() bool { return proxy.Conns() >= 2 })

	proxy.Drop()
	appendMail(t, e, "delivered while the bridge could not see the provider")
	time.Sleep(500 * time.Millisecond)
	proxy.Restore()

	r := awaitPing(t, ping, 60*time.Second)
	if r.status != "2" {
		t.Fatalf("after the provider came back, Ping answered %s, want 2", r.status)
	}
	s, err := dev.Sync(context.Background(), inbox, key, client.SyncOptions{})
	if err != nil || len(s.Adds()) != 1 {
		t.Fatalf("Sync after the outage: %v %+v", err, s)
	}
	// And push keeps working on the new connection.
	ping = parkPing(t, e, dev, 300, inbox)
	appendMail(t, e, "after the restart")
	if r := awaitPing(t, ping, 60*time.Second); r.status != "2" {
		t.Fatalf("second delivery after the restart: Ping answered %s, want 2", r.status)
	}
}

// TestHangingSyncWakesOnNewMail: a Sync with HeartbeatInterval and
// nothing to report is parked, and answers with the new message when it
// arrives; with nothing by the end it answers with an empty body.
func TestHangingSyncWakesOnNewMail(t *testing.T) {
	ctx := context.Background()
	e := bridgetest.Start(t, bridgetest.Options{})
	dev, inbox, key := inboxReady(t, e, "phone1")

	hanging := func(hb string) (*client.SyncResult, error) {
		req := wbxml.New(wbxml.AirSync, "Sync")
		col := req.Add(wbxml.AirSync, "Collections").Add(wbxml.AirSync, "Collection")
		col.AddText(wbxml.AirSync, "SyncKey", key)
		col.AddText(wbxml.AirSync, "CollectionId", inbox)
		req.AddText(wbxml.AirSync, "HeartbeatInterval", hb)
		r, err := dev.Do(ctx, "Sync", req)
		if err != nil {
			return nil, err
		}
		if r.Doc == nil {
			return &client.SyncResult{}, nil
		}
		c := r.Doc.Child(wbxml.AirSync, "Collections").Child(wbxml.AirSync, "Collection")
		if c == nil {
			return &client.SyncResult{}, nil
		}
		res := &client.SyncResult{Status: c.ChildText(wbxml.AirSync, "Status"), SyncKey: c.ChildText(wbxml.AirSync, "SyncKey")}
		for _, it := range c.Child(wbxml.AirSync, "Commands").All(wbxml.AirSync, "Add") {
			res.Items = append(res.Items, client.Item{Kind: "Add", ServerID: it.ChildText(wbxml.AirSync, "ServerId")})
		}
		return res, nil
	}

	// Nothing arrives: an empty answer after the heartbeat.
	start := time.Now()
	r, err := hanging("2")
	if err != nil || r.Status != "" || time.Since(start) < time.Second {
		t.Fatalf("quiet hanging Sync: %v %+v after %v, want an empty body after the heartbeat", err, r, time.Since(start))
	}

	done := make(chan *client.SyncResult, 1)
	go func() {
		r, err := hanging("300")
		if err != nil {
			t.Error(err)
		}
		done <- r
	}()
	testenv.WaitFor(t, 20*time.Second, "the hanging Sync to park", func() bool { return e.Push.Parked() == 1 })
	appendMail(t, e, "wakes the hanging sync")
	select {
	case r := <-done:
		if r == nil || r.Status != "1" || len(r.Adds()) != 1 {
			t.Fatalf("woken hanging Sync answered %+v, want the new message", r)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("hanging Sync still parked after the delivery")
	}
}

// estimateReq is a 14.x GetItemEstimate for one collection.
func estimateReq(collectionID, key string) *wbxml.Element {
	req := wbxml.New(wbxml.GetItemEstimate, "GetItemEstimate")
	col := req.Add(wbxml.GetItemEstimate, "Collections").Add(wbxml.GetItemEstimate, "Collection")
	col.AddText(wbxml.AirSync, "SyncKey", key)
	col.AddText(wbxml.GetItemEstimate, "CollectionId", collectionID)
	return req
}
