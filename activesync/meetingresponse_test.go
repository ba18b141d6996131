package activesync_test

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// meetingBackend records the answers it is given and accepts each with a
// CalendarId derived from its RequestId or LongId.
type meetingBackend struct {
	*fakeBackend
	mu   sync.Mutex
	got  []activesync.MeetingAnswer
	vers []activesync.Version
}

func (b *meetingBackend) MeetingResponse(ctx context.Context, acct activesync.Account, deviceID string, ver activesync.Version, answers []activesync.MeetingAnswer) ([]activesync.MeetingResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.got = append(b.got, answers...)
	b.vers = append(b.vers, ver)
	var out []activesync.MeetingResult
	for _, a := range answers {
		if a.RequestID == "9:404" {
			out = append(out, activesync.MeetingResult{Status: activesync.MeetingRespStatusInvalidRequest})
			continue
		}
		id := "cal:" + a.RequestID + a.LongID
		if a.UserResponse == activesync.MeetingDecline {
			id = "" // a declined meeting has no calendar item
		}
		out = append(out, activesync.MeetingResult{Status: activesync.MeetingRespStatusOK, CalendarID: id})
	}
	return out, nil
}

func meetingRequest(resp, coll, req, longID, instance string, send bool) *wbxml.Element {
	r := wbxml.New(wbxml.MeetingResponse, "Request")
	r.AddText(wbxml.MeetingResponse, "UserResponse", resp)
	if coll != "" {
		r.AddText(wbxml.MeetingResponse, "CollectionId", coll)
	}
	if req != "" {
		r.AddText(wbxml.MeetingResponse, "RequestId", req)
	}
	if longID != "" {
		r.AddText(wbxml.Search, "LongId", longID)
	}
	if instance != "" {
		r.AddText(wbxml.MeetingResponse, "InstanceId", instance)
	}
	if send {
		sr := r.Add(wbxml.MeetingResponse, "SendResponse")
		b := sr.Add(wbxml.AirSyncBase, "Body")
		b.AddText(wbxml.AirSyncBase, "Type", "1")
		b.AddText(wbxml.AirSyncBase, "Data", "See you there")
		sr.AddText(wbxml.MeetingResponse, "ProposedStartTime", "20261215T150000Z")
	}
	return r
}

func TestMeetingResponseFront(t *testing.T) {
	be := &meetingBackend{fakeBackend: newFakeBackend()}
	ts := httptest.NewServer((&activesync.Server{Backend: be}).Handler())
	defer ts.Close()
	ctx := context.Background()
	c := &client.Client{BaseURL: ts.URL, User: "alice@example.com", Password: "secret", DeviceID: "mr1", Version: "16.1"}
	if _, err := c.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	req := wbxml.New(wbxml.MeetingResponse, "MeetingResponse")
	req.Append(
		meetingRequest("1", "5", "5:10", "", "", false),                          // accept from the Inbox
		meetingRequest("2", "", "", "RgAAAAD", "2026-12-14T09:00:00.000Z", true), // tentative, by LongId, one instance, SendResponse
		meetingRequest("3", "7", "7:3", "", "", false),                           // decline from the calendar
		meetingRequest("4", "5", "5:11", "", "", false),                          // no such UserResponse
		meetingRequest("1", "5", "", "", "", false),                              // no RequestId
		meetingRequest("1", "5", "5:12", "", "not a date", false),                // bad InstanceId
		meetingRequest("1", "5", "5:13", "LONG", "", false),                      // both ID forms
		meetingRequest("1", "9", "9:404", "", "", false),                         // the Backend refuses it
	)
	r, err := c.Do(ctx, "MeetingResponse", req)
	if err != nil {
		t.Fatal(err)
	}
	results := r.Doc.All(wbxml.MeetingResponse, "Result")
	want := []struct{ reqID, status, calID string }{
		{"5:10", "1", "cal:5:10"}, {"", "1", "cal:RgAAAAD"}, {"7:3", "1", ""}, {"5:11", "2", ""},
		{"", "2", ""}, {"5:12", "104", ""}, {"", "105", ""}, {"9:404", "2", ""},
	}
	if len(results) != len(want) {
		t.Fatalf("%d results, want %d: %s", len(results), len(want), r.Doc.XML())
	}
	for i, w := range want {
		res := results[i]
		if g := res.ChildText(wbxml.MeetingResponse, "RequestId"); g != w.reqID {
			t.Errorf("result %d: RequestId %q, want %q", i, g, w.reqID)
		}
		if g := res.ChildText(wbxml.MeetingResponse, "Status"); g != w.status {
			t.Errorf("result %d: Status %q, want %q", i, g, w.status)
		}
		if g := res.ChildText(wbxml.MeetingResponse, "CalendarId"); g != w.calID {
			t.Errorf("result %d: CalendarId %q, want %q", i, g, w.calID)
		}
	}
	if g := results[1].ChildText(wbxml.MeetingResponse, "InstanceId"); g != "2026-12-14T09:00:00.000Z" {
		t.Errorf("the one-occurrence answer's Result names InstanceId %q", g)
	}
	if results[0].Has(wbxml.MeetingResponse, "InstanceId") {
		t.Error("a whole-series answer's Result has an InstanceId")
	}
	// Only the servable Requests reached the Backend, decoded.
	if len(be.got) != 4 || be.vers[0] != 161 {
		t.Fatalf("backend got %d answers at %v: %+v", len(be.got), be.vers, be.got)
	}
	tent := be.got[1]
	if tent.UserResponse != activesync.MeetingTentative || tent.LongID != "RgAAAAD" || tent.InstanceID == nil ||
		!tent.InstanceID.Equal(time.Date(2026, 12, 14, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("tentative answer decoded as %+v", tent)
	}
	if sr := tent.SendResponse; sr == nil || sr.Body != "See you there" || sr.BodyType != 1 || sr.ProposedStart == nil {
		t.Errorf("SendResponse decoded as %+v", sr)
	}
	if be.got[0].SendResponse != nil {
		t.Error("an answer without SendResponse asks the server to send")
	}
}

// Before 14.1 an InstanceId is not defined (status 2), and a 14.1
// SendResponse is ignored: at ≤ 14.1 the device sends its own reply.
func TestMeetingResponseVersionRules(t *testing.T) {
	be := &meetingBackend{fakeBackend: newFakeBackend()}
	ts := httptest.NewServer((&activesync.Server{Backend: be}).Handler())
	defer ts.Close()
	ctx := context.Background()
	for _, tc := range []struct{ ver, status string }{{"14.0", "2"}, {"14.1", "1"}} {
		c := &client.Client{BaseURL: ts.URL, User: "alice@example.com", Password: "secret", DeviceID: "mrv" + tc.ver, Version: tc.ver}
		if _, err := c.Provision(ctx); err != nil {
			t.Fatal(err)
		}
		req := wbxml.New(wbxml.MeetingResponse, "MeetingResponse")
		req.Append(meetingRequest("1", "5", "5:10", "", "2026-12-14T09:00:00.000Z", true))
		r, err := c.Do(ctx, "MeetingResponse", req)
		if err != nil {
			t.Fatal(err)
		}
		if g := r.Doc.Child(wbxml.MeetingResponse, "Result").ChildText(wbxml.MeetingResponse, "Status"); g != tc.status {
			t.Errorf("%s: status %s, want %s", tc.ver, g, tc.status)
		}
	}
	if len(be.got) != 1 || be.got[0].SendResponse != nil {
		t.Errorf("14.1 answer: %+v, want one without SendResponse", be.got)
	}
}
