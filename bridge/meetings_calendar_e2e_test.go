package bridge_test

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/activesync/items"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/bridge/imip"
	"github.com/idlebridge/idlebridge/internal/testenv"
)

// TestMeetingResponseIntoTheCalendar is issue 15's check with the real
// calendar source: an iMIP REQUEST appended to the Inbox is accepted at
// 16.1 with SendResponse; exactly one event with PARTSTAT=ACCEPTED is on
// Radicale, the next calendar Sync shows exactly one item under the
// returned CalendarId, and one REPLY is on the SMTP sink. Then the user
// declines from the calendar folder (as iOS and Outlook do): the same
// event becomes DECLINED, still one object, no second reply without
// SendResponse.
func TestMeetingResponseIntoTheCalendar(t *testing.T) {
	forEngines(t, meetingResponseIntoTheCalendar)
}

func meetingResponseIntoTheCalendar(t *testing.T, redis bool) {
	_, maildir := testenv.SMTP(t)
	c := startCalendar(t, 300*time.Millisecond, redis)
	ctx := context.Background()
	raw, err := os.ReadFile("mailconv/testdata/imip/outlook_request.eml")
	if err != nil {
		t.Fatal(err)
	}
	raw = bytes.ReplaceAll(raw, []byte("alice@example.com"), []byte(c.User))
	up := c.IMAP(t)
	if _, err := up.Append(ctx, "INBOX", nil, time.Now(), bytes.NewReader(raw), int64(len(raw))); err != nil {
		t.Fatal(err)
	}
	const uid = "040000008200E00074C5B7101A82E00800000000D0C4A3B2E5C9DC01000000000000000010000000A1B2C3D4E5F60718293A4B5C6D7E8F90"
	marker := []byte("X-MailFrom: " + c.User)

	dev := c.Device(t, "mrcal", "16.1")
	fs, err := dev.FolderSync(ctx, "0")
	if err != nil {
		t.Fatal(err)
	}
	inbox, _ := client.FolderByType(fs.Add, 2)
	calF, ok := client.FolderByType(fs.Add, 8)
	if !ok {
		t.Fatalf("no calendar folder: %+v", fs.Add)
	}
	// The device holds the calendar (empty) before it answers.
	before, calKey, err := dev.SyncAll(ctx, calF.ServerID, client.SyncOptions{Class: "Calendar"})
	if err != nil || len(before) != 0 {
		t.Fatalf("calendar before: %v, %d items", err, len(before))
	}
	mails, _, err := dev.SyncAll(ctx, inbox.ServerID, client.SyncOptions{Class: "Email"})
	if err != nil || len(mails) != 1 {
		t.Fatalf("Inbox: %v, %d items", err, len(mails))
	}
	var mailID string
	for mailID = range mails {
	}
	respond := func(coll, id, response string, send bool) *wbxml.Element {
		t.Helper()
		req := wbxml.New(wbxml.MeetingResponse, "MeetingResponse")
		r := req.Add(wbxml.MeetingResponse, "Request")
		r.AddText(wbxml.MeetingResponse, "UserResponse", response)
		r.AddText(wbxml.MeetingResponse, "CollectionId", coll)
		r.AddText(wbxml.MeetingResponse, "RequestId", id)
		if send {
			r.Add(wbxml.MeetingResponse, "SendResponse") // empty: a reply without a note
		}
		resp, err := dev.Do(ctx, "MeetingResponse", req)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Doc.Child(wbxml.MeetingResponse, "Result")
	}
	res := respond(inbox.ServerID, mailID, "1", true)
	calID := res.ChildText(wbxml.MeetingResponse, "CalendarId")
	if res.ChildText(wbxml.MeetingResponse, "Status") != "1" || calID == "" {
		t.Fatalf("accept: %s", res.XML())
	}
	if n := c.count(t); n != 1 {
		t.Fatalf("%d objects on Radicale after the accept, want 1", n)
	}
	// The next calendar Sync shows the event once, under CalendarId.
	r, err := dev.Sync(ctx, calF.ServerID, calKey, client.SyncOptions{Class: "Calendar"})
	if err != nil || r.Status != "1" {
		t.Fatalf("calendar Sync: %v %+v", err, r)
	}
	adds := r.Adds()
	if len(adds) != 1 || adds[0].ServerID != calID || len(r.Items) != 1 {
		var ids []string
		for _, a := range r.Items {
			ids = append(ids, a.ServerID)
		}
		t.Fatalf("calendar Sync adds %v, want exactly [%s]", ids, calID)
	}
	ev, err := items.DecodeCalendar(adds[0].Data, items.V161)
	if err != nil {
		t.Fatal(err)
	}
	if ev.UID == nil || *ev.UID != uid || ev.Subject == nil || *ev.Subject != "Quarterly planning" {
		t.Errorf("the event: UID %v subject %v", ev.UID, ev.Subject)
	}
	var own []int
	for _, a := range ev.Attendees {
		if strings.EqualFold(a.Email, c.User) && a.Status != nil {
			own = append(own, *a.Status)
		}
	}
	if !slices.Equal(own, []int{items.AttendeeAccepted}) {
		t.Errorf("the user's AttendeeStatus %v, want accepted", own)
	}
	replies := sinkMessages(t, maildir, marker)
	if len(replies) != 1 || !bytes.Contains(replies[0], []byte("X-RcptTo: bob@example.com")) {
		t.Fatalf("%d replies on the sink, want one to the organizer", len(replies))
	}

	// Declined from the calendar folder, no reply asked: the same object.
	res = respond(calF.ServerID, calID, "3", false)
	if res.ChildText(wbxml.MeetingResponse, "Status") != "1" || res.Has(wbxml.MeetingResponse, "CalendarId") {
		t.Fatalf("decline from the calendar: %s", res.XML())
	}
	if n := c.count(t); n != 1 {
		t.Errorf("%d objects after the decline, want still 1", n)
	}
	list, _, err := c.laptop.List(ctx, c.coll)
	if err != nil {
		t.Fatal(err)
	}
	for href := range list {
		obj, _ := c.get(t, href)
		m, err := imip.Parse(obj.Data, imip.Options{Version: items.V161, Method: imip.MethodRequest})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, a := range m.Event.Attendees {
			found = found || strings.EqualFold(a.Email, c.User) && a.Status != nil && *a.Status == items.AttendeeDeclined
		}
		if !found || bytes.Contains(obj.Data, []byte("METHOD:")) {
			t.Errorf("stored after the decline:\n%s", obj.Data)
		}
	}
	if n := len(sinkMessages(t, maildir, marker)); n != 1 {
		t.Errorf("%d replies after a decline without SendResponse, want 1", n)
	}

	// The organizer cancels: the Inbox Sync that delivers the CANCEL marks
	// the event cancelled, and the calendar Sync shows it so (MeetingStatus
	// 7: a received meeting, cancelled), still one item.
	cancelMsg := "From: Bob Organizer <bob@example.com>\r\nTo: " + c.User + "\r\nSubject: Canceled: Quarterly planning\r\n" +
		"Date: Wed, 2 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/calendar; charset=utf-8; method=CANCEL\r\n\r\n" +
		"BEGIN:VCALENDAR\r\nMETHOD:CANCEL\r\nPRODID:Microsoft Exchange Server 2010\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\n" +
		"ORGANIZER;CN=Bob Organizer:mailto:bob@example.com\r\nATTENDEE;CN=Alice:mailto:" + c.User + "\r\nUID:" + uid + "\r\n" +
		"SUMMARY:Canceled: Quarterly planning\r\nDTSTART:20261210T130000Z\r\nDTEND:20261210T143000Z\r\nDTSTAMP:20261202T100000Z\r\n" +
		"SEQUENCE:1\r\nSTATUS:CANCELLED\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	if _, err := up.Append(ctx, "INBOX", nil, time.Now(), strings.NewReader(cancelMsg), int64(len(cancelMsg))); err != nil {
		t.Fatal(err)
	}
	mails, _, err = dev.SyncAll(ctx, inbox.ServerID, client.SyncOptions{Class: "Email"})
	if err != nil || len(mails) != 2 {
		t.Fatalf("Inbox with the CANCEL: %v, %d items", err, len(mails))
	}
	if n := c.count(t); n != 1 {
		t.Errorf("%d objects after the CANCEL, want 1", n)
	}
	for href := range list {
		obj, _ := c.get(t, href)
		if !bytes.Contains(obj.Data, []byte("STATUS:CANCELLED")) {
			t.Errorf("the CANCEL did not reach the calendar:\n%s", obj.Data)
		}
	}
	got, _, err := dev.SyncAll(ctx, calF.ServerID, client.SyncOptions{Class: "Calendar"})
	if err != nil || len(got) != 1 || got[calID] == nil {
		t.Fatalf("calendar after the CANCEL: %v, %d items (want only %s)", err, len(got), calID)
	}
	ev, err = items.DecodeCalendar(got[calID], items.V161)
	if err != nil || ev.MeetingStatus == nil || *ev.MeetingStatus != 7 {
		t.Errorf("cancelled meeting reads MeetingStatus %v (%v), want 7", ev.MeetingStatus, err)
	}
}
