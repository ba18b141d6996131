package bridge_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/internal/bridgetest"
	"github.com/idlebridge/idlebridge/internal/testenv"
)

// Issue 12's reviewer check: a trivial read-only class (bridgetest.Notes,
// a fixed list) plugged in beside mail through bridge.Config.Classes is
// served over the HTTP front with no other code: FolderSync shows its
// folder, Sync delivers its items under the engine's key rules, a Ping
// naming only its folder parks and is woken by its watcher, and an outage
// of its hierarchy keeps its folder on the device.
func TestTrivialClassThroughTheFront(t *testing.T) {
	forEngines(t, func(t *testing.T, redis bool) {
		notes := bridgetest.NewNotes(map[string]string{"groceries": "v1", "ideas": "v1"})
		e := bridgetest.Start(t, bridgetest.Options{Redis: redis,
			Classes: func(*bridgetest.Env) []engine.Class { return []engine.Class{notes.Class()} }})
		ctx := context.Background()
		dev := e.Device(t, "notes1", "16.1")
		fs, err := dev.FolderSync(ctx, "0")
		if err != nil || fs.Status != "1" {
			t.Fatalf("FolderSync: %v %+v", err, fs)
		}
		nf, ok := client.FolderByType(fs.Add, 10)
		if !ok || nf.DisplayName != "Notes" || nf.ParentID != "0" {
			t.Fatalf("no Notes folder in %+v", fs.Add)
		}
		if _, ok := client.FolderByType(fs.Add, 2); !ok {
			t.Fatalf("the mail folders are gone: %+v", fs.Add)
		}

		items, key, err := dev.SyncAll(ctx, nf.ServerID, client.SyncOptions{WindowSize: 1})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for id, data := range items {
			got = append(got, id+"="+data.ChildText(wbxml.Notes, "Subject"))
		}
		slices.Sort(got)
		want := []string{nf.ServerID + ":groceries=groceries", nf.ServerID + ":ideas=ideas"}
		if !slices.Equal(got, want) {
			t.Fatalf("notes synced: %v, want %v", got, want)
		}

		// Nothing new: a Ping on the Notes folder alone parks (no Status
		// 7), and the class's watcher wakes it.
		if r, err := dev.Sync(ctx, nf.ServerID, key, client.SyncOptions{WindowSize: 10}); err != nil || r.Status != "1" || r.SyncKey != key || len(r.Items) != 0 {
			t.Fatalf("Sync with nothing new: %v %+v", err, r)
		}
		ch := parkPing(t, e, dev, 120, nf.ServerID)
		testenv.WaitFor(t, 20*time.Second, "the class's watcher to run for the Notes folder", func() bool {
			return slices.Contains(notes.Watched(), nf.ServerID)
		})
		notes.Set("ideas", "v2")
		r := awaitPing(t, ch, 20*time.Second)
		if r.status != "2" || !slices.Equal(r.changed, []string{nf.ServerID}) {
			t.Fatalf("Ping after a class change: status %s changed %v", r.status, r.changed)
		}
		res, err := dev.Sync(ctx, nf.ServerID, key, client.SyncOptions{WindowSize: 10})
		if err != nil || res.Status != "1" {
			t.Fatalf("Sync after the wake-up: %v %+v", err, res)
		}
		if ch := res.Changes(); len(ch) != 1 || ch[0].ServerID != nf.ServerID+":ideas" || len(res.Items) != 1 {
			t.Fatalf("Sync after the wake-up changed %v, want the one note", ch)
		}

		// The class's upstream is down: FolderSync serves mail and keeps
		// the Notes folder as the device knows it.
		notes.FailList(true)
		fs2, err := dev.FolderSync(ctx, fs.SyncKey)
		if err != nil || fs2.Status != "1" {
			t.Fatalf("FolderSync in an outage: %v %+v", err, fs2)
		}
		if len(fs2.Delete) != 0 || len(fs2.Add) != 0 || len(fs2.Update) != 0 {
			t.Fatalf("FolderSync in an outage changed the hierarchy: %+v", fs2)
		}
		notes.FailList(false)

		// Moving a note into a mail folder is refused as a bad destination.
		inbox, _ := client.FolderByType(fs.Add, 2)
		mv := wbxml.New(wbxml.Move, "MoveItems")
		m := mv.Add(wbxml.Move, "Move")
		m.AddText(wbxml.Move, "SrcMsgId", nf.ServerID+":ideas")
		m.AddText(wbxml.Move, "SrcFldId", nf.ServerID)
		m.AddText(wbxml.Move, "DstFldId", inbox.ServerID)
		mr, err := dev.Do(ctx, "MoveItems", mv)
		if err != nil {
			t.Fatal(err)
		}
		if st := mr.Doc.Child(wbxml.Move, "Response").ChildText(wbxml.Move, "Status"); st != "2" {
			t.Fatalf("MoveItems of a note into the inbox: Status %s, want 2", st)
		}
	})
}

