package calconv

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/emersion/go-ical"
)

// Zones resolves iCalendar time zones and converts them to and from the
// EAS TimeZone blob (MS-ASDTYPE 2.7.6; 172 bytes, little-endian, raw — not base64).
type Zones interface {
	// Resolve returns the location for a TZID as written in iCalendar, using
	// the calendar's VTIMEZONE of that TZID when one is given (may be nil).
	Resolve(tzid string, vtimezone *ical.Component) (*time.Location, error)
	// Blob encodes loc's rules in force in the given year as a TimeZone blob.
	Blob(loc *time.Location, year int) []byte
	// FromBlob finds the location whose rules in the given year match the
	// blob; when none matches it returns a fixed or rule-built location
	// (never UTC silently) and ok=false.
	FromBlob(blob []byte, year int) (loc *time.Location, ok bool, err error)
	// VTimezone returns a VTIMEZONE component describing loc over [from, to],
	// for writing next to a TZID the server may not know.
	VTimezone(loc *time.Location, from, to time.Time) *ical.Component
}

// IANAZones is the minimal Zones this package tests with: TZIDs must be
// IANA names, blobs are built from Go's zone transitions and matched
// against a fixed candidate list. bridge/caltz is the real implementation
// (Windows names, VTIMEZONE matching, CLDR tie-breaks).
type IANAZones struct {
	// Candidates are the zones FromBlob tries, in order.
	Candidates []string
}

// Resolve implements Zones by IANA name only.
func (z IANAZones) Resolve(tzid string, _ *ical.Component) (*time.Location, error) {
	loc, err := time.LoadLocation(tzid)
	if err != nil {
		return nil, fmt.Errorf("calconv: unknown TZID %q: %w", tzid, err)
	}
	return loc, nil
}

const blobSize = 172

// Blob implements Zones from the two transitions of the year (MS-ASDTYPE
// 2.7.6: UTC = local + Bias; the rule times are local before the switch).
func (z IANAZones) Blob(loc *time.Location, year int) []byte {
	b := make([]byte, blobSize)
	std, dst, toStd, toDst := yearRules(loc, year)
	binary.LittleEndian.PutUint32(b[0:], uint32(int32(-std/60)))
	if !toStd.IsZero() {
		putRule(b[68:84], toStd.In(time.FixedZone("", dst)))
		putRule(b[152:168], toDst.In(time.FixedZone("", std)))
		binary.LittleEndian.PutUint32(b[168:], uint32(int32(-(dst-std)/60)))
	}
	return b
}

// yearRules returns the standard and daylight offsets (seconds) of loc in
// year and the instants of the switches to each; zero instants when the
// zone keeps one offset all year.
func yearRules(loc *time.Location, year int) (std, dst int, toStd, toDst time.Time) {
	t := time.Date(year, 1, 1, 0, 0, 0, 0, loc)
	_, std = t.Zone()
	dst = std
	end := time.Date(year+1, 1, 1, 0, 0, 0, 0, loc)
	for range 32 { // a few changes a year at most
		_, next := t.ZoneBounds()
		// Far past tzdata's table (years like 4000) ZoneBounds can fail to
		// move on: stop rather than loop.
		if next.IsZero() || !next.Before(end) || !next.After(t) {
			break
		}
		_, off := next.Zone()
		if next.IsDST() {
			toDst, dst = next, off
		} else {
			toStd, std = next, off
		}
		t = next
	}
	if toStd.IsZero() || toDst.IsZero() {
		return std, std, time.Time{}, time.Time{}
	}
	return std, dst, toStd, toDst
}

// putRule writes a recurring SYSTEMTIME rule (wYear 0): month, weekday and
// occurrence 1–5 (5 = last) of the local switch time t.
func putRule(b []byte, t time.Time) {
	week := (t.Day()-1)/7 + 1
	if t.AddDate(0, 0, 7).Month() != t.Month() {
		week = 5
	}
	for i, v := range []int{0, int(t.Month()), int(t.Weekday()), week, t.Hour(), t.Minute(), 0, 0} {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
	}
}

