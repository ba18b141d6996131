package bridge_test

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/internal/bridgetest"
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
