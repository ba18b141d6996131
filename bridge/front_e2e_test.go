package bridge_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/internal/bridgetest"
	"github.com/idlebridge/idlebridge/internal/testlog"
)

// A device whose policy key, as the bridge issued it, encodes to a base64
// query with a literal '+' (as iOS sends it, MS-ASHTTP 2.2.1.1.1.1) is
// served, in the raw and the %2B form.
func TestBase64QueryWithPlus(t *testing.T) {
	ctx := context.Background()
	e := bridgetest.Start(t, bridgetest.Options{})
	for i := 0; i < 300; i++ {
		dev := e.Device(t, fmt.Sprintf("plus%d", i), "14.1")
		q, err := client.EncodeBase64Query("14.1", "FolderSync", dev.DeviceID, dev.DeviceType, dev.PolicyKey, e.User, client.Params{})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(q, "+") {
			continue
		}
		dev.Base64Query = true
		fs, err := dev.FolderSync(ctx, "0")
		if err != nil {
			t.Fatalf("FolderSync with policy key %d (query %s): %v", dev.PolicyKey, q, err)
		}
		if fs.Status != "1" || len(fs.Add) == 0 {
			t.Fatalf("FolderSync with policy key %d: status %q, %d folders", dev.PolicyKey, fs.Status, len(fs.Add))
		}
		return
	}
	t.Fatal("no issued policy key gave a '+' in 300 devices")
}

