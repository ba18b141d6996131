package caltz

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"
)

// outlookBerlin is the VTIMEZONE Outlook writes for a zone it calls
// "Customized Time Zone": Berlin's rules from 1601, no IANA name anywhere.
const outlookBerlin = "BEGIN:VTIMEZONE\r\nTZID:Customized Time Zone\r\n" +
	"BEGIN:STANDARD\r\nDTSTART:16010101T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\n" +
	"RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10\r\nEND:STANDARD\r\n" +
	"BEGIN:DAYLIGHT\r\nDTSTART:16010101T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\n" +
	"RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n"

// odd is a zone no IANA zone has: +01:30, +02:30 from the 2nd Sunday of
// April to the 1st Sunday of October.
const odd = "BEGIN:VTIMEZONE\r\nTZID:Odd Zone\r\n" +
	"BEGIN:STANDARD\r\nDTSTART:20000101T030000\r\nTZOFFSETFROM:+0230\r\nTZOFFSETTO:+0130\r\n" +
	"RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=10\r\nEND:STANDARD\r\n" +
	"BEGIN:DAYLIGHT\r\nDTSTART:20000101T020000\r\nTZOFFSETFROM:+0130\r\nTZOFFSETTO:+0230\r\n" +
	"RRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=4\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n"

// event is a VCALENDAR with one VEVENT at 09:00 local on 2026-07-01 in tzid,
// with vtz (may be empty) beside it.
func event(tzid, vtz string) string {
	return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n" + vtz +
		"BEGIN:VEVENT\r\nUID:p1@test\r\nDTSTAMP:20260101T000000Z\r\n" +
		"DTSTART;TZID=" + tzid + ":20260701T090000\r\nSUMMARY:P1\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
}

// startOf parses text and resolves its VEVENT's DTSTART the way calconv
// does: TZID parameter, the VTIMEZONE of that TZID, Zones.Resolve.
func startOf(t *testing.T, z *Zones, text string) (time.Time, *time.Location) {
	t.Helper()
	cal, err := ical.NewDecoder(strings.NewReader(text)).Decode()
	if err != nil {
		t.Fatal(err)
	}
	var ev *ical.Component
	vtzs := map[string]*ical.Component{}
	for _, c := range cal.Children {
		switch c.Name {
		case ical.CompEvent:
			ev = c
		case ical.CompTimezone:
			id, _ := c.Props.Text(ical.PropTimezoneID)
			vtzs[id] = c
		}
	}
	p := ev.Props.Get(ical.PropDateTimeStart)
	tzid := p.Params.Get(ical.ParamTimezoneID)
	loc, err := z.Resolve(tzid, vtzs[tzid])
	if err != nil {
		t.Fatalf("Resolve(%q): %v", tzid, err)
	}
	at, err := time.ParseInLocation(icalLocal, p.Value, loc)
	if err != nil {
		t.Fatal(err)
	}
	return at, loc
}

// TestResolveP1 is research note P1: four spellings of Berlin, one of them
// only a VTIMEZONE, all give 07:00Z and the Berlin blob.
func TestResolveP1(t *testing.T) {
	z := newZones(nil)
	berlinBlob := z.Blob(mustLoad(t, "Europe/Berlin"), 2026)
	for _, tc := range []struct{ tzid, vtz string }{
		{"Europe/Berlin", ""},
		{"W. Europe Standard Time", ""},
		{"/mozilla.org/20050126_1/Europe/Berlin", ""},
		{`"Customized Time Zone"`, outlookBerlin},
		{"/inverse.ca/20091015_1/Europe/Berlin", ""},
		{`"(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna"`, ""},
		{"w. europe standard time", ""},
	} {
		t.Run(tc.tzid, func(t *testing.T) {
			at, loc := startOf(t, z, event(tc.tzid, tc.vtz))
			if got := at.UTC().Format(icalLocal + "Z"); got != "20260701T070000Z" {
				t.Errorf("start %s, want 20260701T070000Z", got)
			}
			if b := z.Blob(loc, 2026); !bytes.Equal(b, berlinBlob) {
				b1, _ := DecodeBlob(b)
				t.Errorf("blob of %s is not Berlin's: %+v", loc, b1)
			}
		})
	}
}

