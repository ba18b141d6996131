package bridge_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/internal/bridgetest"
)

// TestGzipFolderSyncAndSync: issue 11 item 2 as the independent client
// checks it. A device that gzips its request bodies gets FolderSync
// Status 1 and its Inbox from the real Dovecot, on both engines.
func TestGzipFolderSyncAndSync(t *testing.T) {
	for _, redis := range []bool{false, true} {
		name := "embedded"
		if redis {
			name = "redis"
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			e := bridgetest.Start(t, bridgetest.Options{Redis: redis})
			imap := e.IMAP(t)
			msg := bridgetest.Message("gzip hello", "body")
			if _, err := imap.Append(ctx, "INBOX", nil, time.Now(), bytes.NewReader(msg), int64(len(msg))); err != nil {
				t.Fatal(err)
			}
			dev := e.Device(t, "gzipdev", "14.1")
			dev.Gzip = true
			fs, err := dev.FolderSync(ctx, "0")
			if err != nil || fs.Status != "1" {
				t.Fatalf("gzip FolderSync: Status %q, %v", fs.Status, err)
			}
			inbox, ok := client.FolderByType(fs.Add, 2)
			if !ok {
				t.Fatalf("no Inbox in %+v", fs.Add)
			}
			res, err := dev.Sync(ctx, inbox.ServerID, "0", client.SyncOptions{})
			if err != nil {
				t.Fatal(err)
			}
			res, err = dev.Sync(ctx, inbox.ServerID, res.SyncKey, client.SyncOptions{WindowSize: 10})
			if err != nil {
				t.Fatalf("gzip Sync: %v", err)
			}
			if len(res.Adds()) != 1 {
				t.Fatalf("gzip Sync brought %d messages, want 1", len(res.Adds()))
			}
		})
	}
}
