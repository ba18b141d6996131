package caltz

import (
	"bytes"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"
	"github.com/teambition/rrule-go"
)

// offsetsOf evaluates a VTIMEZONE independently of this package's reader:
// every observance's DTSTART (wall clock in TZOFFSETFROM) and its RRULE
// expanded by rrule-go, sorted; the offset at t is the TZOFFSETTO of the
// last onset at or before t.
func offsetsOf(t *testing.T, vtz *ical.Component, until time.Time) func(time.Time) (int, bool) {
	t.Helper()
	type onset struct {
		at time.Time
		to int
	}
	var onsets []onset
	for _, c := range vtz.Children {
		from, err := parseOffset(c.Props.Get(ical.PropTimezoneOffsetFrom).Value)
		if err != nil {
			t.Fatal(err)
		}
		to, err := parseOffset(c.Props.Get(ical.PropTimezoneOffsetTo).Value)
		if err != nil {
			t.Fatal(err)
		}
		wall, err := time.ParseInLocation(icalLocal, c.Props.Get(ical.PropDateTimeStart).Value, time.FixedZone("", from))
		if err != nil {
			t.Fatal(err)
		}
		onsets = append(onsets, onset{wall, to})
		if p := c.Props.Get(ical.PropRecurrenceRule); p != nil {
			opt, err := rrule.StrToROption(p.Value)
			if err != nil {
				t.Fatalf("RRULE %q: %v", p.Value, err)
			}
			opt.Dtstart = wall
			r, err := rrule.NewRRule(*opt)
			if err != nil {
				t.Fatal(err)
			}
			for _, at := range r.Between(wall.Add(time.Second), until, true) {
				onsets = append(onsets, onset{at, to})
			}
		}
	}
	sort.Slice(onsets, func(i, j int) bool { return onsets[i].at.Before(onsets[j].at) })
	return func(at time.Time) (int, bool) {
		off, ok := 0, false
		for _, o := range onsets {
			if o.at.After(at) {
				break
			}
			off, ok = o.to, true
		}
		return off, ok
	}
}

// TestVTimezone: the VTIMEZONE written for a zone gives that zone's offset
// at every hour of the span, including across a rule change (US 2007), in
// the southern hemisphere and without DST; it survives go-ical's encoder
// and decoder; and read back under a TZID nobody knows it resolves to the
// same rules.
func TestVTimezone(t *testing.T) {
	z := newZones(nil)
	for _, tc := range []struct {
		zone     string
		from, to int
		want     []string // lines the text must hold
	}{
		{"Europe/Berlin", 2026, 2026, []string{"RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU", "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU", "TZOFFSETTO:+0200", "TZNAME:CEST"}},
		{"America/New_York", 2005, 2009, []string{"RRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=1SU;UNTIL=20060402T070000Z", "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU", "RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU"}},
		{"Australia/Sydney", 2026, 2027, []string{"RRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=1SU", "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=1SU", "TZOFFSETTO:+1100"}},
		{"Asia/Kolkata", 2026, 2026, []string{"TZOFFSETFROM:+0530", "TZOFFSETTO:+0530"}},
		{"Europe/Moscow", 2010, 2016, []string{"TZOFFSETTO:+0400", "TZOFFSETTO:+0300"}},   // DST, then +04, then +03
		{"Europe/Berlin", 2039, 2041, []string{"RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU"}}, // beyond tzdata's table
		{"built", 2024, 2027, []string{"RRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=2SU", "DTSTART:20230409T020000"}},
	} {
		t.Run(tc.zone, func(t *testing.T) {
			var loc *time.Location
			if tc.zone == "built" { // a zone made from a blob: its rules live in a TZ string
				var err error
				loc, err = locationFromBlob(Blob{Bias: -90, DaylightBias: -60,
					StandardDate: SystemTime{Month: 10, Day: 1, Hour: 3},
					DaylightDate: SystemTime{Month: 4, Day: 2, Hour: 2}}, "built")
				if err != nil {
					t.Fatal(err)
				}
			} else {
				loc = mustLoad(t, tc.zone)
			}
			from := time.Date(tc.from, 1, 1, 0, 0, 0, 0, loc)
			to := time.Date(tc.to, 12, 31, 23, 0, 0, 0, loc)
			vtz := z.VTimezone(loc, from, to)

			cal := ical.NewCalendar()
			cal.Props.SetText(ical.PropVersion, "2.0")
			cal.Props.SetText(ical.PropProductID, "-//idlebridge//caltz test//EN")
			cal.Children = append(cal.Children, vtz)
			var buf bytes.Buffer
			if err := ical.NewEncoder(&buf).Encode(cal); err != nil {
				t.Fatalf("encode: %v", err)
			}
			text := buf.String()
			for _, w := range tc.want {
				if !strings.Contains(text, w+"\r\n") {
					t.Errorf("missing %q in\n%s", w, text)
				}
			}
			back, err := ical.NewDecoder(strings.NewReader(text)).Decode()
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			offset := offsetsOf(t, back.Children[0], to.Add(24*time.Hour))
			for at := from; !at.After(to); at = at.Add(time.Hour) {
				_, want := at.Zone()
				got, ok := offset(at)
				if !ok || got != want {
					t.Fatalf("at %s: VTIMEZONE says %d (%v), zone %d\n%s", at.UTC(), got, ok, want, text)
				}
			}
			// Under an unknown TZID the rules still find the zone's rules.
			renamed := back.Children[0]
			renamed.Props.SetText(ical.PropTimezoneID, "Someone's zone")
			got, err := New(Options{Now: func() time.Time { return to }}).Resolve("Someone's zone", renamed)
			if err != nil {
				t.Fatal(err)
			}
			if at := sameOffsets(got, loc, tc.to); !at.IsZero() {
				t.Errorf("resolved %s disagrees with %s at %s", got, loc, at)
			}
		})
	}
}
