package mail

import (
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/bridge/mailid"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

func serverIDs(items []activesync.SyncItem) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, it.ServerID)
	}
	return out
}

// TestSyncFillAndResend runs the core flow on both store engines: initial
// key, window filling with MoreAvailable, a resent key, an empty
// incremental Sync.
func TestSyncFillAndResend(t *testing.T) {
	engines := []struct {
		name  string
		store func(testing.TB) state.Store
	}{
		{"embedded", embeddedStore},
		{"redis", redisStore},
	}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			r := newRig(t, e.store(t))
			r.seed("INBOX", 250)
			inbox := r.folderID("INBOX")
			key := r.primed(inbox, syncOpts{})

			first := r.sync(inbox, key, syncOpts{window: 100})
			if len(first.Commands) != 100 || !first.MoreAvailable {
				t.Fatalf("window 1: %d commands, more %v", len(first.Commands), first.MoreAvailable)
			}
			second := r.sync(inbox, first.SyncKey, syncOpts{window: 100})
			if len(second.Commands) != 100 || !second.MoreAvailable {
				t.Fatalf("window 2: %d commands, more %v", len(second.Commands), second.MoreAvailable)
			}
			// The answer to window 2 was lost: the same key again gets the
			// same items under the same new key.
			again := r.sync(inbox, first.SyncKey, syncOpts{window: 100})
			if again.SyncKey != second.SyncKey || !slices.Equal(serverIDs(again.Commands), serverIDs(second.Commands)) {
				t.Fatalf("resent key: key %q vs %q, items equal %v", again.SyncKey, second.SyncKey,
					slices.Equal(serverIDs(again.Commands), serverIDs(second.Commands)))
			}
			third := r.sync(inbox, second.SyncKey, syncOpts{window: 100})
			if len(third.Commands) != 50 || third.MoreAvailable {
				t.Fatalf("window 3: %d commands, more %v", len(third.Commands), third.MoreAvailable)
			}
			all := append(append(append([]activesync.SyncItem{}, first.Commands...), second.Commands...), third.Commands...)
			seen := map[string]bool{}
			for _, it := range all {
				if it.Kind != "Add" || it.Data == nil {
					t.Fatalf("item %+v is not an Add with data", it)
				}
				if seen[it.ServerID] {
					t.Fatalf("item %s sent twice", it.ServerID)
				}
				seen[it.ServerID] = true
			}
			// Newest first.
			_, u1, _ := mailid.ParseItem(first.Commands[0].ServerID)
			_, u2, _ := mailid.ParseItem(third.Commands[len(third.Commands)-1].ServerID)
			if u1 < u2 {
				t.Errorf("first item UID %d older than last %d", u1, u2)
			}
			// Settle the last key, then an empty incremental Sync.
			settle := r.sync(inbox, third.SyncKey, syncOpts{})
			if len(settle.Commands) != 0 {
				t.Fatalf("after fill: %v", kinds(settle.Commands))
			}
			empty := r.sync(inbox, settle.SyncKey, syncOpts{})
			if len(empty.Commands) != 0 || empty.SyncKey != settle.SyncKey {
				t.Fatalf("empty Sync: %v, key %q -> %q", kinds(empty.Commands), settle.SyncKey, empty.SyncKey)
			}
			if n := r.lastCommands("Sync"); n != 1 {
				t.Errorf("empty Sync cost %d IMAP commands, want 1", n)
			}
			if res := r.sync(inbox, "42", syncOpts{}); res.Status != 3 {
				t.Errorf("unknown key: status %d, want 3", res.Status)
			}
			if res := r.sync("9999", "0", syncOpts{}); res.Status != 8 {
				t.Errorf("unknown collection: status %d, want 8", res.Status)
			}
		})
	}
}

// syncedRig is a rig whose device holds all of INBOX (n messages).
func syncedRig(t *testing.T, n int) (*mailRig, string, string) {
	t.Helper()
	r := newRig(t, embeddedStore(t))
	if n > 0 {
		r.seed("INBOX", n)
	}
	inbox := r.folderID("INBOX")
	key, _ := r.drain(inbox, r.primed(inbox, syncOpts{}), syncOpts{window: 512})
	return r, inbox, key
}

