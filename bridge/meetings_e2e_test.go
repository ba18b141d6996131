package bridge_test

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/bridge"
	"github.com/idlebridge/idlebridge/bridge/calconv"
	"github.com/idlebridge/idlebridge/bridge/imip"
	"github.com/idlebridge/idlebridge/internal/bridgetest"
	"github.com/idlebridge/idlebridge/internal/testenv"
	"github.com/idlebridge/idlebridge/upstream/dav"
)

// davCalendar is a MeetingCalendar over one collection of the test
// Radicale, named by UID: the calendar side of MeetingResponse as the
// test needs it (the calendar source brings the real one with its IDs).
type davCalendar struct {
	cl        *dav.Client
	coll      string
	schedules bool // pretend the server schedules itself (RFC 6638)
	mu        sync.Mutex
	puts      int
}

func (c *davCalendar) href(uid string) string { return c.coll + url.PathEscape(uid) + ".ics" }

func (c *davCalendar) Answer(ctx context.Context, acct *bridge.Account, m *imip.Meeting, a calconv.Answer, _ bridge.AnswerWhere) (string, error) {
	opt := calconv.Options{Zones: calconv.IANAZones{}}
	objs, _, err := c.cl.MultiGet(ctx, c.coll, dav.KindCalendar, []string{c.href(m.UID)})
	if err != nil && !errors.Is(err, dav.ErrNotFound) {
		return "", err
	}
	c.mu.Lock()
	c.puts++
	c.mu.Unlock()
	if len(objs) == 1 {
		data, err := calconv.SetPartStat(objs[0].Data, a, opt)
		if err != nil {
			return "", err
		}
		_, err = c.cl.Update(ctx, objs[0].Href, objs[0].ETag, dav.ContentCalendar, data)
		return "cal:" + m.UID, err
	}
	data, err := calconv.SetPartStat(m.Raw, a, opt)
	if err != nil {
		return "", err
	}
	_, err = c.cl.Create(ctx, c.href(m.UID), dav.ContentCalendar, data)
	return "cal:" + m.UID, err
}

func (c *davCalendar) Invitation(context.Context, *bridge.Account, string, string, activesync.Version) (*imip.Meeting, bool, error) {
	return nil, false, nil
}

func (c *davCalendar) Cancel(context.Context, *bridge.Account, *imip.Meeting) error { return nil }

func (c *davCalendar) SchedulesItself(context.Context, *bridge.Account) bool { return c.schedules }

func (c *davCalendar) stored(t *testing.T, uid string) string {
	t.Helper()
	objs, _, err := c.cl.MultiGet(context.Background(), c.coll, dav.KindCalendar, []string{c.href(uid)})
	if err != nil || len(objs) != 1 {
		t.Fatalf("event %s on Radicale: %v (%d objects)", uid, err, len(objs))
	}
	// Unfolded; the multistatus XML has turned CRLF into LF.
	return strings.ReplaceAll(strings.ReplaceAll(string(objs[0].Data), "\r\n", "\n"), "\n ", "")
}

// partStat returns the PARTSTAT of email's ATTENDEE line in every VEVENT
// of an unfolded object (servers reorder parameters).
func partStat(obj, email string) []string {
	var out []string
	for _, l := range strings.Split(obj, "\n") {
		if !strings.HasPrefix(l, "ATTENDEE") || !strings.HasSuffix(strings.ToLower(l), "mailto:"+strings.ToLower(email)) {
			continue
		}
		ps := ""
		for _, p := range strings.Split(l[:strings.LastIndex(l, ":mailto:")], ";") {
			if v, ok := strings.CutPrefix(p, "PARTSTAT="); ok {
				ps = v
			}
		}
		out = append(out, ps)
	}
	return out
}

