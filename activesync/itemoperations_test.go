package activesync_test

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// attachmentBackend serves one attachment, telling its size or not.
type attachmentBackend struct {
	*fakeBackend
	data     []byte
	tellSize bool
	mu       sync.Mutex
	opens    int
}

func (b *attachmentBackend) FetchItem(ctx context.Context, acct activesync.Account, deviceID, collectionID, serverID string, opts activesync.SyncOptions) (*wbxml.Element, error) {
	return nil, activesync.CommandStatus(6, "no items here")
}

func (b *attachmentBackend) OpenAttachment(ctx context.Context, acct activesync.Account, deviceID, ref string) (string, int64, io.ReadCloser, error) {
	if ref != "1:1:2" {
		return "", 0, nil, activesync.CommandStatus(6, "no such attachment")
	}
	b.mu.Lock()
	b.opens++
	b.mu.Unlock()
	var size int64
	if b.tellSize {
		size = int64(len(b.data))
	}
	return "application/pdf", size, io.NopCloser(bytes.NewReader(b.data)), nil
}

func (b *attachmentBackend) EmptyFolder(ctx context.Context, acct activesync.Account, deviceID, collectionID string, sub bool) error {
	return nil
}

// A multipart answer must state each part's length before its data, so an
// attachment whose size the Backend cannot tell is counted first (opened
// twice); one whose size it tells is opened once. A missing attachment is
// a Fetch status beside the served one.
func TestMultipartAttachmentSize(t *testing.T) {
	for _, tell := range []bool{true, false} {
		be := &attachmentBackend{fakeBackend: newFakeBackend(), data: bytes.Repeat([]byte("%PDF-1.7 \x00\xff"), 5000), tellSize: tell}
		ts := httptest.NewServer((&activesync.Server{Backend: be}).Handler())
		c := &client.Client{BaseURL: ts.URL, User: "alice@example.com", Password: "secret", DeviceID: "mp1", Version: "14.1", AcceptMultiPart: true}
		if _, err := c.Provision(context.Background()); err != nil {
			t.Fatal(err)
		}
		req := wbxml.New(wbxml.ItemOperations, "ItemOperations")
		for _, ref := range []string{"9:9:9", "1:1:2"} {
			f := req.Add(wbxml.ItemOperations, "Fetch")
			f.AddText(wbxml.ItemOperations, "Store", "Mailbox")
			f.AddText(wbxml.AirSyncBase, "FileReference", ref)
		}
		r, err := c.Do(context.Background(), "ItemOperations", req)
		ts.Close()
		if err != nil {
			t.Fatal(err)
		}
		fetches := r.Doc.Child(wbxml.ItemOperations, "Response").All(wbxml.ItemOperations, "Fetch")
		if len(fetches) != 2 || fetches[0].ChildText(wbxml.ItemOperations, "Status") != "6" || len(r.Parts) != 2 {
			t.Fatalf("size told %v: %d parts, %s", tell, len(r.Parts), r.Doc.XML())
		}
		props := fetches[1].Child(wbxml.ItemOperations, "Properties")
		if props.ChildText(wbxml.ItemOperations, "Part") != "1" || !bytes.Equal(r.Parts[1], be.data) ||
			!strings.Contains(props.ChildText(wbxml.AirSyncBase, "ContentType"), "pdf") {
			t.Errorf("size told %v: part %q of %d bytes, want %d", tell, props.ChildText(wbxml.ItemOperations, "Part"), len(r.Parts[1]), len(be.data))
		}
		if want := map[bool]int{true: 1, false: 2}[tell]; be.opens != want {
			t.Errorf("size told %v: opened %d times, want %d", tell, be.opens, want)
		}
	}
}
