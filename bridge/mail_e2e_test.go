package bridge_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/internal/bridgetest"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

// attachmentBytes is a binary attachment with every byte value.
var attachmentBytes = func() []byte {
	b := make([]byte, 70000)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}()

func multipartMessage() []byte {
	enc := base64.StdEncoding.EncodeToString(attachmentBytes)
	var wrapped strings.Builder
	for len(enc) > 76 {
		wrapped.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	wrapped.WriteString(enc + "\r\n")
	return []byte(strings.ReplaceAll(`From: =?UTF-8?Q?J=C3=BCrgen?= <juergen@example.test>
To: Alice <alice@example.test>
Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgQmVybGlu?=
Date: Tue, 24 Nov 2026 10:00:00 +0000
Message-ID: <multi-1@example.test>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=utf-8

Plain body with Umlaut: Grüße
--alt
Content-Type: text/html; charset=utf-8

<html><body><p>HTML <b>body</b> with Umlaut: Grüße</p></body></html>
--alt--
--outer
Content-Type: application/octet-stream; name="data.bin"
Content-Disposition: attachment; filename="data.bin"
Content-Transfer-Encoding: base64

`, "\n", "\r\n") + wrapped.String() + "--outer--\r\n")
}

func TestMailThroughTheFront(t *testing.T) {
	for _, ver := range []string{"12.1", "14.1", "16.1"} {
		t.Run(ver, func(t *testing.T) { testMailThroughTheFront(t, ver) })
	}
}

func testMailThroughTheFront(t *testing.T, ver string) {
	ctx := context.Background()
	e := bridgetest.Start(t, bridgetest.Options{})
	up := e.IMAP(t)
	msg := multipartMessage()
	if _, err := up.Append(ctx, "INBOX", nil, time.Now(), bytes.NewReader(msg), int64(len(msg))); err != nil {
		t.Fatal(err)
	}
	dev := e.Device(t, "phone", ver)

	fs, err := dev.FolderSync(ctx, "0")
	if err != nil || fs.Status != "1" {
		t.Fatalf("FolderSync: %v %+v", err, fs)
	}
	want := map[int]string{2: "Inbox", 3: "Drafts", 4: "Trash", 5: "Sent"}
	for typ, name := range want {
		f, ok := client.FolderByType(fs.Add, typ)
		if !ok || f.DisplayName != name || f.ParentID != "0" {
			t.Errorf("folder of type %d: %+v %v, want %s at the top", typ, f, ok, name)
		}
	}
	inbox, _ := client.FolderByType(fs.Add, 2)
	trash, _ := client.FolderByType(fs.Add, 4)

	for _, bodyType := range []int{1, 2, 4} {
		items, _, err := dev.SyncAll(ctx, inbox.ServerID, client.SyncOptions{BodyType: bodyType, Class: "Email"})
		if err != nil || len(items) != 1 {
			t.Fatalf("body type %d: %v, %d items", bodyType, err, len(items))
		}
		for _, d := range items {
			if got := d.ChildText(wbxml.Email, "Subject"); got != "Grüße aus Berlin" {
				t.Errorf("subject %q", got)
			}
			if got := d.ChildText(wbxml.Email, "From"); !strings.Contains(got, "Jürgen") || !strings.Contains(got, "juergen@example.test") {
				t.Errorf("from %q", got)
			}
			body := d.Child(wbxml.AirSyncBase, "Body")
			data := body.ChildText(wbxml.AirSyncBase, "Data")
			switch bodyType {
			case 1:
				if body.ChildText(wbxml.AirSyncBase, "Type") != "1" || !strings.Contains(data, "Plain body with Umlaut: Grüße") {
					t.Errorf("plain body: %s", body.XML())
				}
			case 2:
				if body.ChildText(wbxml.AirSyncBase, "Type") != "2" || !strings.Contains(data, "<b>body</b>") {
					t.Errorf("html body: %s", body.XML())
				}
			case 4:
				if body.ChildText(wbxml.AirSyncBase, "Type") != "4" || !strings.Contains(data, "Content-Disposition: attachment") {
					t.Errorf("MIME body: %.300s", body.XML())
				}
			}
			atts := d.Child(wbxml.AirSyncBase, "Attachments").All(wbxml.AirSyncBase, "Attachment")
			if len(atts) != 1 || atts[0].ChildText(wbxml.AirSyncBase, "DisplayName") != "data.bin" {
				t.Fatalf("attachments: %v", d.XML())
			}
			ref := atts[0].ChildText(wbxml.AirSyncBase, "FileReference")
			checkAttachment(t, dev, ver, ref)
		}
	}

	// Device changes show up upstream; upstream changes show up on the device.
	items, key, err := dev.SyncAll(ctx, inbox.ServerID, client.SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var id string
	for id = range items {
	}
	r, err := dev.Sync(ctx, inbox.ServerID, key, client.SyncOptions{Commands: client.ChangeRead(id, true)})
	if err != nil || r.Status != "1" {
		t.Fatalf("mark read: %v %+v", err, r)
	}
	key = r.SyncKey
	if flags := upstreamFlags(t, up, "INBOX"); !slices.Contains(flags[0], `\Seen`) {
		t.Fatalf("upstream flags after the device read it: %v", flags)
	}
	// A resent key gets the same answer.
	second := bridgetest.Message("second", "x")
	if _, err := up.Append(ctx, "INBOX", []string{`\Flagged`}, time.Now(), bytes.NewReader(second), int64(len(second))); err != nil {
		t.Fatal(err)
	}
	r1, err := dev.Sync(ctx, inbox.ServerID, key, client.SyncOptions{})
	if err != nil || len(r1.Adds()) != 1 {
		t.Fatalf("new mail: %v %+v", err, r1)
	}
	r2, err := dev.Sync(ctx, inbox.ServerID, key, client.SyncOptions{})
	if err != nil || r2.SyncKey != r1.SyncKey || len(r2.Adds()) != 1 || r2.Adds()[0].ServerID != r1.Adds()[0].ServerID {
		t.Fatalf("resent key: first %+v, then %+v %v", r1, r2, err)
	}
	if r2.Adds()[0].Data.Child(wbxml.Email, "Flag").ChildText(wbxml.Email, "FlagStatus") != "2" {
		t.Errorf("flagged upstream, not flagged on the device: %s", r2.Adds()[0].Data.XML())
	}
	key = r2.SyncKey
	// Delete from the device: moved to Trash upstream.
	r, err = dev.Sync(ctx, inbox.ServerID, key, client.SyncOptions{Commands: client.DeleteItem(id)})
	if err != nil || r.Status != "1" {
		t.Fatalf("delete: %v %+v", err, r)
	}
	if n := len(upstreamFlags(t, up, "Trash")); n != 1 {
		t.Fatalf("Trash holds %d messages after the device deleted one, want 1", n)
	}
	// Move from the device.
	mv := wbxml.New(wbxml.Move, "MoveItems")
	m := mv.Add(wbxml.Move, "Move")
	m.AddText(wbxml.Move, "SrcMsgId", r2.Adds()[0].ServerID)
	m.AddText(wbxml.Move, "SrcFldId", inbox.ServerID)
	m.AddText(wbxml.Move, "DstFldId", trash.ServerID)
	mr, err := dev.Do(ctx, "MoveItems", mv)
	if err != nil || mr.Doc.Child(wbxml.Move, "Response").ChildText(wbxml.Move, "Status") != "3" {
		t.Fatalf("MoveItems: %v %v", err, mr)
	}
	if n := len(upstreamFlags(t, up, "Trash")); n != 2 {
		t.Fatalf("Trash holds %d messages after the move, want 2", n)
	}
}

// checkAttachment fetches an attachment the way the version does and
// compares its bytes.
func checkAttachment(t *testing.T, dev *client.Client, ver, ref string) {
	t.Helper()
	ctx := context.Background()
	var got []byte
	if ver == "12.1" {
		r, err := dev.DoRaw(ctx, "GetAttachment", client.Params{AttachmentName: ref}, nil, "")
		if err != nil {
			t.Fatalf("GetAttachment %s: %v", ref, err)
		}
		got = r.Body
	} else {
		req := wbxml.New(wbxml.ItemOperations, "ItemOperations")
		f := req.Add(wbxml.ItemOperations, "Fetch")
		f.AddText(wbxml.ItemOperations, "Store", "Mailbox")
		f.AddText(wbxml.AirSyncBase, "FileReference", ref)
		r, err := dev.Do(ctx, "ItemOperations", req)
		if err != nil {
			t.Fatalf("ItemOperations Fetch %s: %v", ref, err)
		}
		fetch := r.Doc.Child(wbxml.ItemOperations, "Response").Child(wbxml.ItemOperations, "Fetch")
		if fetch.ChildText(wbxml.ItemOperations, "Status") != "1" {
			t.Fatalf("fetch status: %s", r.Doc.XML())
		}
		got, err = base64.StdEncoding.DecodeString(fetch.Child(wbxml.ItemOperations, "Properties").ChildText(wbxml.ItemOperations, "Data"))
		if err != nil {
			t.Fatal(err)
		}
	}
	if sha256.Sum256(got) != sha256.Sum256(attachmentBytes) {
		t.Fatalf("attachment %s: %d bytes, not the original %d", ref, len(got), len(attachmentBytes))
	}
}

// upstreamFlags lists the flags of every message of a mailbox, as another
// IMAP client sees them.
func upstreamFlags(t *testing.T, s *imap.Session, mailbox string) [][]string {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Select(ctx, mailbox, true); err != nil {
		t.Fatal(err)
	}
	uids, err := s.SearchUIDs(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(uids) == 0 {
		return nil
	}
	infos, err := s.FetchFlags(ctx, imap.UIDs(uids...), 0)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for _, in := range infos {
		out = append(out, in.Flags)
	}
	return out
}

// TestResyncStartsOver: what `idlebridge devices resync` does (reset the
// device's collection in the store) makes the device's next Sync answer
// status 3, and the device starts over from key 0 without duplicates.
func TestResyncStartsOver(t *testing.T) {
	ctx := context.Background()
	e := bridgetest.Start(t, bridgetest.Options{})
	appendMail(t, e, "one")
	dev, inbox, key := inboxReady(t, e, "phone")
	if err := e.Store.ResetCollection(ctx, e.User, "phone", inbox); err != nil {
		t.Fatal(err)
	}
	r, err := dev.Sync(ctx, inbox, key, client.SyncOptions{})
	if err != nil || r.Status != "3" {
		t.Fatalf("Sync after a resync: %v %+v, want status 3", err, r)
	}
	items, _, err := dev.SyncAll(ctx, inbox, client.SyncOptions{})
	if err != nil || len(items) != 1 {
		t.Fatalf("starting over: %v, %d items, want 1", err, len(items))
	}
}

// TestMailCorpusThroughDovecot stores the hand-written corpus of
// bridge/mailconv (ISO-2022-JP, Windows-1252, broken headers, garbage…)
// in Dovecot and syncs it through the front: every message arrives as an
// item, decoded where it can be, and none stalls the folder.
func TestMailCorpusThroughDovecot(t *testing.T) {
	ctx := context.Background()
	e := bridgetest.Start(t, bridgetest.Options{})
	up := e.IMAP(t)
	files, err := filepath.Glob("mailconv/testdata/*.eml")
	if err != nil || len(files) < 10 {
		t.Fatalf("corpus: %v %v", files, err)
	}
	stored := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		raw = bytes.ReplaceAll(bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n"))
		if _, err := up.Append(ctx, "INBOX", nil, time.Now(), bytes.NewReader(raw), int64(len(raw))); err != nil {
			t.Logf("Dovecot refused %s: %v", filepath.Base(f), err)
			continue
		}
		stored++
	}
	dev := e.Device(t, "phone", "16.1")
	fs, err := dev.FolderSync(ctx, "0")
	if err != nil {
		t.Fatal(err)
	}
	inbox, _ := client.FolderByType(fs.Add, 2)
	items, _, err := dev.SyncAll(ctx, inbox.ServerID, client.SyncOptions{BodyType: 1, WindowSize: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != stored {
		t.Fatalf("%d items for %d stored messages", len(items), stored)
	}
	want := map[string]string{"会議の件": "", "Café": ""}
	for _, d := range items {
		subj := d.ChildText(wbxml.Email, "Subject")
		body := d.Child(wbxml.AirSyncBase, "Body").ChildText(wbxml.AirSyncBase, "Data")
		for w := range want {
			if strings.Contains(subj, w) || strings.Contains(body, w) {
				want[w] = subj
			}
		}
	}
	for w, subj := range want {
		if subj == "" {
			t.Errorf("no item carries %q decoded", w)
		}
	}
}

// TestStaleFolderSyncKeyDoesNotLoop: a client that keeps resending a stale
// FolderSync key after status 9 (some Android mail apps do) gets 9 a few
// times, then the whole hierarchy under a fresh key instead of 9 forever.
func TestStaleFolderSyncKeyDoesNotLoop(t *testing.T) {
	ctx := context.Background()
	e := bridgetest.Start(t, bridgetest.Options{})
	dev := e.Device(t, "android", "14.1")
	first, err := dev.FolderSync(ctx, "0")
	if err != nil || first.Status != "1" {
		t.Fatalf("FolderSync 0: %v %+v", err, first)
	}
	var statuses []string
	var last *client.FolderChanges
	for range 4 {
		last, err = dev.FolderSync(ctx, "17")
		if err != nil {
			t.Fatal(err)
		}
		statuses = append(statuses, last.Status)
	}
	if !slices.Equal(statuses[:2], []string{"9", "9"}) || last.Status != "1" || len(last.Add) != len(first.Add) || last.SyncKey == "" {
		t.Fatalf("stale key answered %v, last %+v; want 9 a few times, then the whole hierarchy", statuses, last)
	}
	// And the device carries on normally from the new key.
	next, err := dev.FolderSync(ctx, last.SyncKey)
	if err != nil || next.Status != "1" || len(next.Add) != 0 {
		t.Fatalf("after recovery: %v %+v", err, next)
	}
}
