package calconv

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"
	"github.com/idlebridge/idlebridge/activesync/items"
)

// The p8 series: Sundays 09:00 Berlin from 22 March 2026 (07:00Z once
// summer time starts on 29 March), 26 April and 31 May deleted, 10 May
// moved to 10:00 as "Sunday run (late)".
var (
	p8Plain   = utc("20260517T070000Z") // an ordinary occurrence
	p8Moved   = utc("20260510T070000Z") // the overridden one
	p8Deleted = utc("20260426T070000Z")
)

// veventsOf splits an object into its master's and overrides' unfolded
// lines (overrides keyed by their RECURRENCE-ID line).
func veventsOf(t *testing.T, data []byte) (master []string, overrides map[string][]string) {
	t.Helper()
	root, err := parseRaw(data)
	if err != nil {
		t.Fatal(err)
	}
	overrides = map[string][]string{}
	var lines func(c *rawComp) []string
	lines = func(c *rawComp) []string {
		out := []string{"BEGIN:" + c.name}
		for _, e := range c.entries {
			if e.child != nil {
				out = append(out, lines(e.child)...)
			} else {
				out = append(out, e.line)
			}
		}
		return append(out, "END:"+c.name)
	}
	for _, c := range root.children(ical.CompEvent) {
		if rid := c.line(ical.PropRecurrenceID); rid != "" {
			overrides[rid] = lines(c)
		} else {
			master = lines(c)
		}
	}
	return master, overrides
}

func exceptionAt(t *testing.T, data []byte, v items.Version, at time.Time) *items.Exception {
	t.Helper()
	res, err := FromICal(data, berlinUser(t, v))
	if err != nil {
		t.Fatalf("read back: %v\n%s", err, data)
	}
	for i, x := range res.Item.Exceptions {
		if x.Start.Equal(at) {
			return &res.Item.Exceptions[i]
		}
	}
	return nil
}

// TestMergeInstanceNewOverride is P8 at 16.1: a Change of one occurrence
// by InstanceId becomes a RECURRENCE-ID override cloned from the master
// (its alarm too); the master, its EXDATEs and the other override stay
// byte for byte.
func TestMergeInstanceNewOverride(t *testing.T) {
	stored := readCase(t, "p8-series")
	dev := &items.Calendar{Event: items.Event{Subject: items.Ptr("Sunday run (hill)")}}
	p, err := MergeInstance(stored, dev, p8Plain, berlinUser(t, items.V161), mergeNow)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Changed {
		t.Fatal("not changed")
	}
	m0, o0 := veventsOf(t, stored)
	m1, o1 := veventsOf(t, p.Data)
	if !slices.Equal(m0, m1) {
		t.Errorf("master changed:\n%s\n---\n%s", strings.Join(m0, "\n"), strings.Join(m1, "\n"))
	}
	old := "RECURRENCE-ID;TZID=Europe/Berlin:20260510T090000"
	if !slices.Equal(o0[old], o1[old]) {
		t.Errorf("the other override changed:\n%s", strings.Join(o1[old], "\n"))
	}
	nw := o1["RECURRENCE-ID;TZID=Europe/Berlin:20260517T090000"]
	if nw == nil {
		t.Fatalf("no override for 17 May:\n%s", p.Data)
	}
	for _, want := range []string{"DTSTART;TZID=Europe/Berlin:20260517T090000", "DTEND;TZID=Europe/Berlin:20260517T093000",
		"SUMMARY:Sunday run (hill)", "UID:p8-series@example.com", "TRIGGER:-PT10M"} {
		if !slices.Contains(nw, want) {
			t.Errorf("override lacks %q:\n%s", want, strings.Join(nw, "\n"))
		}
	}
	for _, l := range nw {
		if n := propName(l); n == "RRULE" || n == "EXDATE" {
			t.Errorf("override carries %s", l)
		}
	}
	x := exceptionAt(t, p.Data, items.V161, p8Plain)
	if x == nil || x.Deleted || norm(x.Subject) != "Sunday run (hill)" || !x.StartTime.Equal(p8Plain) {
		t.Errorf("read back: %+v", x)
	}
	if exceptionAt(t, p.Data, items.V161, p8Deleted) == nil || exceptionAt(t, p.Data, items.V161, p8Moved) == nil {
		t.Error("other exceptions lost")
	}
}