// Every policy element a device is handed is a number, except
// MaxAttachmentSize, whose type alone allows empty (MS-ASPROV 2.2.2.30);
// the body truncation limits are -1, no truncation (2.2.2.34/35): a client
// that reads an empty limit as 0 would show every mail without its body.
func TestProvisionPolicyValues(t *testing.T) {
	e := bridgetest.Start(t, bridgetest.Options{})
	for _, ver := range []string{"12.1", "14.1", "16.1"} {
		dev := &client.Client{BaseURL: e.URL, User: e.User, Password: e.Password, DeviceID: "prov" + strings.ReplaceAll(ver, ".", ""), Version: ver}
		doc, err := dev.Provision(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(doc.Children) == 0 {
			t.Fatalf("%s: empty EASProvisionDoc", ver)
		}
		for _, el := range doc.Children {
			if el.Name == "MaxAttachmentSize" && el.Text == "" {
				continue
			}
			if _, err := strconv.Atoi(el.Text); err != nil {
				t.Errorf("%s: %s = %q, want an integer", ver, el.Name, el.Text)
			}
		}
		for _, name := range []string{"MaxEmailBodyTruncationSize", "MaxEmailHTMLBodyTruncationSize"} {
			if got := doc.ChildText(wbxml.Provision, name); got != "-1" {
				t.Errorf("%s: %s = %q, want -1", ver, name, got)
			}
		}
	}
}

// A conversation Move ("move thread") is answered Status 156, action not
// supported (MS-ASCMD 2.2.3.177.8), with the ConversationId the request
// named (2.2.3.35.1), and moves nothing; the Fetch beside it is served.
func TestItemOperationsConversationMove(t *testing.T) {
	ctx := context.Background()
	e := bridgetest.Start(t, bridgetest.Options{})
	appendMail(t, e, "thread")
	dev := e.Device(t, "mover", "16.1")
	fs, err := dev.FolderSync(ctx, "0")
	if err != nil {
		t.Fatal(err)
	}
	inbox, _ := client.FolderByType(fs.Add, 2)
	trash, _ := client.FolderByType(fs.Add, 4)
	items, _, err := dev.SyncAll(ctx, inbox.ServerID, client.SyncOptions{WindowSize: 50})
	if err != nil || len(items) != 1 {
		t.Fatalf("initial sync: %v, %d items", err, len(items))
	}
	var sid string
	var conv *wbxml.Element
	for id, data := range items {
		sid, conv = id, data.Child(wbxml.Email2, "ConversationId")
	}
	if conv == nil || !conv.IsOpaque || len(conv.Opaque) == 0 {
		t.Fatalf("synced item has no ConversationId: %+v", conv)
	}

	req := wbxml.New(wbxml.ItemOperations, "ItemOperations")
	mv := req.Add(wbxml.ItemOperations, "Move")
	mv.AddOpaque(wbxml.ItemOperations, "ConversationId", conv.Opaque)
	mv.AddText(wbxml.ItemOperations, "DstFldId", trash.ServerID)
	f := req.Add(wbxml.ItemOperations, "Fetch")
	f.AddText(wbxml.ItemOperations, "Store", "Mailbox")
	f.AddText(wbxml.AirSync, "CollectionId", inbox.ServerID)
	f.AddText(wbxml.AirSync, "ServerId", sid)
	r, err := dev.Do(ctx, "ItemOperations", req)
	if err != nil {
		t.Fatal(err)
	}
	resp := r.Doc.Child(wbxml.ItemOperations, "Response")
	m := resp.Child(wbxml.ItemOperations, "Move")
	if r.Status() != "1" || m.ChildText(wbxml.ItemOperations, "Status") != "156" {
		t.Fatalf("ItemOperations status %q, Move status %q, want 1 and 156", r.Status(), m.ChildText(wbxml.ItemOperations, "Status"))
	}
	if got := m.Child(wbxml.ItemOperations, "ConversationId"); got == nil || !bytes.Equal(got.Opaque, conv.Opaque) {
		t.Fatalf("Move answer ConversationId %+v, want %x", got, conv.Opaque)
	}
	if st := resp.Child(wbxml.ItemOperations, "Fetch").ChildText(wbxml.ItemOperations, "Status"); st != "1" {
		t.Errorf("Fetch beside the Move: status %q", st)
	}
	if n, err := e.IMAP(t).Status(ctx, "INBOX"); err != nil || n.Messages != 1 {
		t.Errorf("INBOX after the refused Move: %+v %v, want the message still there", n, err)
	}
}

// A 12.x SendMail whose message cannot be sent as it is (no recipients,
// not a message, a SmartReply to an item that does not exist) answers a
// 4xx, never 500 which makes the device retry it forever, and is logged
// at WARN; 14.x gets the command's Status.
func TestSendMailContentErrors(t *testing.T) {
	ctx := context.Background()
	log, rec := testlog.New()
	e := bridgetest.Start(t, bridgetest.Options{Log: log})
	dev12 := e.Device(t, "send12", "12.1")
	dev14 := e.Device(t, "send14", "14.1")
	for _, tc := range []struct {
		name, cmd string
		p         client.Params
		mime      string
		status    string // 14.1
	}{
		{"no recipients", "SendMail", client.Params{}, "From: " + e.User + "\r\nSubject: none\r\n\r\nhi\r\n", "119"},
		{"garbage", "SendMail", client.Params{}, "\x00\x01\x02 this is not a message \xff\r\n\r\n", ""},
		{"bad address", "SendMail", client.Params{}, "From: " + e.User + "\r\nTo: <<<@@@>>>\r\nSubject: x\r\n\r\nhi\r\n", "116"},
		{"reply to nothing", "SmartReply", client.Params{CollectionID: "999", ItemID: "999:1"}, "From: " + e.User + "\r\nTo: bob@example.test\r\nSubject: re\r\n\r\nhi\r\n", "150"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(rec.Records("request failed"))
			res, err := dev12.DoRaw(ctx, tc.cmd, tc.p, []byte(tc.mime), "message/rfc822")
			he, ok := err.(*client.HTTPError)
			if !ok || he.Code < 400 || he.Code >= 500 {
				t.Fatalf("12.1 %s: %v %v, want a 4xx", tc.cmd, res, err)
			}
			fails := rec.Records("request failed")[before:]
			if len(fails) != 1 || fails[0].Level != slog.LevelWarn {
				t.Errorf("12.1 %s logged %v, want one WARN", tc.cmd, fails)
			}

			req := wbxml.New(wbxml.ComposeMail, tc.cmd)
			req.AddText(wbxml.ComposeMail, "ClientId", "c-"+strings.ReplaceAll(tc.name, " ", "-"))
			if tc.cmd != "SendMail" {
				src := req.Add(wbxml.ComposeMail, "Source")
				src.AddText(wbxml.ComposeMail, "FolderId", tc.p.CollectionID)
				src.AddText(wbxml.ComposeMail, "ItemId", tc.p.ItemID)
			}
			req.AddOpaque(wbxml.ComposeMail, "Mime", []byte(tc.mime))
			r14, err := dev14.Do(ctx, tc.cmd, req)
			if err != nil {
				t.Fatalf("14.1 %s: %v", tc.cmd, err)
			}
			if st := r14.Status(); st == "" || st == "1" || (tc.status != "" && st != tc.status) {
				t.Errorf("14.1 %s: Status %q, want %q", tc.cmd, st, tc.status)
			}
		})
	}
}

