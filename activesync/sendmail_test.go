package activesync_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// recordingSender records what the front hands the Backend and fails on
// request.
type recordingSender struct {
	*fakeBackend
	mu   sync.Mutex
	got  []activesync.OutgoingMail
	fail error
}

func (r *recordingSender) Send(ctx context.Context, acct activesync.Account, deviceID string, m *activesync.OutgoingMail) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, *m)
	return r.fail
}

func (r *recordingSender) last(t *testing.T) activesync.OutgoingMail {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.got) == 0 {
		t.Fatal("Send was not called")
	}
	m := r.got[len(r.got)-1]
	r.got = nil
	return m
}

func newSendHarness(t *testing.T, version string) (*recordingSender, *client.Client) {
	t.Helper()
	rs := &recordingSender{fakeBackend: newFakeBackend()}
	s := &activesync.Server{Backend: rs, PublicURL: "https://mail.example.com", MaxRequestBytes: 1 << 20}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	c := &client.Client{BaseURL: ts.URL, User: "alice@example.com", Password: "secret", DeviceID: "dev1", Version: version}
	if _, err := c.Provision(context.Background()); err != nil {
		t.Fatal(err)
	}
	return rs, c
}

const sendMIME = "From: alice@example.com\r\nTo: bob@example.com\r\nSubject: hi\r\n\r\nbody \xc3\xa4\r\n"

