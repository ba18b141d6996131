package bridge_test

import (
	"context"
	"testing"

	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/internal/bridgetest"
)

// emptySync sends an empty Sync (no body: repeat the cached request,
// MS-ASCMD 2.2.1.21.1) and decodes the collection's answer.
func emptySync(t *testing.T, dev *client.Client, collection string) *client.SyncResult {
	t.Helper()
	r, err := dev.Do(context.Background(), "Sync", nil)
	if err != nil {
		t.Fatalf("empty Sync: %v", err)
	}
	if r.Doc == nil {
		return &client.SyncResult{}
	}
	if st := r.Doc.ChildText(wbxml.AirSync, "Status"); st != "" {
		t.Fatalf("empty Sync answered status %s", st)
	}
	for _, col := range r.Doc.Child(wbxml.AirSync, "Collections").All(wbxml.AirSync, "Collection") {
		if col.ChildText(wbxml.AirSync, "CollectionId") != collection {
			continue
		}
		out := &client.SyncResult{Status: col.ChildText(wbxml.AirSync, "Status"), SyncKey: col.ChildText(wbxml.AirSync, "SyncKey")}
		cmds := col.Child(wbxml.AirSync, "Commands")
		if cmds == nil {
			return out
		}
		for _, el := range cmds.Children {
			out.Items = append(out.Items, client.Item{Kind: el.Name, ServerID: el.ChildText(wbxml.AirSync, "ServerId")})
		}
		return out
	}
	t.Fatalf("empty Sync answer lacks collection %s: %s", collection, r.Doc.XML())
	return nil
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
