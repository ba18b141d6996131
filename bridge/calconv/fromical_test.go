package calconv

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/items"
)

func readCase(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/fromical/" + name + ".ics")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func utc(s string) time.Time {
	t, err := time.Parse("20060102T150405Z", s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestFromICalNoteCases pins the research note's numbers, independent of
// the golden files: P1 (Berlin 09:00 → 07:00Z and the Berlin blob), P3
// (all-day per version), P8 (EXDATE list and override in the series zone
// across DST), P12, P13.
func TestFromICalNoteCases(t *testing.T) {
	// P1
	res, err := FromICal(readCase(t, "p1-berlin"), berlinUser(t, items.V141))
	if err != nil {
		t.Fatal(err)
	}
	c := res.Item
	if !c.StartTime.Equal(utc("20260701T070000Z")) || !c.EndTime.Equal(utc("20260701T080000Z")) {
		t.Errorf("P1 times %v %v", c.StartTime, c.EndTime)
	}
	// MS-ASDTYPE 2.7.6, research note §2.3: Bias −60, std 10/Sun/5 03:00, dst 3/Sun/5 02:00, DaylightBias −60.
	if got := base64.StdEncoding.EncodeToString(c.TimeZone); got != "xP///wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAoAAAAFAAMAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAMAAAAFAAIAAAAAAAAAxP///w==" {
		t.Errorf("P1 blob %s", got)
	}
	if *c.Subject != "Standup, daily" || c.Body.Data != "Line one\nLine two" || *c.Sensitivity != 2 || len(c.Categories) != 2 {
		t.Errorf("P1 fields %+v", c.Event)
	}

	// P3: 14.1 local midnight in the user's zone with a blob; 16.1 the date at 00:00Z, no TimeZone.
	res, _ = FromICal(readCase(t, "p3-allday"), berlinUser(t, items.V141))
	if c := res.Item; !*c.AllDayEvent || !c.StartTime.Equal(utc("20260513T220000Z")) || !c.EndTime.Equal(utc("20260514T220000Z")) || len(c.TimeZone) != 172 || *c.Reminder != 900 {
		t.Errorf("P3 14.1: %+v", c)
	}
	res, _ = FromICal(readCase(t, "p3-allday"), berlinUser(t, items.V161))
	if c := res.Item; !c.StartTime.Equal(utc("20260514T000000Z")) || !c.EndTime.Equal(utc("20260515T000000Z")) || c.TimeZone != nil {
		t.Errorf("P3 16.1: %+v", c)
	}
	res, _ = FromICal(readCase(t, "p3-multiday"), berlinUser(t, items.V161))
	if c := res.Item; !c.EndTime.Equal(utc("20270102T000000Z")) {
		t.Errorf("P3 multi-day: %v", c.EndTime)
	}

	// P8: a weekly 09:00 Berlin series from before the DST change.
	res, _ = FromICal(readCase(t, "p8-series"), berlinUser(t, items.V141))
	c = res.Item
	if !c.StartTime.Equal(utc("20260322T080000Z")) || c.Recurrence == nil || len(c.Exceptions) != 3 {
		t.Fatalf("P8: %+v", c)
	}
	for i, want := range []string{"20260426T070000Z", "20260510T070000Z", "20260531T070000Z"} {
		if x := c.Exceptions[i]; !x.Start.Equal(utc(want)) || x.Deleted != (i != 1) {
			t.Errorf("P8 exception %d: %+v", i, x)
		}
	}
	if x := c.Exceptions[1]; !x.StartTime.Equal(utc("20260510T080000Z")) || *x.Subject != "Sunday run (late)" || x.Reminder != nil {
		t.Errorf("P8 override: %+v", x.Event)
	}

	// P12: organizer is the user; attendee without CN named by e-mail; room is a resource.
	res, _ = FromICal(readCase(t, "p12-meeting"), berlinUser(t, items.V141))
	c = res.Item
	if *c.MeetingStatus != 1 || *c.ResponseType != 1 || len(c.Attendees) != 3 || c.Attendees[0].Name != "bob@example.com" || *c.Attendees[2].Type != items.AttendeeResource {
		t.Errorf("P12 organizer: %+v", c)
	}
	res, _ = FromICal(readCase(t, "p12-received"), berlinUser(t, items.V141))
	c = res.Item
	if *c.MeetingStatus != 3 || *c.ResponseType != items.AttendeeDeclined || *c.BusyStatus != 0 || *c.OrganizerEmail != "dave@example.org" {
		t.Errorf("P12 attendee: %+v", c)
	}

	// P13: the first DISPLAY/AUDIO alarm wins, the second is not Reminder.
	res, _ = FromICal(readCase(t, "p5-fidelity"), berlinUser(t, items.V141))
	if c := res.Item; *c.Reminder != 15 || *c.Location != "Kurfürstendamm 18, Berlin" {
		t.Errorf("P13: %+v", c.Event)
	}

	// P7: an inexpressible rule is reported and left out, not simplified.
	res, _ = FromICal(readCase(t, "p7-inexpressible"), berlinUser(t, items.V141))
	if len(res.Inexpressible) != 1 || res.Item.Recurrence != nil || res.Item.Exceptions != nil {
		t.Errorf("P7: %+v %+v", res.Inexpressible, res.Item)
	}
}

func TestFromICalErrors(t *testing.T) {
	for name, ics := range map[string]string{
		"no event":     "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nEND:VCALENDAR\r\n",
		"no dtstart":   "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTAMP:20260101T000000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
		"unknown tzid": "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;TZID=Nowhere/Else:20260101T090000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
		"mixed types":  "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:20260101\r\nDTEND:20260102T000000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
		"not ical":     "hello",
	} {
		_, err := FromICal([]byte(ics), berlinUser(t, items.V141))
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
		if name == "no event" && !errors.Is(err, ErrNoEvent) {
			t.Errorf("no event: %v", err)
		}
	}
}

// TestSeriesBlobYear: a series begun in 2005 in New York, still running,
// is sent with the rules in force now (DST from March's second Sunday
// since 2007), not those of its first year (April's first Sunday), or
// this year's occurrences would show an hour off for three weeks; a
// single event keeps its own year's rules, and the device's blob for the
// series is matched back to New York when it moves the series.
func TestSeriesBlobYear(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	series := []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:ny-2005\r\nDTSTAMP:20050101T000000Z\r\n" +
		"DTSTART;TZID=America/New_York:20050104T090000\r\nDTEND;TZID=America/New_York:20050104T100000\r\nRRULE:FREQ=WEEKLY;BYDAY=TU\r\n" +
		"SUMMARY:Weekly\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
	opt := berlinUser(t, items.V141)
	res, err := FromICal(series, opt)
	if err != nil {
		t.Fatal(err)
	}
	if now, old := opt.Zones.Blob(ny, mergeNow.Year()), opt.Zones.Blob(ny, 2005); !bytes.Equal(res.Item.TimeZone, now) || bytes.Equal(now, old) {
		t.Errorf("series blob is not this year's rules")
	}
	single := bytes.Replace(series, []byte("RRULE:FREQ=WEEKLY;BYDAY=TU\r\n"), nil, 1)
	if res, err := FromICal(single, opt); err != nil || !bytes.Equal(res.Item.TimeZone, opt.Zones.Blob(ny, 2005)) {
		t.Errorf("single event blob: %v", err)
	}
	dev := res.Item
	dev.StartTime = items.Ptr(dev.StartTime.Add(time.Hour))
	dev.EndTime = items.Ptr(dev.EndTime.Add(time.Hour))
	p, err := Merge(series, dev, Ghosting{}, opt, mergeNow)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(p.Data, []byte("DTSTART;TZID=America/New_York:20050104T100000")) {
		t.Errorf("moved series:\n%s", p.Data)
	}
}

// TestBodyByPreference: a device asking for HTML gets the X-ALT-DESC
// twin (or the text escaped into HTML), one asking for plain text gets
// DESCRIPTION; TruncationSize cuts on a character boundary and says so.
func TestBodyByPreference(t *testing.T) {
	ev := func(extra string) []byte {
		return []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:b1\r\nDTSTAMP:20260101T000000Z\r\n" +
			"DTSTART:20260701T090000Z\r\nDTEND:20260701T100000Z\r\nSUMMARY:Body\r\nDESCRIPTION:Agenda: café & <cake>\\nBring notes\r\n" + extra +
			"END:VEVENT\r\nEND:VCALENDAR\r\n")
	}
	opt := berlinUser(t, items.V161)
	body := func(data []byte, typ, trunc int) *items.Body {
		t.Helper()
		o := opt
		o.BodyType, o.TruncationSize = typ, trunc
		res, err := FromICal(data, o)
		if err != nil {
			t.Fatal(err)
		}
		return res.Item.Body
	}
	if b := body(ev(""), items.BodyPlain, 0); b == nil || b.Type != items.BodyPlain || b.Data != "Agenda: café & <cake>\nBring notes" || b.Truncated {
		t.Errorf("plain: %+v", b)
	}
	if b := body(ev(""), items.BodyHTML, 0); b == nil || b.Type != items.BodyHTML || b.Data != "<html><body>Agenda: café &amp; &lt;cake&gt;<br>Bring notes</body></html>" {
		t.Errorf("HTML from text: %+v", b)
	}
	alt := "X-ALT-DESC;FMTTYPE=text/html:<p>Agenda: <b>caf\u00e9</b></p>\r\n"
	if b := body(ev(alt), items.BodyHTML, 0); b == nil || b.Data != "<p>Agenda: <b>café</b></p>" {
		t.Errorf("HTML twin: %+v", b)
	}
	if b := body(ev(alt), items.BodyPlain, 0); b == nil || b.Type != items.BodyPlain || !strings.HasPrefix(b.Data, "Agenda: café") {
		t.Errorf("plain beside an HTML twin: %+v", b)
	}
	// "Agenda: caf" is 11 bytes; the é starts at byte 11 and takes two.
	if b := body(ev(""), items.BodyPlain, 12); b == nil || b.Data != "Agenda: caf" || !b.Truncated || b.EstimatedDataSize != len("Agenda: café & <cake>\nBring notes") {
		t.Errorf("truncated: %+v", b)
	}
}