// MS-ASAcceptMultiPart: T (MS-ASCMD 2.2.1.10.1): ItemOperations answers
// application/vnd.ms-sync.multipart, the WBXML as part 0 and the fetched
// contents raw in later parts that Part elements name; in the header form
// and in the base64 query's option, for an attachment alone and for an
// item body beside an attachment.
func TestItemOperationsMultiPart(t *testing.T) {
	ctx := context.Background()
	e := bridgetest.Start(t, bridgetest.Options{})
	msg := multipartMessage()
	if _, err := e.IMAP(t).Append(ctx, "INBOX", nil, time.Now(), bytes.NewReader(msg), int64(len(msg))); err != nil {
		t.Fatal(err)
	}
	dev, inbox, _ := inboxReady(t, e, "multipart")
	items, _, err := dev.SyncAll(ctx, inbox, client.SyncOptions{BodyType: 1, Class: "Email"})
	if err != nil || len(items) != 1 {
		t.Fatalf("sync: %v, %d items", err, len(items))
	}
	var sid, ref string
	for id, d := range items {
		sid = id
		ref = d.Child(wbxml.AirSyncBase, "Attachments").Child(wbxml.AirSyncBase, "Attachment").ChildText(wbxml.AirSyncBase, "FileReference")
	}
	attFetch := func(req *wbxml.Element) {
		f := req.Add(wbxml.ItemOperations, "Fetch")
		f.AddText(wbxml.ItemOperations, "Store", "Mailbox")
		f.AddText(wbxml.AirSyncBase, "FileReference", ref)
	}
	part := func(r *client.Response, el *wbxml.Element) []byte {
		t.Helper()
		n, err := strconv.Atoi(el.ChildText(wbxml.ItemOperations, "Part"))
		if err != nil || n < 1 || n >= len(r.Parts) || el.Has(wbxml.ItemOperations, "Data") || el.Has(wbxml.AirSyncBase, "Data") {
			t.Fatalf("no valid Part in %s (%d parts)", el.XML(), len(r.Parts))
		}
		return r.Parts[n]
	}
	for _, base64Form := range []bool{false, true} {
		dev.AcceptMultiPart, dev.Base64Query = true, base64Form
		req := wbxml.New(wbxml.ItemOperations, "ItemOperations")
		attFetch(req)
		r, err := dev.Do(ctx, "ItemOperations", req)
		if err != nil {
			t.Fatal(err)
		}
		if ct := r.Header.Get("Content-Type"); ct != client.ContentTypeMultipart || len(r.Parts) != 2 {
			t.Fatalf("base64 form %v: Content-Type %q, %d parts", base64Form, ct, len(r.Parts))
		}
		fetch := r.Doc.Child(wbxml.ItemOperations, "Response").Child(wbxml.ItemOperations, "Fetch")
		if fetch.ChildText(wbxml.ItemOperations, "Status") != "1" {
			t.Fatalf("fetch: %s", r.Doc.XML())
		}
		if got := part(r, fetch.Child(wbxml.ItemOperations, "Properties")); !bytes.Equal(got, attachmentBytes) {
			t.Fatalf("attachment part: %d bytes, not the original %d", len(got), len(attachmentBytes))
		}
	}

	// The item's body and the attachment in one answer.
	dev.Base64Query = false
	req := wbxml.New(wbxml.ItemOperations, "ItemOperations")
	f := req.Add(wbxml.ItemOperations, "Fetch")
	f.AddText(wbxml.ItemOperations, "Store", "Mailbox")
	f.AddText(wbxml.AirSync, "CollectionId", inbox)
	f.AddText(wbxml.AirSync, "ServerId", sid)
	f.Add(wbxml.ItemOperations, "Options").Add(wbxml.AirSyncBase, "BodyPreference").AddText(wbxml.AirSyncBase, "Type", "1")
	attFetch(req)
	r, err := dev.Do(ctx, "ItemOperations", req)
	if err != nil {
		t.Fatal(err)
	}
	fetches := r.Doc.Child(wbxml.ItemOperations, "Response").All(wbxml.ItemOperations, "Fetch")
	if len(r.Parts) != 3 || len(fetches) != 2 {
		t.Fatalf("%d parts, %d fetches: %s", len(r.Parts), len(fetches), r.Doc.XML())
	}
	body := part(r, fetches[0].Child(wbxml.ItemOperations, "Properties").Child(wbxml.AirSyncBase, "Body"))
	if !strings.Contains(string(body), "Plain body with Umlaut: Grüße") {
		t.Errorf("body part %q", body)
	}
	if got := part(r, fetches[1].Child(wbxml.ItemOperations, "Properties")); !bytes.Equal(got, attachmentBytes) {
		t.Errorf("attachment part beside the body: %d bytes", len(got))
	}
	// The attachment first: it is still the last part, opened after the
	// body's fetch (an open attachment holds an upstream connection).
	rev := wbxml.New(wbxml.ItemOperations, "ItemOperations")
	rev.Children = []*wbxml.Element{req.Children[1], req.Children[0]}
	r, err = dev.Do(ctx, "ItemOperations", rev)
	if err != nil {
		t.Fatal(err)
	}
	fetches = r.Doc.Child(wbxml.ItemOperations, "Response").All(wbxml.ItemOperations, "Fetch")
	if len(r.Parts) != 3 || len(fetches) != 2 || fetches[0].ChildText(wbxml.AirSyncBase, "FileReference") != ref {
		t.Fatalf("attachment first: %d parts: %s", len(r.Parts), r.Doc.XML())
	}
	if got := part(r, fetches[0].Child(wbxml.ItemOperations, "Properties")); !bytes.Equal(got, attachmentBytes) || !bytes.Equal(r.Parts[2], got) {
		t.Errorf("attachment first: attachment part of %d bytes, not the last part", len(got))
	}
	if body := part(r, fetches[1].Child(wbxml.ItemOperations, "Properties").Child(wbxml.AirSyncBase, "Body")); !strings.Contains(string(body), "Plain body") {
		t.Errorf("attachment first: body part %q", body)
	}
	// Without the header the answer stays inline, the attachment streamed
	// as base64 inside the WBXML beside the body.
	dev.AcceptMultiPart = false
	for _, q := range []*wbxml.Element{req, rev} {
		r, err = dev.Do(ctx, "ItemOperations", q)
		if err != nil || r.Parts != nil {
			t.Fatalf("inline answer: %v %v", err, r.Parts)
		}
		var body string
		var att []byte
		for _, f := range r.Doc.Child(wbxml.ItemOperations, "Response").All(wbxml.ItemOperations, "Fetch") {
			props := f.Child(wbxml.ItemOperations, "Properties")
			if f.Has(wbxml.AirSyncBase, "FileReference") {
				att, _ = base64.StdEncoding.DecodeString(props.ChildText(wbxml.ItemOperations, "Data"))
			} else {
				body = props.Child(wbxml.AirSyncBase, "Body").ChildText(wbxml.AirSyncBase, "Data")
			}
		}
		if !strings.Contains(body, "Plain body") || !bytes.Equal(att, attachmentBytes) {
			t.Errorf("inline answer: body %q, attachment of %d bytes", body, len(att))
		}
	}
}
