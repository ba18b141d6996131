package bridge_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/internal/bridgetest"
	"github.com/idlebridge/idlebridge/internal/testenv"
)

// TestSentCopyWakesPingOnSent: the Sent copy the bridge saves after a
// SendMail wakes a Ping parked on Sent Items, even when that folder is
// only STATUS-polled (here beyond an IDLE budget of one, with a poll
// interval far longer than the test).
func TestSentCopyWakesPingOnSent(t *testing.T) {
	testenv.SMTP(t)
	ctx := context.Background()
	e, bus := startPolled(t)
	phone, _, _ := inboxReady(t, e, "phone")
	tablet := e.Device(t, "tablet", "14.1")
	fs, err := tablet.FolderSync(ctx, "0")
	if err != nil || fs.Status != "1" {
		t.Fatalf("FolderSync: %v %+v", err, fs)
	}
	inbox, _ := client.FolderByType(fs.Add, 2)
	sent, ok := client.FolderByType(fs.Add, 5)
	if !ok {
		t.Fatalf("no Sent Items in %+v", fs.Add)
	}
	for _, id := range []string{inbox.ServerID, sent.ServerID} {
		if _, _, err := tablet.SyncAll(ctx, id, client.SyncOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	ping := parkPing(t, e, tablet, 300, inbox.ServerID, sent.ServerID)
	// The poller's first round (which publishes every polled folder) is
	// over: from now on only a notification can wake the Ping for Sent.
	testenv.WaitFor(t, 20*time.Second, "the first poll of Sent", func() bool { return bus.published(sent.ServerID) > 0 })

	req := wbxml.New(wbxml.ComposeMail, "SendMail")
	req.AddText(wbxml.ComposeMail, "ClientId", fmt.Sprintf("sent-copy-%d", time.Now().UnixNano()))
	req.Add(wbxml.ComposeMail, "SaveInSentItems")
	req.AddOpaque(wbxml.ComposeMail, "Mime", []byte("From: "+e.User+"\r\nTo: bob@example.test\r\nSubject: copy\r\n\r\nhello\r\n"))
	if r, err := phone.Do(ctx, "SendMail", req); err != nil || len(r.Body) != 0 {
		t.Fatalf("SendMail: %v %+v", err, r)
	}
	r := awaitPing(t, ping, 30*time.Second)
	if r.status != "2" || len(r.changed) != 1 || r.changed[0] != sent.ServerID {
		t.Fatalf("tablet's Ping answered %s %v, want 2 [%s]", r.status, r.changed, sent.ServerID)
	}
}

// TestEmptyFolderWakesOtherDevices: the phone's EmptyFolderContents of a
// folder wakes the tablet's Ping parked on it, even when the folder is
// only STATUS-polled.
func TestEmptyFolderWakesOtherDevices(t *testing.T) {
	ctx := context.Background()
	e, bus := startPolled(t)
	if err := e.IMAP(t).CreateFolder(ctx, "Old"); err != nil {
		t.Fatal(err)
	}
	appendMailTo(t, e, "Old", "to be emptied")
	ready := func(id string) (*client.Client, string, string) {
		dev := e.Device(t, id, "14.1")
		fs, err := dev.FolderSync(ctx, "0")
		if err != nil || fs.Status != "1" {
			t.Fatalf("FolderSync: %v %+v", err, fs)
		}
		inbox, _ := client.FolderByType(fs.Add, 2)
		var old string
		for _, f := range fs.Add {
			if f.DisplayName == "Old" {
				old = f.ServerID
			}
		}
		for _, id := range []string{inbox.ServerID, old} {
			if _, _, err := dev.SyncAll(ctx, id, client.SyncOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		return dev, inbox.ServerID, old
	}
	phone, _, old := ready("phone")
	tablet, tinbox, _ := ready("tablet")
	ping := parkPing(t, e, tablet, 300, tinbox, old)
	testenv.WaitFor(t, 20*time.Second, "the first poll of Old", func() bool { return bus.published(old) > 0 })

	req := wbxml.New(wbxml.ItemOperations, "ItemOperations")
	req.Add(wbxml.ItemOperations, "EmptyFolderContents").AddText(wbxml.AirSync, "CollectionId", old)
	if r, err := phone.Do(ctx, "ItemOperations", req); err != nil || r.Status() != "1" {
		t.Fatalf("EmptyFolderContents: %v %+v", err, r)
	}
	r := awaitPing(t, ping, 30*time.Second)
	if r.status != "2" || len(r.changed) != 1 || r.changed[0] != old {
		t.Fatalf("tablet's Ping answered %s %v, want 2 [%s]", r.status, r.changed, old)
	}
}

// recordingBus is the in-process bus remembering which folders changes
// were published for, so a test can wait for the watcher's first poll to
// have passed before it acts.
type recordingBus struct {
	state.Bus
	mu   sync.Mutex
	seen map[string]int
}

func (b *recordingBus) Publish(ctx context.Context, c state.Change) error {
	b.mu.Lock()
	b.seen[c.Collection]++
	b.mu.Unlock()
	return b.Bus.Publish(ctx, c)
}

func (b *recordingBus) published(collection string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.seen[collection]
}

// startPolled starts a bridge whose folders beyond the first are polled
// once an hour, on a recording bus.
func startPolled(t *testing.T) (*bridgetest.Env, *recordingBus) {
	t.Helper()
	st, err := state.OpenEmbedded(filepath.Join(t.TempDir(), "idlebridge.db"), state.EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	bus := &recordingBus{Bus: state.NewMemoryBus(), seen: map[string]int{}}
	t.Cleanup(func() { _ = bus.Close() })
	e := bridgetest.Start(t, bridgetest.Options{Store: st, Bus: bus, Leases: state.NewMemoryLeases(), Push: bridgetestPushPolled()})
	return e, bus
}

func appendMailTo(t *testing.T, e *bridgetest.Env, mailbox, subject string) {
	t.Helper()
	msg := bridgetest.Message(subject, "hello")
	if _, err := e.IMAP(t).Append(context.Background(), mailbox, nil, time.Now(), bytes.NewReader(msg), int64(len(msg))); err != nil {
		t.Fatal(err)
	}
}
