package bridge_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/activesync/items"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/internal/testenv"
	"github.com/idlebridge/idlebridge/upstream/dav"
)

// TestMeetingOccurrenceInvitationKeepsTheSeries: a 14.1 device accepts a
// recurring invitation (Thunderbird's shape: a weekly series with an
// EXDATE and a moved occurrence) from the Inbox, then the organizer's
// update of one occurrence (Exchange's shape: a REQUEST holding only
// that occurrence, SEQUENCE 2). The calendar keeps one object with the
// series' RRULE and master, the old override and the new one, the user
// ACCEPTED in each; the next calendar Sync shows one item under the
// CalendarId; the bridge sends no reply at 14.1 (the device sends its
// own). Before, the update replaced the series with the one occurrence.
func TestMeetingOccurrenceInvitationKeepsTheSeries(t *testing.T) {
	_, maildir := testenv.SMTP(t)
	c := startCalendar(t, 300*time.Millisecond, false)
	ctx := context.Background()
	up := c.IMAP(t)
	for i, name := range []string{"recurring.ics", "instance.ics"} {
		ics, err := os.ReadFile("imip/testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		ics = bytes.ReplaceAll(bytes.ReplaceAll(ics, []byte("mailt\n o:alice@example.com"), []byte("mailto:"+c.User)), []byte("alice@example.com"), []byte(c.User))
		msg := "From: Erin Lead <erin@example.org>\r\nTo: " + c.User + "\r\nSubject: Team standup " + string(rune('A'+i)) +
			"\r\nDate: Wed, 2 Dec 2026 09:0" + string(rune('0'+i)) + ":00 +0000\r\nMIME-Version: 1.0\r\n" +
			"Content-Type: text/calendar; charset=utf-8; method=REQUEST\r\n\r\n" + strings.ReplaceAll(strings.ReplaceAll(string(ics), "\r\n", "\n"), "\n", "\r\n")
		if _, err := up.Append(ctx, "INBOX", nil, time.Now().Add(time.Duration(i)*time.Minute), strings.NewReader(msg), int64(len(msg))); err != nil {
			t.Fatal(err)
		}
	}
	dev := c.Device(t, "mrocc", "14.1")
	fs, err := dev.FolderSync(ctx, "0")
	if err != nil {
		t.Fatal(err)
	}
	inbox, _ := client.FolderByType(fs.Add, 2)
	calF, _ := client.FolderByType(fs.Add, 8)
	_, calKey, err := dev.SyncAll(ctx, calF.ServerID, client.SyncOptions{Class: "Calendar"})
	if err != nil {
		t.Fatal(err)
	}
	mails, _, err := dev.SyncAll(ctx, inbox.ServerID, client.SyncOptions{Class: "Email"})
	if err != nil || len(mails) != 2 {
		t.Fatalf("Inbox: %v, %d items", err, len(mails))
	}
	bySubject := map[string]string{}
	for id, data := range mails {
		bySubject[data.ChildText(wbxml.Email, "Subject")] = id
	}
	accept := func(id string) string {
		t.Helper()
		req := wbxml.New(wbxml.MeetingResponse, "MeetingResponse")
		r := req.Add(wbxml.MeetingResponse, "Request")
		r.AddText(wbxml.MeetingResponse, "UserResponse", "1")
		r.AddText(wbxml.MeetingResponse, "CollectionId", inbox.ServerID)
		r.AddText(wbxml.MeetingResponse, "RequestId", id)
		resp, err := dev.Do(ctx, "MeetingResponse", req)
		if err != nil {
			t.Fatal(err)
		}
		res := resp.Doc.Child(wbxml.MeetingResponse, "Result")
		if res.ChildText(wbxml.MeetingResponse, "Status") != "1" || res.ChildText(wbxml.MeetingResponse, "CalendarId") == "" {
			t.Fatalf("accept: %s", res.XML())
		}
		return res.ChildText(wbxml.MeetingResponse, "CalendarId")
	}
	calID := accept(bySubject["Team standup A"])
	if again := accept(bySubject["Team standup B"]); again != calID {
		t.Errorf("the occurrence's answer names CalendarId %s, the series' %s", again, calID)
	}
	if n := c.count(t); n != 1 {
		t.Fatalf("%d objects on Radicale, want 1", n)
	}
	list, _, err := c.laptop.List(ctx, c.coll)
	if err != nil {
		t.Fatal(err)
	}
	for href := range list {
		obj, _ := c.get(t, href)
		text := strings.ReplaceAll(strings.ReplaceAll(string(obj.Data), "\r\n", "\n"), "\n ", "")
		for _, want := range []string{"RRULE:FREQ=WEEKLY;COUNT=10;BYDAY=MO", "SUMMARY:Team standup\n", "SUMMARY:Team standup (moved)",
			"RECURRENCE-ID:20261221T140000Z", "SUMMARY:Team standup (longer)"} {
			if !strings.Contains(text, want) {
				t.Errorf("stored series lacks %q:\n%s", want, text)
			}
		}
		if n := strings.Count(text, "BEGIN:VEVENT"); n != 3 {
			t.Errorf("%d VEVENTs, want the master and two overrides:\n%s", n, text)
		}
		if n := strings.Count(strings.ToUpper(text), "PARTSTAT=ACCEPTED;"); n < 3 {
			t.Errorf("the user is ACCEPTED in %d VEVENTs, want 3:\n%s", n, text)
		}
	}
	r, err := dev.Sync(ctx, calF.ServerID, calKey, client.SyncOptions{Class: "Calendar"})
	if err != nil || r.Status != "1" || len(r.Items) != 1 || r.Items[0].ServerID != calID {
		t.Fatalf("calendar Sync: %v %+v, want one item %s", err, r, calID)
	}
	ev, err := items.DecodeCalendar(r.Items[0].Data, items.V141)
	if err != nil || ev.Recurrence == nil || len(ev.Exceptions) != 3 {
		t.Errorf("the series as the device sees it: %v %+v", err, ev)
	}
	// One occurrence declined from the calendar by InstanceId (4 January
	// 2027, 09:00 New York): an override of its own, the series still
	// accepted, still one object.
	req := wbxml.New(wbxml.MeetingResponse, "MeetingResponse")
	rq := req.Add(wbxml.MeetingResponse, "Request")
	rq.AddText(wbxml.MeetingResponse, "UserResponse", "3")
	rq.AddText(wbxml.MeetingResponse, "CollectionId", calF.ServerID)
	rq.AddText(wbxml.MeetingResponse, "RequestId", calID)
	rq.AddText(wbxml.MeetingResponse, "InstanceId", "2027-01-04T14:00:00.000Z")
	resp, err := dev.Do(ctx, "MeetingResponse", req)
	if err != nil {
		t.Fatal(err)
	}
	if res := resp.Doc.Child(wbxml.MeetingResponse, "Result"); res.ChildText(wbxml.MeetingResponse, "Status") != "1" {
		t.Fatalf("decline of one occurrence: %s", res.XML())
	}
	if n := c.count(t); n != 1 {
		t.Fatalf("%d objects after the occurrence's decline, want 1", n)
	}
	for href := range list {
		obj, _ := c.get(t, href)
		text := strings.ToUpper(strings.ReplaceAll(strings.ReplaceAll(string(obj.Data), "\r\n", "\n"), "\n ", ""))
		if strings.Count(text, "BEGIN:VEVENT") != 4 || !strings.Contains(text, "PARTSTAT=DECLINED") || strings.Count(text, "PARTSTAT=ACCEPTED;") < 3 ||
			!strings.Contains(text, "RRULE:FREQ=WEEKLY") {
			t.Errorf("after declining one occurrence:\n%s", text)
		}
	}
	if n := len(sinkMessages(t, maildir, []byte("X-MailFrom: "+c.User))); n != 0 {
		t.Errorf("%d replies from the bridge at 14.1, want none", n)
	}
}

// TestMeetingResponseInASecondCalendar: a meeting that sits in the
// user's second calendar ("Work", type 13) is answered there, whether
// the device answers from that calendar (as iOS does) or from the Inbox
// invitation: the event is patched where it is, the CalendarId is its
// item in that folder, and the default calendar gets no copy.
func TestMeetingResponseInASecondCalendar(t *testing.T) {
	c := startCalendar(t, 300*time.Millisecond, false)
	ctx := context.Background()
	ics, err := os.ReadFile("imip/testdata/outlook.ics")
	if err != nil {
		t.Fatal(err)
	}
	ics = bytes.ReplaceAll(ics, []byte("alice@example.com"), []byte(c.User))
	work := "/" + c.User + "/work/"
	if err := c.laptop.MakeCalendar(c.ctx, work, "Work", []string{"VEVENT"}, ""); err != nil {
		t.Fatal(err)
	}
	stored := bytes.Replace(bytes.ReplaceAll(ics, []byte("\r\n"), []byte("\n")), []byte("METHOD:REQUEST\n"), nil, 1)
	if _, err := c.laptop.Create(c.ctx, work+"planning.ics", dav.ContentCalendar, bytes.ReplaceAll(stored, []byte("\n"), []byte("\r\n"))); err != nil {
		t.Fatal(err)
	}
	msg := "From: Bob Organizer <bob@example.com>\r\nTo: " + c.User + "\r\nSubject: Quarterly planning\r\nDate: Wed, 2 Dec 2026 09:00:00 +0000\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/calendar; charset=utf-8; method=REQUEST\r\n\r\n" + strings.ReplaceAll(strings.ReplaceAll(string(ics), "\r\n", "\n"), "\n", "\r\n")
	up := c.IMAP(t)
	if _, err := up.Append(ctx, "INBOX", nil, time.Now(), strings.NewReader(msg), int64(len(msg))); err != nil {
		t.Fatal(err)
	}
	dev := c.Device(t, "mrwork", "16.1")
	fs, err := dev.FolderSync(ctx, "0")
	if err != nil {
		t.Fatal(err)
	}
	inbox, _ := client.FolderByType(fs.Add, 2)
	workF, ok := client.FolderByType(fs.Add, 13)
	if !ok {
		t.Fatalf("no second calendar: %+v", fs.Add)
	}
	held, _, err := dev.SyncAll(ctx, workF.ServerID, client.SyncOptions{Class: "Calendar"})
	if err != nil || len(held) != 1 {
		t.Fatalf("Work calendar: %v, %d items", err, len(held))
	}
	var itemID string
	for itemID = range held {
	}
	mails, _, err := dev.SyncAll(ctx, inbox.ServerID, client.SyncOptions{Class: "Email"})
	if err != nil || len(mails) != 1 {
		t.Fatalf("Inbox: %v, %d", err, len(mails))
	}
	var mailID string
	for mailID = range mails {
	}
	for _, from := range []struct{ coll, id, response, partstat string }{
		{workF.ServerID, itemID, "2", "PARTSTAT=TENTATIVE"}, {inbox.ServerID, mailID, "1", "PARTSTAT=ACCEPTED"},
	} {
		req := wbxml.New(wbxml.MeetingResponse, "MeetingResponse")
		r := req.Add(wbxml.MeetingResponse, "Request")
		r.AddText(wbxml.MeetingResponse, "UserResponse", from.response)
		r.AddText(wbxml.MeetingResponse, "CollectionId", from.coll)
		r.AddText(wbxml.MeetingResponse, "RequestId", from.id)
		resp, err := dev.Do(ctx, "MeetingResponse", req)
		if err != nil {
			t.Fatal(err)
		}
		res := resp.Doc.Child(wbxml.MeetingResponse, "Result")
		if res.ChildText(wbxml.MeetingResponse, "Status") != "1" || res.ChildText(wbxml.MeetingResponse, "CalendarId") != itemID {
			t.Fatalf("answer from %s: %s, want CalendarId %s", from.coll, res.XML(), itemID)
		}
		if n := c.count(t); n != 0 {
			t.Errorf("answer from %s: %d objects in the default calendar, want none", from.coll, n)
		}
		objs, _, err := c.laptop.MultiGet(c.ctx, work, dav.KindCalendar, []string{work + "planning.ics"})
		if err != nil || len(objs) != 1 || !bytes.Contains(bytes.ReplaceAll(objs[0].Data, []byte("\r\n "), nil), []byte(from.partstat)) {
			t.Errorf("answer from %s: the Work event (%v):\n%s", from.coll, err, objs)
		}
	}
}