// TestFolderMapFromBeforeKindsNeedsNoResync: a store written by a bridge
// without classes (every folder-map value a bare mailbox name, as every
// map stored before kinds existed) is served by a bridge with a class:
// the device's FolderSync key gets only the new folder, and its Inbox key
// goes on with no Status 3 and nothing sent again.
func TestFolderMapFromBeforeKindsNeedsNoResync(t *testing.T) {
	forEngines(t, func(t *testing.T, redis bool) {
		old := bridgetest.Start(t, bridgetest.Options{Redis: redis})
		appendMail(t, old, "before the upgrade")
		dev, inbox, key := inboxReady(t, old, "upgrade1")
		ctx := context.Background()
		fs, err := dev.FolderSync(ctx, "0")
		if err != nil || fs.Status != "1" {
			t.Fatalf("FolderSync: %v %+v", err, fs)
		}
		raw, err := old.Store.Snapshot(ctx, old.User, state.UserScope, "folders")
		if err != nil || len(raw) == 0 {
			t.Fatalf("folder map: %v %v", raw, err)
		}
		for id, v := range raw {
			if strings.ContainsAny(v, "\x00\x01") {
				t.Fatalf("mail entry %s stored as %q, not as a bare mailbox name", id, v)
			}
		}

		notes := bridgetest.NewNotes(map[string]string{"n": "1"})
		upgraded := bridgetest.Start(t, bridgetest.Options{Redis: redis, Store: old.Store, Bus: old.Bus, Leases: old.Leases, User: old.User,
			Classes: func(*bridgetest.Env) []engine.Class { return []engine.Class{notes.Class()} }})
		dev.BaseURL = upgraded.URL
		fs2, err := dev.FolderSync(ctx, fs.SyncKey)
		if err != nil || fs2.Status != "1" {
			t.Fatalf("FolderSync after the upgrade: %v %+v", err, fs2)
		}
		if len(fs2.Delete) != 0 || len(fs2.Update) != 0 || len(fs2.Add) != 1 || fs2.Add[0].DisplayName != "Notes" {
			t.Fatalf("FolderSync after the upgrade: %+v, want only the Notes folder added", fs2)
		}
		res, err := dev.Sync(ctx, inbox, key, client.SyncOptions{WindowSize: 50})
		if err != nil || res.Status != "1" || res.SyncKey != key || len(res.Items) != 0 {
			t.Fatalf("Inbox Sync after the upgrade: %v %+v, want Status 1, key %s, nothing", err, res, key)
		}
		raw, err = old.Store.Snapshot(ctx, old.User, state.UserScope, "folders")
		if err != nil {
			t.Fatal(err)
		}
		if got := engine.DecodeRef(raw[fs2.Add[0].ServerID]); got != bridgetest.NotesRef {
			t.Fatalf("the Notes folder is stored as %+v", got)
		}
		for id, v := range raw {
			if r := engine.DecodeRef(v); id != fs2.Add[0].ServerID && (r.Kind != engine.KindMail || r.Path != v) {
				t.Fatalf("mail entry %s rewritten as %q", id, v)
			}
		}
	})
}

// A class's folder renamed upstream answers a Ping parked on it with
// Status 7 (the LIST poller lists the classes' hierarchies too), and the
// FolderSync that follows carries the rename as an Update of the same ID.
func TestClassHierarchyChangeAnswersPingWithStatus7(t *testing.T) {
	notes := bridgetest.NewNotes(map[string]string{"a": "1"})
	e := bridgetest.Start(t, bridgetest.Options{Push: hierarchyOpts(),
		Classes: func(*bridgetest.Env) []engine.Class { return []engine.Class{notes.Class()} }})
	ctx := context.Background()
	dev := e.Device(t, "notes7", "16.1")
	fs, err := dev.FolderSync(ctx, "0")
	if err != nil || fs.Status != "1" {
		t.Fatalf("FolderSync: %v %+v", err, fs)
	}
	nf, ok := client.FolderByType(fs.Add, 10)
	if !ok {
		t.Fatalf("no Notes folder in %+v", fs.Add)
	}
	if _, _, err := dev.SyncAll(ctx, nf.ServerID, client.SyncOptions{WindowSize: 10}); err != nil {
		t.Fatal(err)
	}
	ch := parkPing(t, e, dev, 120, nf.ServerID)
	testenv.WaitFor(t, 20*time.Second, "the lease holder's watchers", func() bool { return slices.Contains(notes.Watched(), nf.ServerID) })
	// Past the poller's first listing (which is always published), so
	// the Status 7 comes from the poll that saw the rename.
	time.Sleep(3 * hierarchyOpts().HierarchyInterval)
	notes.Rename("Sticky notes")
	if r := awaitPing(t, ch, 20*time.Second); r.status != "7" {
		t.Fatalf("Ping after the class's folder was renamed: status %s, want 7", r.status)
	}
	fs2, err := dev.FolderSync(ctx, fs.SyncKey)
	if err != nil || len(fs2.Update) != 1 || fs2.Update[0].ServerID != nf.ServerID || fs2.Update[0].DisplayName != "Sticky notes" || len(fs2.Delete) != 0 {
		t.Fatalf("FolderSync after the rename: %v %+v", err, fs2)
	}
}
