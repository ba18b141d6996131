package bridge_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/internal/bridgetest"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

// draftCommands builds Sync Commands saving (Add) or changing a draft.
func draftCommands(kind, id, subject string) *wbxml.Element {
	cmds := wbxml.New(wbxml.AirSync, "Commands")
	c := cmds.Add(wbxml.AirSync, kind)
	if kind == "Add" {
		c.AddText(wbxml.AirSync, "ClientId", id)
	} else {
		c.AddText(wbxml.AirSync, "ServerId", id)
	}
	ad := c.Add(wbxml.AirSync, "ApplicationData")
	ad.AddText(wbxml.Email, "To", "bob@example.test")
	ad.AddText(wbxml.Email, "Subject", subject)
	b := ad.Add(wbxml.AirSyncBase, "Body")
	b.AddText(wbxml.AirSyncBase, "Type", "1")
	b.AddText(wbxml.AirSyncBase, "Data", "draft text")
	return cmds
}

// upstreamDrafts lists the subjects and flags in the user's Drafts.
func upstreamDrafts(t *testing.T, s *imap.Session) (subjects []string, flags [][]string) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Select(ctx, "Drafts", true); err != nil {
		t.Fatal(err)
	}
	uids, err := s.SearchUIDs(ctx, time.Time{})
	if err != nil || len(uids) == 0 {
		return nil, nil
	}
	sums, err := s.FetchSummaries(ctx, imap.UIDs(uids...), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, sum := range sums {
		subjects = append(subjects, sum.Envelope.Subject)
		flags = append(flags, sum.Flags)
	}
	return subjects, flags
}

func addResponse(t *testing.T, r *client.SyncResult) (status, serverID string) {
	t.Helper()
	for _, el := range r.Responses {
		if el.Name == "Add" {
			return el.ChildText(wbxml.AirSync, "Status"), el.ChildText(wbxml.AirSync, "ServerId")
		}
	}
	t.Fatalf("no Add response in %s", r.Doc.XML())
	return "", ""
}

// TestDraftsAt16: a 16.1 device saves a draft with a Sync Add in Drafts:
// it is stored upstream with \Draft, once even when the request is resent;
// a Change of its content replaces it (the device then gets the Delete of
// the old and the Add of the new version); a Delete removes it. Before
// 16.0 an Add is still refused with Status 6.
func TestDraftsAt16(t *testing.T) {
	forEngines(t, testDraftsAt16)
}

func testDraftsAt16(t *testing.T, redis bool) {
	ctx := context.Background()
	e := bridgetest.Start(t, bridgetest.Options{Redis: redis})
	up := e.IMAP(t)
	dev := e.Device(t, "phone", "16.1")
	fs, err := dev.FolderSync(ctx, "0")
	if err != nil {
		t.Fatal(err)
	}
	drafts, ok := client.FolderByType(fs.Add, 3)
	if !ok {
		t.Fatal("no Drafts folder")
	}
	_, key, err := dev.SyncAll(ctx, drafts.ServerID, client.SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	save := client.SyncOptions{Commands: draftCommands("Add", "c1", "first draft")}
	r, err := dev.Sync(ctx, drafts.ServerID, key, save)
	if err != nil || r.Status != "1" {
		t.Fatalf("Add: %v %+v", err, r)
	}
	st, id := addResponse(t, r)
	if st != "1" || id == "" || len(r.Adds()) != 0 {
		t.Fatalf("Add answered status %s id %q, %d Adds echoed", st, id, len(r.Adds()))
	}
	subjects, flags := upstreamDrafts(t, up)
	if !slices.Equal(subjects, []string{"first draft"}) || !slices.Contains(flags[0], `\Draft`) {
		t.Fatalf("upstream Drafts: %v %v", subjects, flags)
	}
	// The answer was lost: the device sends the same request again.
	again, err := dev.Sync(ctx, drafts.ServerID, key, save)
	if err != nil {
		t.Fatal(err)
	}
	if st2, id2 := addResponse(t, again); st2 != "1" || id2 != id || again.SyncKey != r.SyncKey {
		t.Fatalf("resent Add: status %s id %q key %s, want 1 %q %s", st2, id2, again.SyncKey, id, r.SyncKey)
	}
	if subjects, _ := upstreamDrafts(t, up); len(subjects) != 1 {
		t.Fatalf("resent Add stored %d drafts", len(subjects))
	}
	key = r.SyncKey
	r, err = dev.Sync(ctx, drafts.ServerID, key, client.SyncOptions{})
	if err != nil || len(r.Items) != 0 {
		t.Fatalf("the device's own draft echoed: %v %+v", err, r.Items)
	}
	key = r.SyncKey

	r, err = dev.Sync(ctx, drafts.ServerID, key, client.SyncOptions{Commands: draftCommands("Change", id, "second version")})
	if err != nil || r.Status != "1" || len(r.Responses) != 0 {
		t.Fatalf("Change: %v %+v", err, r)
	}
	key = r.SyncKey
	if subjects, _ := upstreamDrafts(t, up); !slices.Equal(subjects, []string{"second version"}) {
		t.Fatalf("after the Change upstream Drafts hold %v", subjects)
	}
	// The new version has a new ServerId: the device is told so, in this
	// answer or the next one, with the Delete of the old version.
	items := r.Items
	r, err = dev.Sync(ctx, drafts.ServerID, key, client.SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	key = r.SyncKey
	r.Items = append(items, r.Items...)
	if len(r.Items) != 2 || len(r.Deletes()) != 1 || r.Deletes()[0].ServerID != id || len(r.Adds()) != 1 ||
		r.Adds()[0].Data.ChildText(wbxml.Email, "Subject") != "second version" {
		t.Fatalf("after the Change the device got %+v, want the Delete of %s and the Add of the new version", r.Items, id)
	}
	newID := r.Adds()[0].ServerID
	r, err = dev.Sync(ctx, drafts.ServerID, key, client.SyncOptions{Commands: client.DeleteItem(newID)})
	if err != nil || r.Status != "1" {
		t.Fatalf("Delete: %v %+v", err, r)
	}
	if subjects, _ := upstreamDrafts(t, up); len(subjects) != 0 {
		t.Fatalf("after the Delete upstream Drafts hold %v", subjects)
	}

	old := e.Device(t, "old", "14.1")
	if _, err := old.FolderSync(ctx, "0"); err != nil {
		t.Fatal(err)
	}
	_, okey, err := old.SyncAll(ctx, drafts.ServerID, client.SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r, err = old.Sync(ctx, drafts.ServerID, okey, client.SyncOptions{Commands: draftCommands("Add", "c9", "not at 14.1")})
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := addResponse(t, r); st != "6" {
		t.Fatalf("a 14.1 Add answered %s, want 6", st)
	}
}
