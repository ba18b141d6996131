package mail

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/mailid"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

func attachmentBytes(n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = byte(i*7 + i/251)
	}
	return out
}

func base64Lines(b []byte) string {
	enc := base64.StdEncoding.EncodeToString(b)
	var s strings.Builder
	for len(enc) > 76 {
		s.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	s.WriteString(enc + "\r\n")
	return s.String()
}

func TestMoveItemsNoEcho(t *testing.T) {
	r, inbox, inKey := syncedRig(t, 3)
	archive := r.folderID("Archive")
	arKey, _ := r.drain(archive, r.primed(archive, syncOpts{}), syncOpts{})
	ctx := testCtx(t)
	res, err := r.m.MoveItems(ctx, r.acct, r.device, []activesync.Move{
		{SrcMsgID: mailid.Item(inbox, 2), SrcFldID: inbox, DstFldID: archive},
		{SrcMsgID: mailid.Item(inbox, 77), SrcFldID: inbox, DstFldID: archive},
		{SrcMsgID: mailid.Item(inbox, 1), SrcFldID: inbox, DstFldID: "9999"},
		{SrcMsgID: mailid.Item(inbox, 1), SrcFldID: inbox, DstFldID: inbox},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantStatus := []int{3, 1, 2, 4}
	for i, w := range wantStatus {
		if res[i].Status != w {
			t.Errorf("move %d: status %d, want %d", i, res[i].Status, w)
		}
	}
	f, uid, ok := mailid.ParseItem(res[0].DstMsgID)
	if !ok || f != archive {
		t.Fatalf("new ID %q", res[0].DstMsgID)
	}
	r.selectOther("Archive")
	infos, err := r.other.FetchFlags(ctx, imap.UIDs(uid), 0)
	if err != nil || len(infos) != 1 {
		t.Fatalf("moved message not in Archive under UID %d: %v %v", uid, infos, err)
	}
	if got := r.sync(inbox, inKey, syncOpts{}); len(got.Commands) != 0 {
		t.Errorf("source Sync echoes: %+v", got.Commands)
	}
	if got := r.sync(archive, arKey, syncOpts{}); len(got.Commands) != 0 {
		t.Errorf("destination Sync echoes: %+v", got.Commands)
	}
}

func TestEstimate(t *testing.T) {
	r := newRig(t, embeddedStore(t))
	r.seed("INBOX", 7)
	inbox := r.folderID("INBOX")
	ctx := testCtx(t)
	if _, err := r.m.Estimate(ctx, r.acct, r.device, inbox, "0", activesync.SyncOptions{}); statusOf(err) != 3 {
		t.Errorf("unprimed: %v", err)
	}
	key := r.primed(inbox, syncOpts{})
	n, err := r.m.Estimate(ctx, r.acct, r.device, inbox, key, activesync.SyncOptions{})
	if err != nil || n != 7 {
		t.Fatalf("estimate after priming: %d %v, want 7", n, err)
	}
	key, _ = r.drain(inbox, key, syncOpts{window: 3})
	if n, err = r.m.Estimate(ctx, r.acct, r.device, inbox, key, activesync.SyncOptions{}); err != nil || n != 0 {
		t.Fatalf("estimate when synced: %d %v", n, err)
	}
	r.appendMsg("INBOX", message("x", "y"), time.Time{})
	r.selectOther("INBOX")
	if err := r.other.Store(ctx, imap.UIDs(1), imap.StoreAdd, []string{`\Seen`}); err != nil {
		t.Fatal(err)
	}
	if n, err = r.m.Estimate(ctx, r.acct, r.device, inbox, key, activesync.SyncOptions{}); err != nil || n != 2 {
		t.Fatalf("estimate with one add and one change: %d %v", n, err)
	}
	if _, err := r.m.Estimate(ctx, r.acct, r.device, inbox, "99", activesync.SyncOptions{}); statusOf(err) != 4 {
		t.Errorf("bad key: %v", err)
	}
	if _, err := r.m.Estimate(ctx, r.acct, r.device, "9999", key, activesync.SyncOptions{}); statusOf(err) != 2 {
		t.Errorf("bad collection: %v", err)
	}
}

func TestOpenAttachmentAndFetchItem(t *testing.T) {
	r := newRig(t, embeddedStore(t))
	want := attachmentBytes(300 << 10)
	uid := r.appendMsg("INBOX", largeMessage(len(want)), time.Time{})
	inbox := r.folderID("INBOX")
	ctx := testCtx(t)
	ref := mailid.Item(inbox, uid) + ":2"
	ctype, _, rc, err := r.m.OpenAttachment(ctx, r.acct, r.device, ref)
	if err != nil {
		t.Fatalf("OpenAttachment: %v", err)
	}
	got := readAllClose(t, rc)
	if ctype != "application/octet-stream" || !bytes.Equal(got, want) {
		t.Fatalf("attachment: type %q, %d bytes, equal %v", ctype, len(got), bytes.Equal(got, want))
	}
	for _, bad := range []string{mailid.Item(inbox, uid) + ":9", mailid.Item(inbox, 999) + ":2", "9999:1:2", "junk"} {
		if _, _, _, err := r.m.OpenAttachment(ctx, r.acct, r.device, bad); statusOf(err) != 6 {
			t.Errorf("OpenAttachment(%q): %v, want status 6", bad, err)
		}
	}
	// The session went back to the pool: another call works.
	data, err := r.m.FetchItem(ctx, r.acct, r.device, inbox, mailid.Item(inbox, uid), activesync.SyncOptions{MIMETruncation: -1})
	if err != nil || data == nil {
		t.Fatalf("FetchItem: %v", err)
	}
	if _, err := r.m.FetchItem(ctx, r.acct, r.device, inbox, mailid.Item(inbox, 999), activesync.SyncOptions{}); statusOf(err) != 6 {
		t.Errorf("FetchItem missing: %v", err)
	}
}

func TestEmptyFolder(t *testing.T) {
	r, inbox, key := syncedRig(t, 6)
	ctx := testCtx(t)
	if err := r.m.EmptyFolder(ctx, r.acct, r.device, inbox, false); err != nil {
		t.Fatalf("EmptyFolder: %v", err)
	}
	st, err := r.other.Status(ctx, "INBOX")
	if err != nil || st.Messages != 0 {
		t.Fatalf("INBOX has %d messages after EmptyFolder (%v)", st.Messages, err)
	}
	if res := r.sync(inbox, key, syncOpts{}); len(res.Commands) != 0 {
		t.Errorf("Sync after EmptyFolder sends %v", kinds(res.Commands))
	}
}
