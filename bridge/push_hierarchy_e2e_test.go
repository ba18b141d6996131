package bridge_test

import (
	"context"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/bridge"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/internal/bridgetest"
	"github.com/idlebridge/idlebridge/internal/testenv"
)

// hierarchyOpts polls the folder list often, so tests need not wait a
// minute for an upstream folder change.
func hierarchyOpts() bridge.PushOptions {
	return bridge.PushOptions{HierarchyInterval: 200 * time.Millisecond}
}

// folderReady provisions a device, runs FolderSync and a full Sync of
// the inbox, and returns the inbox ID and the FolderSync key.
func folderReady(t *testing.T, e *bridgetest.Env, id string) (*client.Client, string, string) {
	t.Helper()
	ctx := context.Background()
	dev := e.Device(t, id, "14.1")
	fs, err := dev.FolderSync(ctx, "0")
	if err != nil || fs.Status != "1" {
		t.Fatalf("FolderSync: %v %+v", err, fs)
	}
	inbox, _ := client.FolderByType(fs.Add, 2)
	if _, _, err := dev.SyncAll(ctx, inbox.ServerID, client.SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	return dev, inbox.ServerID, fs.SyncKey
}

func folderSyncAdds(t *testing.T, dev *client.Client, key string) ([]string, string) {
	t.Helper()
	fs, err := dev.FolderSync(context.Background(), key)
	if err != nil || fs.Status != "1" {
		t.Fatalf("FolderSync(%s): %v %+v", key, err, fs)
	}
	var names []string
	for _, f := range fs.Add {
		names = append(names, f.DisplayName)
	}
	return names, fs.SyncKey
}

// TestPingAnswers7OnUpstreamFolderCreate: a folder created by another
// mail client answers a parked Ping with Status 7 (MS-ASCMD 2.2.3.177.11);
// after its FolderSync the device's next Ping parks again (no loop).
func TestPingAnswers7OnUpstreamFolderCreate(t *testing.T) {
	forEngines(t, func(t *testing.T, redis bool) {
		e := bridgetest.Start(t, bridgetest.Options{Redis: redis, Push: hierarchyOpts()})
		dev, inbox, key := folderReady(t, e, "phone")
		ping := parkPing(t, e, dev, 300, inbox)
		if err := e.IMAP(t).CreateFolder(context.Background(), "Projects"); err != nil {
			t.Fatal(err)
		}
		r := awaitPing(t, ping, 30*time.Second)
		if r.status != "7" {
			t.Fatalf("Ping answered %s %v after an upstream folder create, want 7", r.status, r.changed)
		}
		t.Logf("IMAP CREATE → Ping Status 7 after %v of parking", r.after)
		adds, _ := folderSyncAdds(t, dev, key)
		if len(adds) != 1 || adds[0] != "Projects" {
			t.Fatalf("FolderSync after Status 7 added %v, want [Projects]", adds)
		}
		if st, _, err := dev.Ping(context.Background(), 2, inbox); err != nil || st != "1" {
			t.Fatalf("Ping after the FolderSync: %v %s, want 1 (the device is up to date)", err, st)
		}
	})
}

// TestFolderCreateByDeviceAnswersOthers7: a FolderCreate by the phone
// answers the tablet's parked Ping with Status 7; the phone's own parked
// Ping is not told (it knows: no echo).
func TestFolderCreateByDeviceAnswersOthers7(t *testing.T) {
	ctx := context.Background()
	e := bridgetest.Start(t, bridgetest.Options{Push: hierarchyOpts()})
	phone, inbox, key := folderReady(t, e, "phone")
	tablet, tinbox, _ := folderReady(t, e, "tablet")
	tabletPing := parkPing(t, e, tablet, 300, tinbox)
	phonePing := parkPing(t, e, phone, 300, inbox)

	req := wbxml.New(wbxml.FolderHierarchy, "FolderCreate")
	req.AddText(wbxml.FolderHierarchy, "SyncKey", key)
	req.AddText(wbxml.FolderHierarchy, "ParentId", "0")
	req.AddText(wbxml.FolderHierarchy, "DisplayName", "Made on the phone")
	req.AddText(wbxml.FolderHierarchy, "Type", "12")
	other := *phone // another connection of the phone
	r, err := other.Do(ctx, "FolderCreate", req)
	if err != nil || r.Status() != "1" {
		t.Fatalf("FolderCreate: %v %+v", err, r)
	}
	if tr := awaitPing(t, tabletPing, 30*time.Second); tr.status != "7" {
		t.Fatalf("tablet's Ping answered %s, want 7 after the phone's FolderCreate", tr.status)
	}
	// The phone's Ping goes on until superseded by its next one, which
	// sees a hierarchy event too and runs its full (short) heartbeat: the
	// phone's FolderSync state holds the folder it made.
	second := make(chan pingResult, 1)
	go func() {
		st, ch, err := other.Ping(ctx, 3, inbox)
		second <- pingResult{status: st, changed: ch, err: err}
	}()
	if pr := awaitPing(t, phonePing, 10*time.Second); pr.status != "1" {
		t.Fatalf("phone's first Ping answered %s, want 1 (superseded, not told of its own folder)", pr.status)
	}
	testenv.WaitFor(t, 10*time.Second, "the phone's second Ping to park", func() bool { return e.Push.Parked() == 1 })
	if err := e.Bus.Publish(ctx, state.Change{User: e.User, Collection: "", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if pr := awaitPing(t, second, 10*time.Second); pr.status != "1" {
		t.Fatalf("phone's Ping after its own FolderCreate answered %s, want 1 (no echo)", pr.status)
	}
}

// TestHangingSyncAnswers12OnUpstreamFolderCreate: a hanging Sync woken by
// a folder created upstream answers Sync Status 12 (MS-ASCMD
// 2.2.3.177.17), not an empty "no changes" body, so the device runs
// FolderSync.
func TestHangingSyncAnswers12OnUpstreamFolderCreate(t *testing.T) {
	ctx := context.Background()
	e := bridgetest.Start(t, bridgetest.Options{Push: hierarchyOpts()})
	dev := e.Device(t, "phone", "14.1")
	fs, err := dev.FolderSync(ctx, "0")
	if err != nil || fs.Status != "1" {
		t.Fatalf("FolderSync: %v %+v", err, fs)
	}
	inbox, _ := client.FolderByType(fs.Add, 2)
	_, key, err := dev.SyncAll(ctx, inbox.ServerID, client.SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan string, 1)
	go func() {
		req := wbxml.New(wbxml.AirSync, "Sync")
		col := req.Add(wbxml.AirSync, "Collections").Add(wbxml.AirSync, "Collection")
		col.AddText(wbxml.AirSync, "SyncKey", key)
		col.AddText(wbxml.AirSync, "CollectionId", inbox.ServerID)
		req.AddText(wbxml.AirSync, "HeartbeatInterval", "300")
		r, err := dev.Do(ctx, "Sync", req)
		switch {
		case err != nil:
			t.Error(err)
			done <- ""
		case r.Doc == nil:
			done <- "empty body"
		default:
			done <- r.Doc.ChildText(wbxml.AirSync, "Status")
		}
	}()
	testenv.WaitFor(t, 20*time.Second, "the hanging Sync to park", func() bool { return e.Push.Parked() == 1 })
	if err := e.IMAP(t).CreateFolder(ctx, "Projects"); err != nil {
		t.Fatal(err)
	}
	select {
	case st := <-done:
		if st != "12" {
			t.Fatalf("hanging Sync woken by an upstream folder create answered %q, want Status 12", st)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("hanging Sync still parked 30 s after the folder create")
	}
}