func TestSendMail14(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		cmd  string
		req  func() *wbxml.Element
		want activesync.OutgoingMail
	}{
		{"SendMail", "SendMail", func() *wbxml.Element {
			r := wbxml.New(wbxml.ComposeMail, "SendMail")
			r.AddText(wbxml.ComposeMail, "ClientId", "c-1")
			r.Add(wbxml.ComposeMail, "SaveInSentItems")
			r.AddOpaque(wbxml.ComposeMail, "Mime", []byte(sendMIME))
			return r
		}, activesync.OutgoingMail{Kind: "SendMail", ClientID: "c-1", SaveInSent: true, MIME: []byte(sendMIME)}},
		{"SmartReply", "SmartReply", func() *wbxml.Element {
			r := wbxml.New(wbxml.ComposeMail, "SmartReply")
			r.AddText(wbxml.ComposeMail, "ClientId", "c-2")
			src := r.Add(wbxml.ComposeMail, "Source")
			src.AddText(wbxml.ComposeMail, "FolderId", "3")
			src.AddText(wbxml.ComposeMail, "ItemId", "3:17")
			r.AddOpaque(wbxml.ComposeMail, "Mime", []byte(sendMIME))
			return r
		}, activesync.OutgoingMail{Kind: "SmartReply", ClientID: "c-2", SourceFolderID: "3", SourceItemID: "3:17", MIME: []byte(sendMIME)}},
		{"SmartForward ReplaceMime text Mime", "SmartForward", func() *wbxml.Element {
			r := wbxml.New(wbxml.ComposeMail, "SmartForward")
			r.AddText(wbxml.ComposeMail, "ClientId", "c-3")
			r.Add(wbxml.ComposeMail, "SaveInSentItems")
			r.Add(wbxml.ComposeMail, "ReplaceMime")
			src := r.Add(wbxml.ComposeMail, "Source")
			src.AddText(wbxml.ComposeMail, "LongId", "RgAAAA")
			src.AddText(wbxml.ComposeMail, "InstanceId", "2026-01-01T00:00:00.000Z")
			r.AddText(wbxml.ComposeMail, "Mime", sendMIME)
			return r
		}, activesync.OutgoingMail{Kind: "SmartForward", ClientID: "c-3", SaveInSent: true, ReplaceMime: true,
			SourceLongID: "RgAAAA", SourceInstanceID: "2026-01-01T00:00:00.000Z", MIME: []byte(sendMIME)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, c := newSendHarness(t, "14.1")
			res, err := c.Do(ctx, tt.cmd, tt.req())
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Body) != 0 {
				t.Errorf("success answered with a %d-byte body", len(res.Body))
			}
			got := rs.last(t)
			if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", tt.want) {
				t.Errorf("Send got\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestSendMail12Raw(t *testing.T) {
	ctx := context.Background()
	rs, c := newSendHarness(t, "12.1")
	res, err := c.DoRaw(ctx, "SmartForward", client.Params{SaveInSent: true, ItemID: "3:17", CollectionID: "3"}, []byte(sendMIME), "message/rfc822")
	if err != nil {
		t.Fatal(err)
	}
	if res.HTTPStatus != 200 || len(res.Body) != 0 {
		t.Errorf("answer %d with %d bytes", res.HTTPStatus, len(res.Body))
	}
	got := rs.last(t)
	want := activesync.OutgoingMail{Kind: "SmartForward", SaveInSent: true, SourceFolderID: "3", SourceItemID: "3:17", MIME: []byte(sendMIME)}
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
		t.Errorf("Send got\n%+v\nwant\n%+v", got, want)
	}
}

func TestSendMailFailures(t *testing.T) {
	ctx := context.Background()
	sendReq := func(root string, withMime, withSource bool) *wbxml.Element {
		r := wbxml.New(wbxml.ComposeMail, root)
		r.AddText(wbxml.ComposeMail, "ClientId", "c-9")
		if withSource {
			src := r.Add(wbxml.ComposeMail, "Source")
			src.AddText(wbxml.ComposeMail, "ItemId", "3:17")
		}
		if withMime {
			r.AddOpaque(wbxml.ComposeMail, "Mime", []byte(sendMIME))
		}
		return r
	}
	tests := []struct {
		name       string
		version    string
		cmd        string
		req        *wbxml.Element // nil: raw MIME
		fail       error
		wantHTTP   int
		wantStatus string
	}{
		{"recipient unresolved 14", "14.1", "SendMail", sendReq("SendMail", true, false), activesync.CommandStatus(116, "refused"), 200, "116"},
		{"reply failed 16", "16.1", "SmartReply", sendReq("SmartReply", true, true), activesync.CommandStatus(150, "gone"), 200, "150"},
		{"no mime 14", "14.1", "SendMail", sendReq("SendMail", false, false), nil, 200, "101"},
		{"reply without source", "14.1", "SmartReply", sendReq("SmartReply", true, false), nil, 200, "101"},
		{"submission failed 12", "12.1", "SendMail", nil, activesync.CommandStatus(120, "failed"), 500, ""},
		// What is wrong with the message is the client's to fix: 4xx, never
		// a 500 that a 12.x client retries forever.
		{"no recipients 12", "12.1", "SendMail", nil, activesync.CommandStatus(119, "no recipients"), 400, ""},
		{"unreadable 12", "12.1", "SendMail", nil, activesync.CommandStatus(101, "unreadable"), 400, ""},
		{"recipient unresolved 12", "12.1", "SendMail", nil, activesync.CommandStatus(116, "refused"), 400, ""},
		{"too large 12", "12.1", "SendMail", nil, activesync.CommandStatus(122, "too large"), 413, ""},
		{"outage 14", "14.1", "SendMail", sendReq("SendMail", true, false), fmt.Errorf("%w: smtp down", activesync.ErrUnavailable), 503, ""},
		{"outage 12", "12.1", "SendMail", nil, fmt.Errorf("%w: smtp down", activesync.ErrUnavailable), 503, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, c := newSendHarness(t, tt.version)
			rs.fail = tt.fail
			var res *client.Response
			var err error
			if tt.req != nil {
				res, err = c.Do(ctx, tt.cmd, tt.req)
			} else {
				res, err = c.DoRaw(ctx, tt.cmd, client.Params{SaveInSent: true}, []byte(sendMIME), "message/rfc822")
			}
			if tt.wantHTTP != 200 {
				if httpCode(err) != tt.wantHTTP {
					t.Fatalf("err = %v, want HTTP %d", err, tt.wantHTTP)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !res.Doc.Is(wbxml.ComposeMail, tt.cmd) || res.Status() != tt.wantStatus {
				t.Errorf("answer %v, want <%s><Status>%s", res.Doc.XML(), tt.cmd, tt.wantStatus)
			}
		})
	}
}