func TestSyncServerChanges(t *testing.T) {
	r, inbox, key := syncedRig(t, 5)
	ctx := testCtx(t)
	r.selectOther("INBOX")
	if err := r.other.Store(ctx, imap.UIDs(2), imap.StoreAdd, []string{`\Seen`, `\Flagged`}); err != nil {
		t.Fatal(err)
	}
	res := r.sync(inbox, key, syncOpts{})
	if k := kinds(res.Commands); k["Change"] != 1 || len(res.Commands) != 1 {
		t.Fatalf("flag change: %v", k)
	}
	ch := res.Commands[0]
	if ch.ServerID != mailid.Item(inbox, 2) || ch.Data.ChildText(wbxml.Email, "Read") != "1" {
		t.Errorf("change %s read %q", ch.ServerID, ch.Data.ChildText(wbxml.Email, "Read"))
	}
	key = res.SyncKey

	uid := r.appendMsg("INBOX", message("fresh", "new mail"), time.Time{})
	res = r.sync(inbox, key, syncOpts{})
	if len(res.Commands) != 1 || res.Commands[0].Kind != "Add" || res.Commands[0].ServerID != mailid.Item(inbox, uid) {
		t.Fatalf("new mail: %+v", res.Commands)
	}
	if subj := res.Commands[0].Data.ChildText(wbxml.Email, "Subject"); subj != "fresh" {
		t.Errorf("subject %q", subj)
	}
	key = res.SyncKey

	if err := r.other.Expunge(ctx, imap.UIDs(3)); err != nil {
		t.Fatal(err)
	}
	res = r.sync(inbox, key, syncOpts{})
	if len(res.Commands) != 1 || res.Commands[0].Kind != "Delete" || res.Commands[0].ServerID != mailid.Item(inbox, 3) {
		t.Fatalf("expunge: %+v", res.Commands)
	}
	key = res.SyncKey
	res = r.sync(inbox, key, syncOpts{})
	if len(res.Commands) != 0 {
		t.Fatalf("settled: %v", kinds(res.Commands))
	}
}

func readChange(read bool) *wbxml.Element {
	ad := wbxml.New(wbxml.AirSync, "ApplicationData")
	v := "0"
	if read {
		v = "1"
	}
	ad.AddText(wbxml.Email, "Read", v)
	return ad
}