// TestMeetingResponseThroughTheFront: an iMIP REQUEST appended to the
// Inbox (Dovecot) is accepted by MeetingResponse through the front; the
// event lands on Radicale with the user's PARTSTAT, and the REPLY reaches
// the SMTP sink exactly once at 16.1 with SendResponse — also when the
// device repeats the request — and never at 14.1, where the device sends
// its own by SendMail.
func TestMeetingResponseThroughTheFront(t *testing.T) {
	_, maildir := testenv.SMTP(t)
	ctx := context.Background()
	e := bridgetest.Start(t, bridgetest.Options{})
	cl, err := dav.New(dav.Config{URL: testenv.DAVURL(t), Username: e.User, Password: "x", Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	coll := "/" + e.User + "/meetings/"
	if err := cl.MakeCalendar(ctx, coll, "Meetings", []string{"VEVENT"}, ""); err != nil {
		t.Fatal(err)
	}
	cal := &davCalendar{cl: cl, coll: coll}
	e.Bridge.Meetings = &bridge.Meetings{Sender: e.Bridge.Sender, Calendar: cal, Log: e.Bridge.Log}

	raw, err := os.ReadFile("mailconv/testdata/imip/google_request.eml")
	if err != nil {
		t.Fatal(err)
	}
	// The invitation is for this test's user.
	raw = bytes.ReplaceAll(raw, []byte("alice@example.com"), []byte(e.User))
	up := e.IMAP(t)
	if _, err := up.Append(ctx, "INBOX", nil, time.Now(), bytes.NewReader(raw), int64(len(raw))); err != nil {
		t.Fatal(err)
	}
	const uid = "5q8r2kd1vd3m0fh4c9mhn1j2ab@google.com"
	marker := []byte("X-MailFrom: " + e.User)

	answer := func(ver string, response string, send bool) *wbxml.Element {
		t.Helper()
		dev := e.Device(t, "mr"+strings.ReplaceAll(ver, ".", ""), ver)
		fs, err := dev.FolderSync(ctx, "0")
		if err != nil {
			t.Fatal(err)
		}
		inbox, _ := client.FolderByType(fs.Add, 2)
		got, _, err := dev.SyncAll(ctx, inbox.ServerID, client.SyncOptions{Class: "Email"})
		if err != nil || len(got) != 1 {
			t.Fatalf("Inbox: %v, %d items", err, len(got))
		}
		var id string
		for id = range got {
		}
		req := wbxml.New(wbxml.MeetingResponse, "MeetingResponse")
		r := req.Add(wbxml.MeetingResponse, "Request")
		r.AddText(wbxml.MeetingResponse, "UserResponse", response)
		r.AddText(wbxml.MeetingResponse, "CollectionId", inbox.ServerID)
		r.AddText(wbxml.MeetingResponse, "RequestId", id)
		if send {
			b := r.Add(wbxml.MeetingResponse, "SendResponse").Add(wbxml.AirSyncBase, "Body")
			b.AddText(wbxml.AirSyncBase, "Type", "1")
			b.AddText(wbxml.AirSyncBase, "Data", "Looking forward")
		}
		resp, err := dev.Do(ctx, "MeetingResponse", req)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Doc.Child(wbxml.MeetingResponse, "Result")
	}

	// 14.1: tentative; the event is stored, no reply is sent by the server.
	res := answer("14.1", "2", true) // a 14.1 SendResponse is not defined: ignored
	if res.ChildText(wbxml.MeetingResponse, "Status") != "1" || res.ChildText(wbxml.MeetingResponse, "CalendarId") != "cal:"+uid {
		t.Fatalf("14.1 result: %s", res.XML())
	}
	if s := cal.stored(t, uid); !slices.Equal(partStat(s, e.User), []string{"TENTATIVE"}) || strings.Contains(s, "METHOD:") {
		t.Errorf("after 14.1 tentative, Radicale holds:\n%s", s)
	}
	if n := len(sinkMessages(t, maildir, marker)); n != 0 {
		t.Fatalf("%d replies sent at 14.1, want none (the device sends its own)", n)
	}

	// 16.1 with SendResponse: accepted, the reply sent once though asked twice.
	for range 2 {
		res = answer("16.1", "1", true)
		if res.ChildText(wbxml.MeetingResponse, "Status") != "1" || res.ChildText(wbxml.MeetingResponse, "CalendarId") != "cal:"+uid {
			t.Fatalf("16.1 result: %s", res.XML())
		}
	}
	s := cal.stored(t, uid)
	if !slices.Equal(partStat(s, e.User), []string{"ACCEPTED"}) || strings.Count(s, "BEGIN:VEVENT") != 1 ||
		!slices.Equal(partStat(s, "dana@example.net"), []string{"ACCEPTED"}) || !strings.Contains(s, "TRIGGER:-PT10M") {
		t.Errorf("after 16.1 accept, Radicale holds:\n%s", s)
	}
	replies := sinkMessages(t, maildir, marker)
	if len(replies) != 1 {
		t.Fatalf("%d replies on the sink, want 1", len(replies))
	}
	if !bytes.Contains(replies[0], []byte("X-RcptTo: dana@example.net")) || !bytes.Contains(replies[0], []byte("method=REPLY")) {
		t.Errorf("reply: %.500s", replies[0])
	}
	// 16.1 decline without SendResponse: no reply, no CalendarId.
	res = answer("16.1", "3", false)
	if res.ChildText(wbxml.MeetingResponse, "Status") != "1" || res.Has(wbxml.MeetingResponse, "CalendarId") {
		t.Errorf("decline result: %s", res.XML())
	}
	if n := len(sinkMessages(t, maildir, marker)); n != 1 {
		t.Errorf("%d replies after a decline without SendResponse, want still 1", n)
	}
	if !slices.Equal(partStat(cal.stored(t, uid), e.User), []string{"DECLINED"}) {
		t.Error("the decline did not reach the calendar")
	}
	// A Search result answered by its LongId (the item's ServerId).
	{
		dev := e.Device(t, "mrlong", "16.1")
		fs, err := dev.FolderSync(ctx, "0")
		if err != nil {
			t.Fatal(err)
		}
		inbox, _ := client.FolderByType(fs.Add, 2)
		got, _, err := dev.SyncAll(ctx, inbox.ServerID, client.SyncOptions{Class: "Email"})
		if err != nil || len(got) != 1 {
			t.Fatalf("Inbox: %v, %d items", err, len(got))
		}
		var id string
		for id = range got {
		}
		req := wbxml.New(wbxml.MeetingResponse, "MeetingResponse")
		r := req.Add(wbxml.MeetingResponse, "Request")
		r.AddText(wbxml.MeetingResponse, "UserResponse", "1")
		r.AddText(wbxml.Search, "LongId", id)
		resp, err := dev.Do(ctx, "MeetingResponse", req)
		if err != nil {
			t.Fatal(err)
		}
		res := resp.Doc.Child(wbxml.MeetingResponse, "Result")
		if res.ChildText(wbxml.MeetingResponse, "Status") != "1" || res.Has(wbxml.MeetingResponse, "RequestId") {
			t.Errorf("answer by LongId: %s", res.XML())
		}
		if !slices.Equal(partStat(cal.stored(t, uid), e.User), []string{"ACCEPTED"}) {
			t.Error("the answer by LongId did not reach the calendar")
		}
	}
	// Where the CalDAV server schedules itself, it sends the REPLY: the
	// bridge sends none, though the device asked (a new answer, so a new key).
	cal.schedules = true
	res = answer("16.1", "2", true)
	if res.ChildText(wbxml.MeetingResponse, "Status") != "1" {
		t.Fatalf("tentative with a scheduling server: %s", res.XML())
	}
	if n := len(sinkMessages(t, maildir, marker)); n != 1 {
		t.Errorf("%d replies with a scheduling CalDAV server, want still 1", n)
	}
}