func TestResolveOthers(t *testing.T) {
	z := newZones(nil)
	t.Run("old IANA name is canonicalised", func(t *testing.T) {
		loc, err := z.Resolve("Asia/Calcutta", nil)
		if err != nil || loc.String() != "Asia/Kolkata" {
			t.Errorf("%v %v", loc, err)
		}
	})
	t.Run("Windows ID to the 001 zone", func(t *testing.T) {
		loc, err := z.Resolve("Eastern Standard Time", nil)
		if err != nil || loc.String() != "America/New_York" {
			t.Errorf("%v %v", loc, err)
		}
	})
	t.Run("unknown without VTIMEZONE is an error, not UTC", func(t *testing.T) {
		for _, id := range []string{"Nowhere/Special", "", "Local", "../../etc/passwd", "UTC+01:00 made up"} {
			if loc, err := z.Resolve(id, nil); !errors.Is(err, ErrUnknownZone) {
				t.Errorf("%q: %v %v, want ErrUnknownZone", id, loc, err)
			}
		}
	})
	t.Run("VTIMEZONE matching no zone is used as such", func(t *testing.T) {
		at, loc := startOf(t, z, event("Odd Zone", odd))
		if loc.String() != "Odd Zone" {
			t.Errorf("location %q, want the TZID", loc)
		}
		// July: daylight, +02:30.
		if got := at.UTC().Format(time.RFC3339); got != "2026-07-01T06:30:00Z" {
			t.Errorf("start %s", got)
		}
		jan := time.Date(2026, 1, 10, 9, 0, 0, 0, loc).UTC().Format(time.RFC3339)
		if jan != "2026-01-10T07:30:00Z" {
			t.Errorf("January %s", jan)
		}
		// 2nd Sunday of April 2026 is the 12th: 02:00 → 03:00 (+01:30 → +02:30).
		before := time.Date(2026, 4, 12, 0, 29, 0, 0, time.UTC).In(loc)
		after := time.Date(2026, 4, 12, 0, 30, 0, 0, time.UTC).In(loc)
		if _, o := before.Zone(); o != 90*60 {
			t.Errorf("before switch offset %d", o)
		}
		if _, o := after.Zone(); o != 150*60 {
			t.Errorf("after switch offset %d", o)
		}
	})
	t.Run("VTIMEZONE without observances is an error", func(t *testing.T) {
		vtz := ical.NewComponent(ical.CompTimezone)
		vtz.Props.SetText(ical.PropTimezoneID, "Empty")
		if _, err := z.Resolve("Empty", vtz); !errors.Is(err, ErrUnknownZone) {
			t.Errorf("%v", err)
		}
	})
	t.Run("VTIMEZONE with a fixed offset", func(t *testing.T) {
		text := "BEGIN:VTIMEZONE\r\nTZID:India\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\n" +
			"TZOFFSETFROM:+0530\r\nTZOFFSETTO:+0530\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
		_, loc := startOf(t, z, event("Kolkata-ish", strings.Replace(text, "TZID:India", "TZID:Kolkata-ish", 1)))
		if loc.String() != "Asia/Kolkata" {
			t.Errorf("%s, want Asia/Kolkata", loc)
		}
	})
}

// FuzzResolve: any TZID and VTIMEZONE a server may hold resolves or fails
// with an error, never panics, and a resolved zone is usable. The
// component is built from the fuzzed values directly: go-ical's own
// decoder is not what is under test (it panics on some input, e.g. a
// content line "0;0=0" — calconv must guard its parse).
func FuzzResolve(f *testing.F) {
	z := newZones(nil)
	f.Add("Customized Time Zone", "16010101T030000", "+0200", "+0100", "FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10", "",
		"16010101T020000", "+0100", "+0200", "FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3", "")
	f.Add("X", "20260101T000000", "+0100", "+0000", "", "20261025T030000", "20260301T020000", "+0000", "+0100", "", "20260301T020000,20270301T020000")
	f.Add("/mozilla.org/20050126_1/Europe/Berlin", "", "", "", "", "", "", "", "", "", "")
	f.Add("Y", "19700101T000000", "+0530", "+0530", "FREQ=YEARLY;BYMONTHDAY=-7,-6;BYDAY=SU;BYMONTH=4;UNTIL=20300101", "", "", "", "", "", "")
	f.Fuzz(func(t *testing.T, tzid, sStart, sFrom, sTo, sRule, sRDate, dStart, dFrom, dTo, dRule, dRDate string) {
		vtz := ical.NewComponent(ical.CompTimezone)
		vtz.Props.SetText(ical.PropTimezoneID, tzid)
		add := func(kind, start, from, to, rule, rdate string) {
			if start == "" {
				return
			}
			c := ical.NewComponent(kind)
			for name, v := range map[string]string{ical.PropDateTimeStart: start, ical.PropTimezoneOffsetFrom: from,
				ical.PropTimezoneOffsetTo: to, ical.PropRecurrenceRule: rule, ical.PropRecurrenceDates: rdate} {
				if v != "" {
					p := ical.NewProp(name)
					p.Value = v
					c.Props.Set(p)
				}
			}
			vtz.Children = append(vtz.Children, c)
		}
		add(ical.CompTimezoneStandard, sStart, sFrom, sTo, sRule, sRDate)
		add(ical.CompTimezoneDaylight, dStart, dFrom, dTo, dRule, dRDate)
		loc, err := z.Resolve(tzid, vtz)
		if err != nil {
			return
		}
		_ = time.Date(2026, 7, 1, 9, 0, 0, 0, loc).UTC()
		_ = z.Blob(loc, 2026)
		_ = z.VTimezone(loc, time.Date(2026, 1, 1, 0, 0, 0, 0, loc), time.Date(2026, 12, 31, 0, 0, 0, 0, loc))
	})
}