// TestMergeInstanceExistingOverride: a Change of an occurrence that has
// an override patches only that override (one field, its stamps); moving
// it bumps its SEQUENCE.
func TestMergeInstanceExistingOverride(t *testing.T) {
	stored := readCase(t, "p8-series")
	dev := &items.Calendar{Event: items.Event{Location: items.Ptr("Park")}}
	p, err := MergeInstance(stored, dev, p8Moved, berlinUser(t, items.V161), mergeNow)
	if err != nil {
		t.Fatal(err)
	}
	if got := changedLines(t, stored, p.Data); !equalSets(got, []string{"LOCATION", "DTSTAMP", "LAST-MODIFIED"}) {
		t.Errorf("changed %v:\n%s", got, p.Data)
	}
	x := exceptionAt(t, p.Data, items.V161, p8Moved)
	if x == nil || norm(x.Location) != "Park" || norm(x.Subject) != "Sunday run (late)" {
		t.Errorf("read back: %+v", x)
	}
	// The same Change again changes nothing.
	again, err := MergeInstance(p.Data, dev, p8Moved, berlinUser(t, items.V161), mergeNow)
	if err != nil || again.Changed {
		t.Errorf("repeat: %v changed=%v", err, again != nil && again.Changed)
	}
	move := &items.Calendar{Event: items.Event{StartTime: items.Ptr(utc("20260510T090000Z")), EndTime: items.Ptr(utc("20260510T093000Z"))}}
	p, err = MergeInstance(stored, move, p8Moved, berlinUser(t, items.V161), mergeNow)
	if err != nil {
		t.Fatal(err)
	}
	_, o := veventsOf(t, p.Data)
	ov := o["RECURRENCE-ID;TZID=Europe/Berlin:20260510T090000"]
	if !slices.Contains(ov, "DTSTART;TZID=Europe/Berlin:20260510T110000") || !slices.Contains(ov, "SEQUENCE:1") {
		t.Errorf("moved override:\n%s", strings.Join(ov, "\n"))
	}
}

// TestMergeInstanceRefused: an InstanceId the series has no occurrence
// at (no such weekday, a deleted one, an event that does not recur) is
// refused, never applied to the master.
func TestMergeInstanceRefused(t *testing.T) {
	dev := &items.Calendar{Event: items.Event{Subject: items.Ptr("x")}}
	for _, c := range []struct {
		name string
		at   time.Time
	}{{"p8-series", utc("20260518T070000Z")}, {"p8-series", p8Deleted}, {"p8-series", utc("20260517T080000Z")}, {"p1-berlin", utc("20261210T130000Z")}} {
		_, err := MergeInstance(readCase(t, c.name), dev, c.at, berlinUser(t, items.V161), mergeNow)
		if !errors.Is(err, ErrNoInstance) {
			t.Errorf("%s at %v: %v", c.name, c.at, err)
		}
		if _, err := DeleteInstance(readCase(t, c.name), c.at, berlinUser(t, items.V161), mergeNow); c.at != p8Deleted && !errors.Is(err, ErrNoInstance) {
			t.Errorf("delete %s at %v: %v", c.name, c.at, err)
		}
	}
}

// TestDeleteInstance is P8 at 16.1: a Delete with InstanceId adds one
// EXDATE in the series' zone (and drops that occurrence's override);
// the rest of the object is kept.
func TestDeleteInstance(t *testing.T) {
	stored := readCase(t, "p8-series")
	opt := berlinUser(t, items.V161)
	p, err := DeleteInstance(stored, p8Plain, opt, mergeNow)
	if err != nil {
		t.Fatal(err)
	}
	if got := changedLines(t, stored, p.Data); !equalSets(got, []string{"EXDATE", "DTSTAMP", "LAST-MODIFIED", "SEQUENCE"}) {
		t.Errorf("changed %v:\n%s", got, p.Data)
	}
	if !bytes.Contains(p.Data, []byte("EXDATE;TZID=Europe/Berlin:20260517T090000\r\n")) {
		t.Errorf("EXDATE:\n%s", p.Data)
	}
	if x := exceptionAt(t, p.Data, items.V161, p8Plain); x == nil || !x.Deleted {
		t.Errorf("read back: %+v", x)
	}
	p, err = DeleteInstance(stored, p8Moved, opt, mergeNow)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(p.Data, []byte("RECURRENCE-ID")) || !bytes.Contains(p.Data, []byte("EXDATE;TZID=Europe/Berlin:20260510T090000")) {
		t.Errorf("override not replaced by EXDATE:\n%s", p.Data)
	}
	p, err = DeleteInstance(stored, p8Deleted, opt, mergeNow)
	if err != nil || p.Changed {
		t.Errorf("deleting a deleted occurrence: %v changed=%v", err, p != nil && p.Changed)
	}
}

