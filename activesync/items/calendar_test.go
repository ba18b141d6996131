package items

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

func appXML(t *testing.T, body string) *wbxml.Element {
	t.Helper()
	doc := `<ApplicationData xmlns="AirSync:" xmlns:c="Calendar:" xmlns:b="AirSyncBase:">` + body + `</ApplicationData>`
	el, err := wbxml.ParseXML(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	return el
}

func sampleCalendar() *Calendar {
	start := time.Date(2026, 7, 1, 7, 0, 0, 0, time.UTC)
	return &Calendar{
		Event: Event{
			AllDayEvent: Ptr(false), StartTime: Ptr(start), EndTime: Ptr(start.Add(time.Hour)),
			DtStamp: Ptr(start.Add(-time.Hour)), Subject: Ptr("Planning"), Location: Ptr("Room 1"),
			Body:       &Body{Type: BodyPlain, Data: "agenda"},
			BusyStatus: Ptr(2), Sensitivity: Ptr(0), Reminder: Ptr(15), MeetingStatus: Ptr(1),
			Categories:   []string{"Work"},
			Attendees:    []Attendee{{Email: "bob@example.com", Name: "Bob", Status: Ptr(3), Type: Ptr(1)}},
			ResponseType: Ptr(1),
		},
		TimeZone: make([]byte, 172), UID: Ptr("uid-1"), ClientUID: Ptr("client-1"),
		OrganizerName: Ptr("Alice"), OrganizerEmail: Ptr("alice@example.com"),
		Recurrence: &Recurrence{Type: RecurWeekly, Interval: Ptr(1), DayOfWeek: Ptr(8), Occurrences: Ptr(10), FirstDayOfWeek: Ptr(1)},
		Exceptions: []Exception{
			{Start: start.AddDate(0, 0, 7), Deleted: true},
			{Start: start.AddDate(0, 0, 14), Event: Event{Subject: Ptr("Moved"), StartTime: Ptr(start.AddDate(0, 0, 14).Add(time.Hour))}},
		},
		ResponseRequested: Ptr(true),
	}
}

// TestCalendarRoundTrip encodes at each version, checks the version rules
// in the output, and decodes back what a device of that version may send.
func TestCalendarRoundTrip(t *testing.T) {
	for _, v := range []Version{V121, V140, V141, V160, V161} {
		c := sampleCalendar()
		xml := c.Encode(v).XML()
		has := func(s string) bool { return strings.Contains(xml, s) }
		if has(">Room 1</Location>") != (v < V160) || has(">Room 1</DisplayName>") != (v >= V160) {
			t.Errorf("%d: Location form wrong:\n%s", v, xml)
		}
		if has("ClientUid") != (v >= V160) || has("InstanceId") != (v >= V160) || has("ExceptionStartTime") != (v < V160) {
			t.Errorf("%d: 16.x elements wrong:\n%s", v, xml)
		}
		if has("FirstDayOfWeek") != (v >= V141) || has("ResponseType") != (v >= V140) {
			t.Errorf("%d: 14.x elements wrong:\n%s", v, xml)
		}
		// Through real WBXML bytes, as a device would see it.
		b, err := wbxml.Encode(c.Encode(v))
		if err != nil {
			t.Fatal(err)
		}
		el, err := wbxml.Decode(b, wbxml.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeCalendar(el, v)
		if err != nil {
			t.Fatalf("%d: %v", v, err)
		}
		want := sampleCalendar()
		if v >= V160 {
			want.OrganizerName, want.OrganizerEmail = nil, nil // ignored from 16.x clients
		} else {
			want.ClientUID = nil
		}
		if v < V141 {
			want.Recurrence.FirstDayOfWeek = nil
		}
		if v < V140 {
			want.ResponseType, want.ResponseRequested = nil, nil
		}
		want.Body.EstimatedDataSize = 0
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%d: round trip\n got %+v\nwant %+v", v, got, want)
		}
	}
}

// TestDecodeCalendarEmptyElements: what devices send empty reads as absent
// or empty, never as an error (DESIGN "What real devices do").
func TestDecodeCalendarEmptyElements(t *testing.T) {
	el := appXML(t, `<c:Recurrence/><c:Reminder/><c:Attendees/><c:Location/><c:Categories/><c:TimeZone/><b:Body/><c:Exceptions/><c:Subject/>`)
	c, err := DecodeCalendar(el, V141)
	if err != nil {
		t.Fatal(err)
	}
	if c.Recurrence != nil || c.Reminder != nil || c.TimeZone != nil {
		t.Errorf("empty Recurrence/Reminder/TimeZone not absent: %+v", c)
	}
	if c.Attendees == nil || len(c.Attendees) != 0 || c.Categories == nil || len(c.Categories) != 0 || c.Exceptions == nil {
		t.Errorf("empty lists not present-and-empty: %+v", c)
	}
	if c.Location == nil || *c.Location != "" || c.Subject == nil || *c.Subject != "" || c.Body == nil || c.Body.Data != "" {
		t.Errorf("empty Location/Subject/Body not present-and-empty: %+v", c)
	}
	// Absent stays absent: a 16.x Change carrying only the Subject.
	c, err = DecodeCalendar(appXML(t, `<c:Subject>New</c:Subject>`), V161)
	if err != nil {
		t.Fatal(err)
	}
	if want := (&Calendar{Event: Event{Subject: Ptr("New")}}); !reflect.DeepEqual(c, want) {
		t.Errorf("got %+v", c)
	}
}

func TestDecodeCalendarVersionLiberal(t *testing.T) {
	// 16.1 client sending forbidden OrganizerEmail and the old Location form.
	c, err := DecodeCalendar(appXML(t, `<c:OrganizerEmail>a@b</c:OrganizerEmail><c:Location>Hall</c:Location><c:StartTime>2026-07-01T07:00:00.000Z</c:StartTime>`), V161)
	if err != nil {
		t.Fatal(err)
	}
	if c.OrganizerEmail != nil || c.Location == nil || *c.Location != "Hall" || c.StartTime == nil {
		t.Errorf("got %+v", c)
	}
	// 16.x single-instance change; 14.1 sends the TimeZone base64.
	c, err = DecodeCalendar(appXML(t, `<b:InstanceId>20260708T070000Z</b:InstanceId><b:Location><b:DisplayName>Hall 2</b:DisplayName></b:Location>`), V161)
	if err != nil || c.InstanceID == nil || !c.InstanceID.Equal(time.Date(2026, 7, 8, 7, 0, 0, 0, time.UTC)) || *c.Location != "Hall 2" {
		t.Errorf("got %+v, %v", c, err)
	}
}

func TestDecodeCalendarRejectsGarbage(t *testing.T) {
	for _, body := range []string{
		`<c:StartTime>tomorrow</c:StartTime>`,
		`<c:BusyStatus>busy</c:BusyStatus>`,
		`<c:Reminder>-5</c:Reminder>`,
		`<c:TimeZone>!!!</c:TimeZone>`,
		`<c:Recurrence><c:Type>x</c:Type></c:Recurrence>`,
		`<c:Exceptions><c:Exception><c:Subject>x</c:Subject></c:Exception></c:Exceptions>`,
		`<c:Attendees><c:Attendee><c:AttendeeType>z</c:AttendeeType></c:Attendee></c:Attendees>`,
	} {
		if _, err := DecodeCalendar(appXML(t, body), V141); err == nil {
			t.Errorf("accepted %s", body)
		}
	}
}

// TestDecodeCalendarOpaqueText: a Subject sent as OPAQUE with a NUL or bad
// UTF-8 decodes to text that can be sent back in STR_I.
func TestDecodeCalendarOpaqueText(t *testing.T) {
	app := wbxml.New(wbxml.AirSync, "ApplicationData")
	app.AddOpaque(wbxml.Calendar, "Subject", []byte("a\x00b\xff"))
	c, err := DecodeCalendar(app, V141)
	if err != nil {
		t.Fatal(err)
	}
	if *c.Subject != "ab\uFFFD" {
		t.Fatalf("%q", *c.Subject)
	}
	if _, err := wbxml.Encode(c.Encode(V141)); err != nil {
		t.Fatal(err)
	}
}
