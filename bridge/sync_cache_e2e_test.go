package bridge_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/internal/bridgetest"
	"github.com/idlebridge/idlebridge/internal/testenv"
)

// emptySync sends an empty Sync (no body: repeat the cached request,
// MS-ASCMD 2.2.1.21.1) and decodes the collection's answer.
func emptySync(t *testing.T, dev *client.Client, collection string) *client.SyncResult {
	t.Helper()
	r, err := tryEmptySync(dev, collection)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func tryEmptySync(dev *client.Client, collection string) (*client.SyncResult, error) {
	r, err := dev.Do(context.Background(), "Sync", nil)
	if err != nil {
		return nil, fmt.Errorf("empty Sync: %w", err)
	}
	if r.Doc == nil {
		return &client.SyncResult{}, nil
	}
	if st := r.Doc.ChildText(wbxml.AirSync, "Status"); st != "" {
		return nil, fmt.Errorf("empty Sync answered status %s", st)
	}
	for _, col := range r.Doc.Child(wbxml.AirSync, "Collections").All(wbxml.AirSync, "Collection") {
		if col.ChildText(wbxml.AirSync, "CollectionId") != collection {
			continue
		}
		out := &client.SyncResult{Status: col.ChildText(wbxml.AirSync, "Status"), SyncKey: col.ChildText(wbxml.AirSync, "SyncKey")}
		cmds := col.Child(wbxml.AirSync, "Commands")
		if cmds == nil {
			return out, nil
		}
		for _, el := range cmds.Children {
			out.Items = append(out.Items, client.Item{Kind: el.Name, ServerID: el.ChildText(wbxml.AirSync, "ServerId")})
		}
		return out, nil
	}
	return nil, fmt.Errorf("empty Sync answer lacks collection %s: %s", collection, r.Doc.XML())
}

// TestEmptySyncAfterAddDoesNotResend: the cached request an empty Sync
// repeats carries the keys the bridge issued, not those the device sent,
// so an empty Sync after an Add does not answer that Add again (under
// the key before it), and the keys keep moving forward.
func TestEmptySyncAfterAddDoesNotResend(t *testing.T) {
	forEngines(t, func(t *testing.T, redis bool) {
		ctx := context.Background()
		e := bridgetest.Start(t, bridgetest.Options{Redis: redis})
		dev, inbox, key := inboxReady(t, e, "phone")
		appendMail(t, e, "first")
		r, err := dev.Sync(ctx, inbox, key, client.SyncOptions{})
		if err != nil || r.Status != "1" || len(r.Adds()) != 1 {
			t.Fatalf("Sync after new mail: %v %+v", err, r)
		}
		issued := r.SyncKey
		got := emptySync(t, dev, inbox)
		if len(got.Items) != 0 {
			t.Fatalf("empty Sync after the Add sent %v again (key %s)", got.Items, got.SyncKey)
		}
		if got.SyncKey != "" && got.SyncKey != issued {
			t.Fatalf("empty Sync answered key %s, want %s", got.SyncKey, issued)
		}
		// New mail reaches an empty Sync once, and the key it issues is
		// the one the next empty Sync uses.
		appendMail(t, e, "second")
		got = emptySync(t, dev, inbox)
		if len(got.Items) != 1 || got.Items[0].Kind != "Add" || got.SyncKey == issued {
			t.Fatalf("empty Sync after the second mail: %+v", got)
		}
		next := got.SyncKey
		if again := emptySync(t, dev, inbox); len(again.Items) != 0 {
			t.Fatalf("second mail sent again: %+v", again)
		}
		r, err = dev.Sync(ctx, inbox, next, client.SyncOptions{})
		if err != nil || r.Status != "1" || len(r.Items) != 0 {
			t.Fatalf("full Sync with the issued key: %v %+v", err, r)
		}
	})
}

// TestHangingSyncCachesTheKeyItIssued: a hanging Sync (HeartbeatInterval)
// woken by new mail answers it under a new key, off its handler; the
// empty Sync after it uses that key: it finds nothing to send and parks
// (with the old key it would answer the same Add at once), and the next
// mail wakes it with that mail alone.
func TestHangingSyncCachesTheKeyItIssued(t *testing.T) {
	ctx := context.Background()
	e := bridgetest.Start(t, bridgetest.Options{})
	dev, inbox, key := inboxReady(t, e, "phone")
	req := wbxml.New(wbxml.AirSync, "Sync")
	col := req.Add(wbxml.AirSync, "Collections").Add(wbxml.AirSync, "Collection")
	col.AddText(wbxml.AirSync, "SyncKey", key)
	col.AddText(wbxml.AirSync, "CollectionId", inbox)
	req.AddText(wbxml.AirSync, "HeartbeatInterval", "300")
	before := e.Push.Parked()
	type answer struct {
		r   *client.Response
		err error
	}
	done := make(chan answer, 1)
	go func() {
		r, err := dev.Do(ctx, "Sync", req)
		done <- answer{r, err}
	}()
	testenv.WaitFor(t, 20*time.Second, "the Sync to park", func() bool { return e.Push.Parked() > before })
	appendMail(t, e, "while parked")
	var a answer
	select {
	case a = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("the hanging Sync was not woken by new mail")
	}
	if a.err != nil || a.r.Doc == nil {
		t.Fatalf("woken Sync: %v %+v", a.err, a.r)
	}
	col = a.r.Doc.Child(wbxml.AirSync, "Collections").Child(wbxml.AirSync, "Collection")
	issued := col.ChildText(wbxml.AirSync, "SyncKey")
	adds := col.Child(wbxml.AirSync, "Commands").All(wbxml.AirSync, "Add")
	if len(adds) != 1 || issued == key {
		t.Fatalf("woken Sync answered %d Adds under key %s (sent %s)", len(adds), issued, key)
	}
	first := adds[0].ChildText(wbxml.AirSync, "ServerId")

	before = e.Push.Parked()
	type result struct {
		r   *client.SyncResult
		err error
	}
	empty := make(chan result, 1)
	go func() {
		r, err := tryEmptySync(dev, inbox)
		empty <- result{r, err}
	}()
	testenv.WaitFor(t, 20*time.Second, "the empty Sync to park", func() bool {
		select {
		case got := <-empty:
			empty <- got
			return true // answered at once: checked below
		default:
		}
		return e.Push.Parked() > before
	})
	appendMail(t, e, "second")
	var res result
	select {
	case res = <-empty:
	case <-time.After(60 * time.Second):
		t.Fatal("the empty hanging Sync was not woken by new mail")
	}
	if res.err != nil {
		t.Fatal(res.err)
	}
	got := res.r
	if len(got.Items) != 1 || got.Items[0].ServerID == first || got.SyncKey == issued {
		t.Fatalf("empty Sync after the woken one answered %+v (first Add %s under %s)", got, first, issued)
	}
}