func TestSyncDeviceChangeAndDelete(t *testing.T) {
	r, inbox, key := syncedRig(t, 4)
	ctx := testCtx(t)
	res := r.sync(inbox, key, syncOpts{commands: []activesync.SyncCommand{
		{Kind: "Change", ServerID: mailid.Item(inbox, 1), Data: readChange(true)},
		{Kind: "Change", ServerID: mailid.Item(inbox, 99), Data: readChange(true)},
		{Kind: "Delete", ServerID: mailid.Item(inbox, 2)},
		{Kind: "Add", ClientID: "c1", Data: wbxml.New(wbxml.AirSync, "ApplicationData")},
		{Kind: "Fetch", ServerID: mailid.Item(inbox, 4)},
	}})
	if len(res.Commands) != 0 {
		t.Errorf("device commands echoed: %v", kinds(res.Commands))
	}
	statuses := map[string]int{}
	for _, rsp := range res.Responses {
		statuses[rsp.Kind+" "+rsp.ServerID+rsp.ClientID] = rsp.Status
	}
	want := map[string]int{"Change " + mailid.Item(inbox, 99): 8, "Add c1": 6, "Fetch " + mailid.Item(inbox, 4): 1}
	for k, v := range want {
		if statuses[k] != v {
			t.Errorf("response %s: status %d, want %d (all %v)", k, statuses[k], v, statuses)
		}
	}
	r.selectOther("INBOX")
	infos, err := r.other.FetchFlags(ctx, imap.AllUIDs(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var uids []uint32
	for _, f := range infos {
		uids = append(uids, f.UID)
		if f.UID == 1 && !slices.Contains(f.Flags, `\Seen`) {
			t.Errorf("UID 1 flags %v, want \\Seen", f.Flags)
		}
	}
	if slices.Contains(uids, 2) {
		t.Error("deleted message still in INBOX")
	}
	st, err := r.other.Status(ctx, "Trash")
	if err != nil || st.Messages != 1 {
		t.Errorf("Trash has %d messages (err %v), want 1", st.Messages, err)
	}
	// No echo of either change.
	next := r.sync(inbox, res.SyncKey, syncOpts{})
	if len(next.Commands) != 0 {
		t.Errorf("next Sync echoes: %+v", next.Commands)
	}
	// Delete in Trash (or without DeletesAsMoves) expunges.
	res = r.sync(inbox, next.SyncKey, syncOpts{noMoves: true, commands: []activesync.SyncCommand{{Kind: "Delete", ServerID: mailid.Item(inbox, 3)}}})
	if st, _ := r.other.Status(ctx, "Trash"); st.Messages != 1 {
		t.Errorf("expunge went to Trash")
	}
	if len(res.Commands) != 0 {
		t.Errorf("echo after expunge: %v", kinds(res.Commands))
	}
}

func TestSyncUIDValidityChange(t *testing.T) {
	r := newRig(t, embeddedStore(t))
	ctx := testCtx(t)
	if err := r.other.CreateFolder(ctx, "Box"); err != nil {
		t.Fatal(err)
	}
	r.appendMsg("Box", message("a", "b"), time.Time{})
	box := r.folderID("Box")
	key, _ := r.drain(box, r.primed(box, syncOpts{}), syncOpts{})
	if err := r.other.DeleteFolder(ctx, "Box"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // Dovecot's UIDVALIDITY is a timestamp
	if err := r.other.CreateFolder(ctx, "Box"); err != nil {
		t.Fatal(err)
	}
	res := r.sync(box, key, syncOpts{})
	if res.Status != 3 {
		t.Fatalf("after recreate: status %d, want 3", res.Status)
	}
	if res := r.sync(box, key, syncOpts{}); res.Status != 3 {
		t.Errorf("old key after reset: status %d", res.Status)
	}
}

func TestSyncFilterType(t *testing.T) {
	r := newRig(t, embeddedStore(t))
	old := time.Now().AddDate(0, 0, -30)
	for i := range 3 {
		r.appendMsg("INBOX", message("old"+string(rune('a'+i)), "x"), old)
	}
	recent := r.appendMsg("INBOX", message("recent", "x"), time.Now().Add(-time.Hour))
	inbox := r.folderID("INBOX")
	o := syncOpts{filter: 3} // one week
	_, items := r.drain(inbox, r.primed(inbox, o), o)
	if len(items) != 1 || items[0].ServerID != mailid.Item(inbox, recent) {
		t.Fatalf("filter one week: %+v", serverIDs(items))
	}
	all := syncOpts{filter: 0}
	_, items = r.drain(inbox, r.primed(inbox, all), all)
	if len(items) != 4 {
		t.Fatalf("no filter: %d items", len(items))
	}
}

// TestSyncFilterTypeIncremental: new mail arriving after the window was
// filled honours the filter too — a message dated outside the window is
// not sent, the recent ones are, newest first.
func TestSyncFilterTypeIncremental(t *testing.T) {
	r := newRig(t, embeddedStore(t))
	r.appendMsg("INBOX", message("recent", "x"), time.Now().Add(-time.Hour))
	inbox := r.folderID("INBOX")
	o := syncOpts{filter: 3} // one week
	key, items := r.drain(inbox, r.primed(inbox, o), o)
	if len(items) != 1 {
		t.Fatalf("initial window: %+v", serverIDs(items))
	}
	a := r.appendMsg("INBOX", message("new a", "x"), time.Now().Add(-2*time.Hour))
	b := r.appendMsg("INBOX", message("new b", "x"), time.Now().Add(-time.Minute))
	r.appendMsg("INBOX", message("new but dated last month", "x"), time.Now().AddDate(0, 0, -30))
	res := r.sync(inbox, key, o)
	got := serverIDs(res.Commands)
	if len(got) != 2 || !slices.Contains(got, mailid.Item(inbox, a)) || !slices.Contains(got, mailid.Item(inbox, b)) {
		t.Fatalf("incremental with a one-week filter sent %v, want %s and %s", got, mailid.Item(inbox, a), mailid.Item(inbox, b))
	}
}

func TestSyncEmptyIncrementalIsOneCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 3000 messages")
	}
	r, inbox, key := syncedRig(t, 3000)
	for range 3 {
		res := r.sync(inbox, key, syncOpts{})
		if len(res.Commands) != 0 || res.SyncKey != key {
			t.Fatalf("empty Sync: %v, key %q -> %q", kinds(res.Commands), key, res.SyncKey)
		}
		if n := r.lastCommands("Sync"); n != 1 {
			t.Fatalf("empty incremental Sync on 3000 messages cost %d IMAP commands, want 1", n)
		}
	}
	// One new message costs a handful of commands, not one per message.
	r.appendMsg("INBOX", message("one more", "x"), time.Time{})
	res := r.sync(inbox, key, syncOpts{})
	if len(res.Commands) != 1 {
		t.Fatalf("new mail: %v", kinds(res.Commands))
	}
	if n := r.lastCommands("Sync"); n > 5 {
		t.Errorf("one new message cost %d IMAP commands", n)
	}
	t.Logf("one new message on 3000: %d IMAP commands", r.lastCommands("Sync"))
}

func TestSyncBrokenAndLargeMessages(t *testing.T) {
	r := newRigWith(t, embeddedStore(t), slog.New(slog.DiscardHandler), Options{LargeMessage: 64 << 10})
	r.appendMsg("INBOX", message("before", "x"), time.Time{})
	r.appendMsg("INBOX", []byte("\x00\x01 this is not a message at all \xff\r\n"), time.Time{})
	big := largeMessage(200 << 10)
	bigUID := r.appendMsg("INBOX", big, time.Time{})
	r.appendMsg("INBOX", message("after", "x"), time.Time{})
	inbox := r.folderID("INBOX")
	_, items := r.drain(inbox, r.primed(inbox, syncOpts{}), syncOpts{})
	if len(items) != 4 {
		t.Fatalf("%d items, want 4 (a broken or large message stalled the window)", len(items))
	}
	for _, it := range items {
		if it.ServerID != mailid.Item(inbox, bigUID) {
			continue
		}
		if subj := it.Data.ChildText(wbxml.Email, "Subject"); subj != "big one" {
			t.Errorf("large message subject %q", subj)
		}
		body := it.Data.Child(wbxml.AirSyncBase, "Body")
		if body == nil || !strings.Contains(body.ChildText(wbxml.AirSyncBase, "Data"), "readable text") {
			t.Errorf("large message body missing: %+v", body)
		}
		atts := it.Data.Child(wbxml.AirSyncBase, "Attachments")
		if atts == nil || len(atts.Children) != 1 {
			t.Fatalf("large message attachments: %+v", atts)
		}
		ref := atts.Children[0].ChildText(wbxml.AirSyncBase, "FileReference")
		if ref != mailid.Item(inbox, bigUID)+":2" {
			t.Errorf("attachment reference %q", ref)
		}
	}
}

// largeMessage has a short text part and a base64 attachment of n bytes.
func largeMessage(n int) []byte {
	var b strings.Builder
	b.WriteString("From: a@example.test\r\nTo: b@example.test\r\nSubject: big one\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		"readable text\r\n--XX\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=blob.bin\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n")
	b.WriteString(base64Lines(attachmentBytes(n)))
	b.WriteString("--XX--\r\n")
	return []byte(b.String())
}
