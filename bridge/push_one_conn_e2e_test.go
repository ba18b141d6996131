package bridge_test

import (
	"bytes"
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/bridge"
	"github.com/idlebridge/idlebridge/internal/bridgetest"
	"github.com/idlebridge/idlebridge/internal/testenv"
)

// threeFolders provisions a device that has synced Inbox, Sent and a
// folder of its own, and returns their IDs by mailbox.
func threeFolders(t *testing.T, e *bridgetest.Env, id string) (*client.Client, map[string]string, map[string]string) {
	t.Helper()
	ctx := context.Background()
	dev := e.Device(t, id, "14.1")
	fs, err := dev.FolderSync(ctx, "0")
	if err != nil || fs.Status != "1" {
		t.Fatalf("FolderSync: %v %+v", err, fs)
	}
	ids := map[string]string{}
	for _, f := range fs.Add {
		switch {
		case f.Type == 2:
			ids["INBOX"] = f.ServerID
		case f.Type == 5:
			ids["Sent"] = f.ServerID
		case f.DisplayName == "Projects":
			ids["Projects"] = f.ServerID
		}
	}
	if len(ids) != 3 {
		t.Fatalf("folders %v from %+v, want INBOX, Sent and Projects", ids, fs.Add)
	}
	keys := map[string]string{}
	for mb, fid := range ids {
		_, key, err := dev.SyncAll(ctx, fid, client.SyncOptions{WindowSize: 50})
		if err != nil {
			t.Fatal(err)
		}
		keys[mb] = key
	}
	return dev, ids, keys
}

// TestPingThreeFoldersOneConnection: a phone Pinging Inbox, Sent and a
// folder of its own costs ONE upstream watcher connection, with NOTIFY
// and without it (IDLE on the inbox, STATUS for the others); mail to each
// folder wakes the Ping; the connection comes back after it drops.
func TestPingThreeFoldersOneConnection(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   bridge.PushOptions
		within time.Duration
	}{
		{"notify", bridge.PushOptions{}, 10 * time.Second},
		{"idle and status", bridge.PushOptions{NoNotify: true, PollInterval: 500 * time.Millisecond, HierarchyInterval: time.Hour}, 10 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			imapAddr, _ := testenv.IMAP(t)
			proxy := bridgetest.StartProxy(t, imapAddr)
			var watchConns, watchers atomic.Int64
			opts := tc.opts
			opts.OnConn = func(d int) { watchConns.Add(int64(d)) }
			opts.OnWatcher = func(d int) { watchers.Add(int64(d)) }
			var reconnects atomic.Int64
			opts.OnReconnect = func() { reconnects.Add(1) }
			e := bridgetest.Start(t, bridgetest.Options{IMAPAddr: proxy.Addr(), Push: opts})
			if err := e.IMAP(t).CreateFolder(ctx, "Projects"); err != nil {
				t.Fatal(err)
			}
			dev, ids, keys := threeFolders(t, e, "phone")
			folders := []string{ids["INBOX"], ids["Sent"], ids["Projects"]}

			for round, mb := range []string{"INBOX", "Sent", "Projects", "INBOX"} {
				res := parkPing(t, e, dev, 300, folders...)
				testenv.WaitFor(t, 20*time.Second, "the watcher connection", func() bool { return watchConns.Load() >= 1 })
				if n := watchConns.Load(); n != 1 {
					t.Fatalf("round %d: %d watcher connections for three folders, want 1", round, n)
				}
				if round == 3 {
					// The connection drops (the provider restarts, a NAT
					// forgets it); the watcher reconnects and the next
					// delivery still wakes the Ping.
					proxy.Drop()
					testenv.WaitFor(t, 20*time.Second, "the watcher to notice the drop", func() bool { return watchConns.Load() == 0 })
					proxy.Restore()
					testenv.WaitFor(t, 30*time.Second, "the watcher to reconnect", func() bool { return watchConns.Load() == 1 })
				}
				msg := bridgetest.Message("to "+mb, "hello")
				if _, err := e.IMAP(t).Append(ctx, mb, nil, time.Now(), bytes.NewReader(msg), int64(len(msg))); err != nil {
					t.Fatal(err)
				}
				r := awaitPing(t, res, tc.within+5*time.Second)
				if r.status != "2" || !slices.Contains(r.changed, ids[mb]) {
					t.Fatalf("round %d: Ping answered %s %v on mail to %s, want 2 with %s", round, r.status, r.changed, mb, ids[mb])
				}
				t.Logf("round %d: mail to %s woke the Ping after %v", round, mb, r.after)
				s, err := dev.Sync(ctx, ids[mb], keys[mb], client.SyncOptions{})
				if err != nil || len(s.Adds()) != 1 {
					t.Fatalf("Sync of %s after the wake: %v %+v", mb, err, s)
				}
				keys[mb] = s.SyncKey
			}
			if n := watchConns.Load(); n != 1 {
				t.Fatalf("%d watcher connections at the end, want 1", n)
			}
			if w := watchers.Load(); w != 1 {
				t.Fatalf("%d watchers running, want 1", w)
			}
		})
	}
}