// FromBlob implements Zones by comparing the candidates' blobs, names aside.
func (z IANAZones) FromBlob(blob []byte, year int) (*time.Location, bool, error) {
	if len(blob) != blobSize {
		return nil, false, fmt.Errorf("calconv: TimeZone blob of %d bytes, want %d", len(blob), blobSize)
	}
	for _, name := range z.Candidates {
		loc, err := time.LoadLocation(name)
		if err != nil {
			continue
		}
		if sameRules(z.Blob(loc, year), blob) {
			return loc, true, nil
		}
	}
	bias := int32(binary.LittleEndian.Uint32(blob))
	return time.FixedZone("", int(-bias)*60), false, nil
}

func sameRules(a, b []byte) bool {
	return string(a[0:4]) == string(b[0:4]) && string(a[68:88]) == string(b[68:88]) && string(a[152:172]) == string(b[152:172])
}

// VTimezone implements Zones with one STANDARD (and DAYLIGHT) rule taken
// from the year of from.
func (z IANAZones) VTimezone(loc *time.Location, from, _ time.Time) *ical.Component {
	vtz := ical.NewComponent(ical.CompTimezone)
	vtz.Props.SetText(ical.PropTimezoneID, loc.String())
	std, dst, toStd, toDst := yearRules(loc, from.Year())
	if toStd.IsZero() {
		vtz.Children = append(vtz.Children, tzRule(ical.CompTimezoneStandard, time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), std, std, ""))
		return vtz
	}
	vtz.Children = append(vtz.Children,
		tzRule(ical.CompTimezoneStandard, toStd.In(time.FixedZone("", dst)), dst, std, byDayRule(toStd.In(loc))),
		tzRule(ical.CompTimezoneDaylight, toDst.In(time.FixedZone("", std)), std, dst, byDayRule(toDst.In(loc))))
	return vtz
}

func tzRule(name string, localStart time.Time, from, to int, rrule string) *ical.Component {
	c := ical.NewComponent(name)
	c.Props.Set(&ical.Prop{Name: ical.PropDateTimeStart, Params: ical.Params{}, Value: localStart.Format("20060102T150405")})
	c.Props.Set(&ical.Prop{Name: ical.PropTimezoneOffsetFrom, Params: ical.Params{}, Value: utcOffset(from)})
	c.Props.Set(&ical.Prop{Name: ical.PropTimezoneOffsetTo, Params: ical.Params{}, Value: utcOffset(to)})
	if rrule != "" {
		c.Props.Set(&ical.Prop{Name: ical.PropRecurrenceRule, Params: ical.Params{}, Value: rrule})
	}
	return c
}

func byDayRule(t time.Time) string {
	n := (t.Day()-1)/7 + 1
	if t.AddDate(0, 0, 7).Month() != t.Month() {
		n = -1
	}
	return fmt.Sprintf("FREQ=YEARLY;BYMONTH=%d;BYDAY=%d%s", t.Month(), n, dayName(t.Weekday()))
}

func utcOffset(sec int) string {
	sign := '+'
	if sec < 0 {
		sign, sec = '-', -sec
	}
	return fmt.Sprintf("%c%02d%02d", sign, sec/3600, sec/60%60)
}

// icalDayNames are the RFC 5545 weekday names in time.Weekday order.
const icalDayNames = "SUMOTUWETHFRSA"

func dayName(w time.Weekday) string { return icalDayNames[2*w : 2*w+2] }

// dayIndex returns the time.Weekday of an RFC 5545 weekday name.
func dayIndex(s string) (time.Weekday, bool) {
	for w := time.Sunday; w <= time.Saturday; w++ {
		if dayName(w) == s {
			return w, true
		}
	}
	return 0, false
}
