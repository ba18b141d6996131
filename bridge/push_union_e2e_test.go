package bridge_test

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/internal/bridgetest"
	"github.com/idlebridge/idlebridge/internal/testenv"
)

// TestPingOnOtherInstanceForUnwatchedFolder: the phone's Ping on A holds
// the user's watch lease; a tablet parks on B for "Work", which nobody
// pings on A. B's folder reaches A's watcher through the store and the
// bus, and a delivery to Work wakes the tablet within seconds (before:
// only the heartbeat ended it).
func TestPingOnOtherInstanceForUnwatchedFolder(t *testing.T) {
	ctx := context.Background()
	var aWatchers atomic.Int64
	aOpts := pushOpts("a")
	aOpts.OnWatcher = func(d int) { aWatchers.Add(int64(d)) }
	a := bridgetest.Start(t, bridgetest.Options{Redis: true, Instance: "a", Push: aOpts})
	b := bridgetest.Start(t, bridgetest.Options{Redis: true, Instance: "b", User: a.User, Push: pushOpts("b")})
	if err := a.IMAP(t).CreateFolder(ctx, "Work"); err != nil {
		t.Fatal(err)
	}

	phone, inbox, _ := inboxReady(t, a, "phone")
	tablet := b.Device(t, "tablet", "16.1")
	fs, err := tablet.FolderSync(ctx, "0")
	if err != nil || fs.Status != "1" {
		t.Fatalf("FolderSync: %v %+v", err, fs)
	}
	var work string
	for _, f := range fs.Add {
		if f.DisplayName == "Work" {
			work = f.ServerID
		}
	}
	if work == "" {
		t.Fatalf("no Work folder in %+v", fs.Add)
	}
	if _, _, err := tablet.SyncAll(ctx, work, client.SyncOptions{}); err != nil {
		t.Fatal(err)
	}

	// The phone parks on A for the inbox only, and A's watcher runs.
	phonePing := parkPing(t, a, phone, 300, inbox)
	testenv.WaitFor(t, 20*time.Second, "A's watcher", func() bool { return aWatchers.Load() > 0 })
	tabletPing := parkPing(t, b, tablet, 300, work)

	msg := bridgetest.Message("for work", "hello")
	if _, err := a.IMAP(t).Append(ctx, "Work", nil, time.Now(), bytes.NewReader(msg), int64(len(msg))); err != nil {
		t.Fatal(err)
	}
	r := awaitPing(t, tabletPing, 30*time.Second)
	if r.status != "2" || len(r.changed) != 1 || r.changed[0] != work {
		t.Fatalf("tablet's Ping on B answered %s %v, want 2 [%s]", r.status, r.changed, work)
	}
	t.Logf("delivery to Work → tablet's Ping on B answered after %v of parking", r.after)
	select {
	case pr := <-phonePing:
		t.Fatalf("the phone's Ping (inbox only) answered %s %v on a delivery to Work", pr.status, pr.changed)
	default:
	}
}
