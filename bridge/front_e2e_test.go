package bridge_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"

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