// TestMergeExceptionOverrides is P8 at 14.1, where a Change carries the
// whole exception list: a new changed occurrence becomes an override, an
// edited one patches its override, and nothing is dropped or lost.
func TestMergeExceptionOverrides(t *testing.T) {
	stored := readCase(t, "p8-series")
	dev := deviceView(t, stored, items.V141)
	for i, x := range dev.Exceptions {
		if x.Start.Equal(p8Moved) {
			dev.Exceptions[i].Subject = items.Ptr("Sunday run (later)")
		}
	}
	dev.Exceptions = append(dev.Exceptions, items.Exception{Start: p8Plain, Event: items.Event{
		Subject: items.Ptr("Hill run"), StartTime: items.Ptr(p8Plain), EndTime: items.Ptr(p8Plain.Add(time.Hour))}})
	p := merge(t, stored, dev, Ghosting{}, items.V141)
	if len(p.Unsupported) > 0 {
		t.Errorf("unsupported: %v", p.Unsupported)
	}
	m0, _ := veventsOf(t, stored)
	m1, o1 := veventsOf(t, p.Data)
	if !slices.Equal(m0, m1) {
		t.Errorf("master changed:\n%s", strings.Join(m1, "\n"))
	}
	if ov := o1["RECURRENCE-ID;TZID=Europe/Berlin:20260510T090000"]; !slices.Contains(ov, "SUMMARY:Sunday run (later)") || !slices.Contains(ov, "DTSTART;TZID=Europe/Berlin:20260510T100000") {
		t.Errorf("edited override:\n%s", strings.Join(ov, "\n"))
	}
	if ov := o1["RECURRENCE-ID;TZID=Europe/Berlin:20260517T090000"]; !slices.Contains(ov, "SUMMARY:Hill run") || !slices.Contains(ov, "DTEND;TZID=Europe/Berlin:20260517T100000") {
		t.Errorf("new override:\n%s", strings.Join(ov, "\n"))
	}
	back := deviceView(t, p.Data, items.V141)
	if len(back.Exceptions) != 4 {
		t.Fatalf("read back %d exceptions: %+v", len(back.Exceptions), back.Exceptions)
	}
	// Sending back what it now holds changes nothing.
	if again := merge(t, p.Data, back, Ghosting{}, items.V141); again.Changed {
		t.Errorf("an unchanged list rewrote the object:\n%s", again.Data)
	}
	// An exception at a time the series has no occurrence is reported.
	dev = deviceView(t, stored, items.V141)
	dev.Exceptions = append(dev.Exceptions, items.Exception{Start: utc("20260518T070000Z"), Event: items.Event{Subject: items.Ptr("x")}})
	if p := merge(t, stored, dev, Ghosting{}, items.V141); len(p.Unsupported) != 1 || p.Changed {
		t.Errorf("exception off the series: %v changed=%v", p.Unsupported, p.Changed)
	}
}

// TestMergeSeriesRenameReachesOverrides: an override that showed the
// series' subject follows a rename of the series; one with a subject of
// its own keeps it (both directions of MS-ASCAL's inheritance).
func TestMergeSeriesRenameReachesOverrides(t *testing.T) {
	stored := readCase(t, "p8-series")
	// A second override, moved but named as the series.
	stored = bytes.Replace(stored, []byte("END:VCALENDAR"), []byte("BEGIN:VEVENT\r\nUID:p8-series@example.com\r\nDTSTAMP:20260301T120000Z\r\n"+
		"RECURRENCE-ID;TZID=Europe/Berlin:20260524T090000\r\nDTSTART;TZID=Europe/Berlin:20260524T080000\r\nDTEND;TZID=Europe/Berlin:20260524T083000\r\n"+
		"SUMMARY:Sunday run\r\nEND:VEVENT\r\nEND:VCALENDAR"), 1)
	for _, v := range []items.Version{items.V141, items.V161} {
		dev := deviceView(t, stored, v)
		dev.Subject = items.Ptr("Sunday jog")
		p := merge(t, stored, dev, Ghosting{}, v)
		_, o := veventsOf(t, p.Data)
		if ov := o["RECURRENCE-ID;TZID=Europe/Berlin:20260524T090000"]; !slices.Contains(ov, "SUMMARY:Sunday jog") || !slices.Contains(ov, "DTSTART;TZID=Europe/Berlin:20260524T080000") {
			t.Errorf("%v: inheriting override:\n%s", v, strings.Join(ov, "\n"))
		}
		if ov := o["RECURRENCE-ID;TZID=Europe/Berlin:20260510T090000"]; !slices.Contains(ov, "SUMMARY:Sunday run (late)") {
			t.Errorf("%v: own-subject override:\n%s", v, strings.Join(ov, "\n"))
		}
	}
}

// TestMergeSeriesMoveAt16DropsExceptions: at 16.x a Change of the
// series' start or end deletes its exceptions (MS-ASCAL 2.2.2.22), so
// the EXDATEs and overrides go; at 14.1 the device sends its list and
// they stay.
func TestMergeSeriesMoveAt16DropsExceptions(t *testing.T) {
	stored := readCase(t, "p8-series")
	for _, v := range []items.Version{items.V141, items.V161} {
		dev := deviceView(t, stored, v)
		if v >= items.V160 {
			dev = &items.Calendar{}
		}
		dev.StartTime = items.Ptr(utc("20260322T090000Z"))
		dev.EndTime = items.Ptr(utc("20260322T093000Z"))
		p := merge(t, stored, dev, Ghosting{}, v)
		if !bytes.Contains(p.Data, []byte("DTSTART;TZID=Europe/Berlin:20260322T100000")) {
			t.Fatalf("%v: series not moved:\n%s", v, p.Data)
		}
		kept := bytes.Contains(p.Data, []byte("EXDATE")) && bytes.Contains(p.Data, []byte("RECURRENCE-ID"))
		if kept != (v < items.V160) {
			t.Errorf("%v: exceptions kept=%v:\n%s", v, kept, p.Data)
		}
	}
}
