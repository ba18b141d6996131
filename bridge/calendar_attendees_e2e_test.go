package bridge_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/activesync/items"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/upstream/dav"
)

// icalLines returns the unfolded content lines of an object that start
// with prefix.
func icalLines(data []byte, prefix string) []string {
	s := strings.ReplaceAll(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n ", "")
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

// TestCalendarAttendeesThroughTheFront: a 16.1 device invites two people
// to a new event → the Radicale object has their two ATTENDEE lines and
// the user as ORGANIZER; one of them answers on the laptop; a 14.1
// device drops the other → one ATTENDEE line is left, the answer's
// parameters byte for byte, SEQUENCE bumped, ORGANIZER unchanged.
func TestCalendarAttendeesThroughTheFront(t *testing.T) {
	c := startCalendar(t, 300*time.Millisecond, false)
	ctx := context.Background()
	calendarOf := func(dev *client.Client) (string, string) {
		t.Helper()
		fs, err := dev.FolderSync(ctx, "0")
		if err != nil || fs.Status != "1" {
			t.Fatalf("FolderSync: %v %+v", err, fs)
		}
		f, ok := client.FolderByType(fs.Add, 8)
		if !ok {
			t.Fatalf("no calendar in %+v", fs.Add)
		}
		_, key, err := dev.SyncAll(ctx, f.ServerID, client.SyncOptions{WindowSize: 10, Class: "Calendar"})
		if err != nil {
			t.Fatal(err)
		}
		return f.ServerID, key
	}

	phone := c.Device(t, "att-161", "16.1")
	calID, key := calendarOf(phone)
	add := &items.Calendar{Event: items.Event{
		StartTime: items.Ptr(time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC)), EndTime: items.Ptr(time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)),
		Subject: items.Ptr("Planning"), AllDayEvent: items.Ptr(false), BusyStatus: items.Ptr(2),
		Attendees: []items.Attendee{
			{Email: "bob@example.com", Name: "Bob", Type: items.Ptr(items.AttendeeRequired)},
			{Email: "carol@example.com", Name: "Carol", Type: items.Ptr(items.AttendeeOptional)},
		}},
		ClientUID: items.Ptr("att-planning-1"),
	}
	r, err := phone.Sync(ctx, calID, key, client.SyncOptions{WindowSize: 10, Commands: calCommands("Add", "c1", add.Encode(items.V161))})
	if err != nil || r.Status != "1" || len(r.Responses) != 1 || r.Responses[0].ChildText(wbxml.AirSync, "Status") != "1" {
		t.Fatalf("Add: %v %+v", err, r)
	}
	href := c.coll + "att-planning-1.ics"
	obj, ok := c.get(t, href)
	if !ok {
		t.Fatal("the Add is not on the server")
	}
	atts := icalLines(obj.Data, "ATTENDEE")
	org := icalLines(obj.Data, "ORGANIZER")
	if len(atts) != 2 || !strings.HasSuffix(atts[0], ":mailto:bob@example.com") || !strings.Contains(atts[1], "ROLE=OPT-PARTICIPANT") ||
		len(org) != 1 || !strings.EqualFold(org[0], "ORGANIZER:mailto:"+c.User) {
		t.Fatalf("the invitation on the server:\n%s", obj.Data)
	}

	// Carol accepts; her client writes her answer with its own parameter.
	carol := "ATTENDEE;CN=Carol;ROLE=OPT-PARTICIPANT;PARTSTAT=ACCEPTED;X-NUM-GUESTS=0:mailto:carol@example.com"
	unfolded := []byte(strings.ReplaceAll(strings.ReplaceAll(string(obj.Data), "\r\n", "\n"), "\n ", ""))
	answered := bytes.ReplaceAll(bytes.Replace(unfolded, []byte(atts[1]), []byte(carol), 1), []byte("\n"), []byte("\r\n"))
	if _, err := c.laptop.Update(c.ctx, href, obj.ETag, dav.ContentCalendar, answered); err != nil {
		t.Fatal(err)
	}
	// Radicale stores its own serialization: that is the line to keep.
	obj, _ = c.get(t, href)
	if atts = icalLines(obj.Data, "ATTENDEE"); len(atts) != 2 || !strings.Contains(atts[1], "X-NUM-GUESTS=0") {
		t.Fatalf("carol's answer on the server:\n%s", obj.Data)
	}
	carol = atts[1]

	// A 14.1 device sends the whole item back without Bob.
	tablet := c.Device(t, "att-141", "14.1")
	fs, err := tablet.FolderSync(ctx, "0")
	if err != nil || fs.Status != "1" {
		t.Fatalf("FolderSync: %v %+v", err, fs)
	}
	f, _ := client.FolderByType(fs.Add, 8)
	got, key, err := tablet.SyncAll(ctx, f.ServerID, client.SyncOptions{WindowSize: 10, Class: "Calendar"})
	if err != nil || len(got) != 1 {
		t.Fatalf("14.1 sync: %v, %d items", err, len(got))
	}
	var id string
	var ev *items.Calendar
	for k, data := range got {
		if id = k; true {
			if ev, err = items.DecodeCalendar(data, items.V141); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(ev.Attendees) != 2 || ev.Attendees[1].Status == nil || *ev.Attendees[1].Status != items.AttendeeAccepted {
		t.Fatalf("14.1 device sees attendees %+v", ev.Attendees)
	}
	ev.Attendees = ev.Attendees[1:]
	r, err = tablet.Sync(ctx, f.ServerID, key, client.SyncOptions{WindowSize: 10, Commands: calCommands("Change", id, ev.Encode(items.V141))})
	if err != nil || r.Status != "1" {
		t.Fatalf("Change: %v %+v", err, r)
	}
	for _, resp := range r.Responses {
		if resp.ChildText(wbxml.AirSync, "Status") != "1" {
			t.Fatalf("Change answered %v", resp)
		}
	}
	after, _ := c.get(t, href)
	if atts := icalLines(after.Data, "ATTENDEE"); len(atts) != 1 || atts[0] != carol {
		t.Errorf("after dropping Bob: %q\n%s", atts, after.Data)
	}
	if o := icalLines(after.Data, "ORGANIZER"); len(o) != 1 || o[0] != org[0] {
		t.Errorf("ORGANIZER changed: %q", o)
	}
	if s := icalLines(after.Data, "SEQUENCE:"); len(s) != 1 || s[0] == "SEQUENCE:0" {
		t.Errorf("SEQUENCE not bumped: %q\n%s", s, after.Data)
	}
}
