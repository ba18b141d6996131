package calconv

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/items"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

var mergeNow = time.Date(2026, 7, 1, 10, 0, 0, 0, time.UTC)

// unfolded returns the content lines of an object, unfolded.
func unfolded(b []byte) []string {
	s := strings.ReplaceAll(string(b), "\r\n", "\n")
	s = strings.ReplaceAll(s, "\n ", "")
	return strings.Split(strings.TrimSpace(s), "\n")
}

// changedLines lists the property names whose lines differ between two
// objects, in either direction; every other line must be byte-identical
// and in the same order.
func changedLines(t *testing.T, a, b []byte) []string {
	t.Helper()
	la, lb := unfolded(a), unfolded(b)
	seen := map[string]bool{}
	var out []string
	mark := func(l string) {
		if n := propName(l); !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	inB := map[string]int{}
	for _, l := range lb {
		inB[l]++
	}
	inA := map[string]int{}
	for _, l := range la {
		inA[l]++
		if inB[l] < inA[l] {
			mark(l)
		}
	}
	inA2 := map[string]int{}
	for _, l := range la {
		inA2[l]++
	}
	seenB := map[string]int{}
	for _, l := range lb {
		seenB[l]++
		if inA2[l] < seenB[l] {
			mark(l)
		}
	}
	return out
}

// deviceView is what a device holds after syncing the object: the item
// it received, decoded back from WBXML as its Change would arrive.
func deviceView(t *testing.T, stored []byte, v items.Version) *items.Calendar {
	t.Helper()
	res, err := FromICal(stored, berlinUser(t, v))
	if err != nil {
		t.Fatal(err)
	}
	b, err := wbxml.Encode(res.Item.Encode(v))
	if err != nil {
		t.Fatal(err)
	}
	el, err := wbxml.Decode(b, wbxml.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := items.DecodeCalendar(el, v)
	if err != nil {
		t.Fatal(err)
	}
	if v >= items.V160 {
		c.Exceptions = nil // 16.x clients never send them (MS-ASCAL 2.2.2.22)
	}
	return c
}

func merge(t *testing.T, stored []byte, dev *items.Calendar, g Ghosting, v items.Version) *Patched {
	t.Helper()
	p, err := Merge(stored, dev, g, berlinUser(t, v), mergeNow)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func equalSets(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]bool{}
	for _, s := range a {
		m[s] = true
	}
	for _, s := range b {
		if !m[s] {
			return false
		}
	}
	return true
}

// TestMergeFidelity is research note P5 and the round-trip target:
// a device edit of one field changes only that property and DTSTAMP /
// LAST-MODIFIED; two VALARMs, ATTACH, COLOR, X- properties and unknown
// parameters survive byte for byte, for 14.1 (the full item comes back)
// and 16.1 (only the changed element).
func TestMergeFidelity(t *testing.T) {
	stored := readCase(t, "p5-fidelity")
	// 14.1 without Supported: the device sends every element it has.
	dev := deviceView(t, stored, items.V141)
	dev.Subject = items.Ptr("Dinner with the Müllers")
	p := merge(t, stored, dev, Ghosting{}, items.V141)
	if got := changedLines(t, stored, p.Data); !equalSets(got, []string{"SUMMARY", "DTSTAMP", "LAST-MODIFIED"}) {
		t.Errorf("14.1 subject edit changed %v\n%s", got, p.Data)
	}
	golden(t, "merge/p5-subject.14.1.ics", string(p.Data))

	p = merge(t, stored, &items.Calendar{Event: items.Event{Subject: items.Ptr("Dinner with the Müllers")}}, Ghosting{}, items.V161)
	if got := changedLines(t, stored, p.Data); !equalSets(got, []string{"SUMMARY", "DTSTAMP", "LAST-MODIFIED"}) {
		t.Errorf("16.1 subject edit changed %v", got)
	}

	// P13: Reminder 15 → 30 changes the first TRIGGER only.
	dev = deviceView(t, stored, items.V141)
	dev.Reminder = items.Ptr(30)
	p = merge(t, stored, dev, Ghosting{}, items.V141)
	if got := changedLines(t, stored, p.Data); !equalSets(got, []string{"TRIGGER", "DTSTAMP", "LAST-MODIFIED"}) {
		t.Errorf("reminder edit changed %v", got)
	}
	if !bytes.Contains(p.Data, []byte("TRIGGER:-PT30M\r\n")) || !bytes.Contains(p.Data, []byte("TRIGGER;VALUE=DURATION:-P1D\r\n")) {
		t.Errorf("triggers:\n%s", p.Data)
	}

	// Nothing changed: no PUT.
	p = merge(t, stored, deviceView(t, stored, items.V141), Ghosting{}, items.V141)
	if p.Changed || !bytes.Equal(p.Data, stored) {
		t.Errorf("unchanged item rewrote the object:\n%s", p.Data)
	}
}

// TestMergeGhosting is research note P6.
func TestMergeGhosting(t *testing.T) {
	stored := readCase(t, "p5-fidelity")
	dev := deviceView(t, stored, items.V141)
	dev.Location = nil
	// No Supported: nothing is ghosted, absent Location clears it.
	p := merge(t, stored, dev, Ghosting{}, items.V141)
	if bytes.Contains(p.Data, []byte("LOCATION")) {
		t.Error("14.1 without Supported kept LOCATION")
	}
	// Supported without Location: Location is ghosted and kept.
	p = merge(t, stored, dev, Ghosting{Supported: map[string]bool{"Subject": true}}, items.V141)
	if p.Changed {
		t.Errorf("ghosted Location was touched:\n%s", p.Data)
	}
	// Supported listing Location: absent clears.
	p = merge(t, stored, dev, Ghosting{Supported: map[string]bool{"Location": true}}, items.V141)
	if bytes.Contains(p.Data, []byte("LOCATION")) {
		t.Error("listed Location not cleared")
	}
	// 16.1: absent means unchanged, whatever Supported says.
	p = merge(t, stored, &items.Calendar{}, Ghosting{}, items.V161)
	if p.Changed {
		t.Error("16.1 empty Change rewrote the object")
	}
	// An empty <Reminder/> reads as absent; without Supported 14.1 clears
	// only the first alarm, never the second (the SOGo bug).
	dev = deviceView(t, stored, items.V141)
	dev.Reminder = nil
	p = merge(t, stored, dev, Ghosting{}, items.V141)
	if bytes.Count(p.Data, []byte("BEGIN:VALARM")) != 1 || !bytes.Contains(p.Data, []byte("X-WR-ALARMUID:A2")) {
		t.Errorf("cleared reminder:\n%s", p.Data)
	}
}

// TestMergeExceptions is research note P8 (14.1): deleting an instance
// adds one EXDATE in the series' zone and keeps the override.
func TestMergeExceptions(t *testing.T) {
	stored := readCase(t, "p8-series")
	dev := deviceView(t, stored, items.V141)
	dev.Exceptions = append(dev.Exceptions, items.Exception{Start: utc("20260607T070000Z"), Deleted: true})
	p := merge(t, stored, dev, Ghosting{}, items.V141)
	if !bytes.Contains(p.Data, []byte("EXDATE;TZID=Europe/Berlin:20260426T090000,20260531T090000,20260607T090000\r\n")) {
		t.Errorf("EXDATE:\n%s", p.Data)
	}
	if !bytes.Contains(p.Data, []byte("RECURRENCE-ID;TZID=Europe/Berlin:20260510T090000")) {
		t.Error("override lost")
	}
	res, err := FromICal(p.Data, berlinUser(t, items.V141))
	if err != nil || len(res.Item.Exceptions) != 4 {
		t.Fatalf("read back: %v %+v", err, res)
	}
	// Deleting the overridden instance drops its override.
	dev = deviceView(t, stored, items.V141)
	dev.Exceptions[1] = items.Exception{Start: dev.Exceptions[1].Start, Deleted: true}
	p = merge(t, stored, dev, Ghosting{}, items.V141)
	if bytes.Contains(p.Data, []byte("RECURRENCE-ID")) || !bytes.Contains(p.Data, []byte("20260510T090000")) {
		t.Errorf("override not replaced by EXDATE:\n%s", p.Data)
	}
}

// TestMergeTimes: moving an event rewrites DTSTART/DTEND in the stored
// TZID and bumps SEQUENCE (RFC 5546 2.1.4); P3 in the write direction.
func TestMergeTimes(t *testing.T) {
	stored := readCase(t, "p5-fidelity")
	dev := deviceView(t, stored, items.V141)
	dev.StartTime = items.Ptr(dev.StartTime.Add(time.Hour))
	dev.EndTime = items.Ptr(dev.EndTime.Add(time.Hour))
	p := merge(t, stored, dev, Ghosting{}, items.V141)
	if got := changedLines(t, stored, p.Data); !equalSets(got, []string{"DTSTART", "DTEND", "DTSTAMP", "LAST-MODIFIED", "SEQUENCE"}) {
		t.Errorf("move changed %v", got)
	}
	for _, want := range []string{"DTSTART;TZID=Europe/Berlin:20260704T190000\r\n", "SEQUENCE:3\r\n"} {
		if !bytes.Contains(p.Data, []byte(want)) {
			t.Errorf("missing %q:\n%s", want, p.Data)
		}
	}
	// All-day from a New York device at 14.1: its local midnights are the dates.
	ny := mustLoad(t, "America/New_York")
	allDay := deviceView(t, readCase(t, "p3-allday"), items.V141)
	allDay.TimeZone = testZones().Blob(ny, 2026)
	allDay.StartTime = items.Ptr(time.Date(2026, 5, 20, 0, 0, 0, 0, ny).UTC())
	allDay.EndTime = items.Ptr(time.Date(2026, 5, 21, 0, 0, 0, 0, ny).UTC())
	p = merge(t, readCase(t, "p3-allday"), allDay, Ghosting{}, items.V141)
	if !bytes.Contains(p.Data, []byte("DTSTART;VALUE=DATE:20260520\r\n")) || !bytes.Contains(p.Data, []byte("DTEND;VALUE=DATE:20260521\r\n")) {
		t.Errorf("all-day from New York:\n%s", p.Data)
	}
}

// TestMergeAdd: a new item becomes a valid VCALENDAR with PRODID, the
// device's UID and a VTIMEZONE for its TZID (P9, and go-ical's missing
// VTIMEZONE from research note §4.2).
func TestMergeAdd(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	dev := &items.Calendar{
		Event: items.Event{StartTime: items.Ptr(utc("20260801T070000Z")), EndTime: items.Ptr(utc("20260801T080000Z")),
			Subject: items.Ptr("New; with, commas"), Reminder: items.Ptr(10), AllDayEvent: items.Ptr(false)},
		TimeZone: testZones().Blob(berlin, 2026), UID: items.Ptr("device-uid-1"),
		Recurrence: &items.Recurrence{Type: items.RecurWeekly, DayOfWeek: items.Ptr(64), Interval: items.Ptr(1), Occurrences: items.Ptr(5)},
	}
	p := merge(t, nil, dev, Ghosting{}, items.V141)
	for _, want := range []string{"PRODID:", "UID:device-uid-1\r\n", "BEGIN:VTIMEZONE", "TZID:Europe/Berlin", "DTSTART;TZID=Europe/Berlin:20260801T090000\r\n",
		"SUMMARY:New\\; with\\, commas\r\n", "RRULE:FREQ=WEEKLY;BYDAY=SA;COUNT=5\r\n", "TRIGGER:-PT10M"} {
		if !bytes.Contains(p.Data, []byte(want)) {
			t.Errorf("missing %q in\n%s", want, p.Data)
		}
	}
	if p.UID != "device-uid-1" {
		t.Errorf("UID %q", p.UID)
	}
	res, err := FromICal(p.Data, berlinUser(t, items.V141))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Item.StartTime.Equal(*dev.StartTime) || *res.Item.Subject != *dev.Subject || res.Item.Recurrence.Type != items.RecurWeekly {
		t.Errorf("read back %+v", res.Item)
	}
	// 16.1 all-day, ClientUid as the UID, no TimeZone.
	p = merge(t, nil, &items.Calendar{Event: items.Event{AllDayEvent: items.Ptr(true), StartTime: items.Ptr(utc("20261224T000000Z")), EndTime: items.Ptr(utc("20261225T000000Z"))},
		ClientUID: items.Ptr("ios-client-uid")}, Ghosting{}, items.V161)
	for _, want := range []string{"UID:ios-client-uid\r\n", "DTSTART;VALUE=DATE:20261224\r\n", "DTEND;VALUE=DATE:20261225\r\n"} {
		if !bytes.Contains(p.Data, []byte(want)) {
			t.Errorf("missing %q in\n%s", want, p.Data)
		}
	}
	// No UID at all: one is generated.
	p = merge(t, nil, &items.Calendar{Event: items.Event{StartTime: items.Ptr(utc("20261224T100000Z"))}}, Ghosting{}, items.V141)
	if len(p.UID) != 36 {
		t.Errorf("generated UID %q", p.UID)
	}
	if _, err := Merge(nil, &items.Calendar{}, Ghosting{}, berlinUser(t, items.V141), mergeNow); err == nil {
		t.Error("Add without StartTime accepted")
	}
}

func TestMergeReadOnly(t *testing.T) {
	_, err := Merge(readCase(t, "p7-inexpressible"), &items.Calendar{Event: items.Event{Subject: items.Ptr("x")}}, Ghosting{}, berlinUser(t, items.V161), mergeNow)
	if !errors.Is(err, ErrReadOnly) {
		t.Fatalf("got %v", err)
	}
}
