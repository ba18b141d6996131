package caltz

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"
)

// icalLocal is the form of DTSTART inside a VTIMEZONE observance: local
// time, no TZID, no Z (RFC 5545 3.6.5).
const icalLocal = "20060102T150405"

// VTimezone returns a VTIMEZONE for loc over [from, to] (RFC 5545 3.6.5: a
// TZID written to the server always has its VTIMEZONE). Years with the same
// rules share one STANDARD and one DAYLIGHT observance with a yearly RRULE
// (BYMONTH, BYDAY; UNTIL when the rules change later in the span); a year
// whose rules match no neighbour gets observances with a DTSTART alone. The
// span starts a year early so that the months before from's first
// transition are covered too.
func (z *Zones) VTimezone(loc *time.Location, from, to time.Time) *ical.Component {
	if to.Before(from) {
		from, to = to, from
	}
	vtz := ical.NewComponent(ical.CompTimezone)
	vtz.Props.SetText(ical.PropTimezoneID, loc.String())

	type group struct {
		first, last yearRules
		firstYear   int
		key         string
	}
	var groups []group
	for y := from.In(loc).Year() - 1; y <= to.In(loc).Year(); y++ {
		r := rulesOf(loc, y)
		key := ruleKey(r)
		if n := len(groups); n > 0 && groups[n-1].key == key {
			groups[n-1].last = r
			continue
		}
		groups = append(groups, group{first: r, last: r, firstYear: y, key: key})
	}
	prev := 0
	for i, g := range groups {
		open := i == len(groups)-1
		if i == 0 {
			prev = g.first.std
			if g.first.hasDST() {
				prev = g.first.dst
			}
		}
		if !g.first.hasDST() {
			start := time.Date(g.firstYear, time.January, 1, 0, 0, 0, 0, time.UTC)
			if prev != g.first.std { // the zone moved its offset that year: start there
				for _, x := range transitions(loc, g.firstYear) {
					if x.to == g.first.std {
						start = localWall(x.at, x.from)
					}
				}
			}
			vtz.Children = append(vtz.Children, observance(ical.CompTimezoneStandard, start, prev, g.first.std, g.first.stdAbbr, ""))
			prev = g.first.std
			continue
		}
		dstRule := ruleFor(g.first.toDST, g.first.std)
		stdRule := ruleFor(g.first.toStd, g.first.dst)
		same := g.first.toDST.Equal(g.last.toDST)
		vtz.Children = append(vtz.Children,
			observance(ical.CompTimezoneDaylight, localWall(g.first.toDST, g.first.std), g.first.std, g.first.dst, g.first.dstAb,
				yearlyRRule(dstRule, g.last.toDST, open, same)),
			observance(ical.CompTimezoneStandard, localWall(g.first.toStd, g.first.dst), g.first.dst, g.first.std, g.first.stdAbbr,
				yearlyRRule(stdRule, g.last.toStd, open, same)))
		prev = g.last.std
	}
	return vtz
}

// ruleKey identifies a year's rules for grouping.
func ruleKey(r yearRules) string {
	if !r.hasDST() {
		return fmt.Sprintf("%d", r.std)
	}
	s, d := ruleFor(r.toStd, r.dst), ruleFor(r.toDST, r.std)
	return fmt.Sprintf("%d/%d/%v/%v", r.std, r.dst, s, d)
}

func localWall(at time.Time, off int) time.Time {
	w := at.In(time.FixedZone("", off))
	return time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, time.UTC)
}

// yearlyRRule returns the yearly rule for st; "" for a group of one year that
// is not the last. UNTIL is the last occurrence in UTC (RFC 5545 3.3.10:
// with a local DTSTART inside VTIMEZONE, UNTIL is UTC).
func yearlyRRule(st SystemTime, last time.Time, open, single bool) string {
	if single && !open {
		return ""
	}
	n := int(st.Day)
	if n == 5 {
		n = -1
	}
	s := fmt.Sprintf("FREQ=YEARLY;BYMONTH=%d;BYDAY=%d%s", st.Month, n, weekdays[st.DayOfWeek])
	if !open {
		s += ";UNTIL=" + last.UTC().Format(icalLocal) + "Z"
	}
	return s
}

var weekdays = [7]string{"SU", "MO", "TU", "WE", "TH", "FR", "SA"}

func observance(kind string, start time.Time, from, to int, name, rule string) *ical.Component {
	c := ical.NewComponent(kind)
	set := func(prop, value string) {
		p := ical.NewProp(prop)
		p.Value = value
		c.Props.Set(p)
	}
	set(ical.PropDateTimeStart, start.Format(icalLocal))
	set(ical.PropTimezoneOffsetFrom, formatOffset(from))
	set(ical.PropTimezoneOffsetTo, formatOffset(to))
	if rule != "" {
		set(ical.PropRecurrenceRule, rule)
	}
	if name != "" {
		c.Props.SetText(ical.PropTimezoneName, name)
	}
	return c
}

// formatOffset writes RFC 5545 3.3.14 UTC-OFFSET: ±HHMM, ±HHMMSS when
// seconds are not zero.
func formatOffset(off int) string {
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	s := fmt.Sprintf("%c%02d%02d", sign, off/3600, off/60%60)
	if off%60 != 0 {
		s += fmt.Sprintf("%02d", off%60)
	}
	return s
}

func parseOffset(s string) (int, error) {
	s = strings.TrimSpace(s)
	if len(s) != 5 && len(s) != 7 || (s[0] != '+' && s[0] != '-') {
		return 0, fmt.Errorf("bad UTC offset %q", s)
	}
	var parts [3]int
	for i := 1; i+2 <= len(s); i += 2 {
		v, err := strconv.Atoi(s[i : i+2])
		if err != nil || v < 0 {
			return 0, fmt.Errorf("bad UTC offset %q", s)
		}
		parts[i/2] = v
	}
	if parts[0] > 23 || parts[1] > 59 || parts[2] > 59 {
		return 0, fmt.Errorf("bad UTC offset %q", s)
	}
	n := parts[0]*3600 + parts[1]*60 + parts[2]
	if s[0] == '-' {
		n = -n
	}
	return n, nil
}

// obs is one STANDARD or DAYLIGHT observance reduced to what a blob holds.
type obs struct {
	to   int        // TZOFFSETTO
	rule SystemTime // recurring when the RRULE is a yearly nth-weekday rule
	end  time.Time  // last occurrence; zero = open-ended
	open bool
}

var errNoObservance = errors.New("VTIMEZONE has no STANDARD or DAYLIGHT")

// blobFromVTimezone reduces a VTIMEZONE to the blob of the rules it ends
// with (the observance of each kind that lasts longest), and the year to
// match them in: nowYear for open-ended yearly rules, else the year of the
// last transition.
func blobFromVTimezone(vtz *ical.Component, nowYear int) (Blob, int, error) {
	var std, dst *obs
	for _, c := range vtz.Children {
		if c.Name != ical.CompTimezoneStandard && c.Name != ical.CompTimezoneDaylight {
			continue
		}
		o, err := parseObservance(c)
		if err != nil {
			return Blob{}, 0, err
		}
		p := &std
		if c.Name == ical.CompTimezoneDaylight {
			p = &dst
		}
		if *p == nil || later(o, **p) {
			*p = &o
		}
	}
	if std == nil && dst == nil {
		return Blob{}, 0, errNoObservance
	}
	if std == nil { // DAYLIGHT only: a zone that stays on it
		std, dst = dst, nil
	}
	b := Blob{Bias: int32(-std.to / 60)}
	// DST holds when both kinds go on to the same end (both open, or ending
	// within a year of each other); a DAYLIGHT that stopped earlier is history.
	useDST := dst != nil && dst.to != std.to &&
		(std.open && dst.open || !std.open && !dst.open && near(std.end, dst.end, 366*24*time.Hour))
	year := nowYear
	if !useDST {
		return b, year, nil
	}
	b.StandardDate, b.DaylightDate = std.rule, dst.rule
	b.DaylightBias = int32(-(dst.to - std.to) / 60)
	if !std.open {
		year = std.end.Year()
	}
	return b, year, b.validate()
}

func later(a, b obs) bool {
	if a.open != b.open {
		return a.open
	}
	return a.end.After(b.end)
}

func parseObservance(c *ical.Component) (obs, error) {
	var o obs
	start, err := propLocal(c, ical.PropDateTimeStart)
	if err != nil {
		return o, err
	}
	to := c.Props.Get(ical.PropTimezoneOffsetTo)
	if to == nil {
		return o, fmt.Errorf("%s without TZOFFSETTO", c.Name)
	}
	if o.to, err = parseOffset(to.Value); err != nil {
		return o, err
	}
	o.end = start
	for _, rd := range c.Props.Values(ical.PropRecurrenceDates) {
		for _, v := range strings.Split(rd.Value, ",") {
			if t, err := time.Parse(icalLocal, strings.TrimSuffix(v, "Z")); err == nil && t.After(o.end) {
				o.end = t
			}
		}
	}
	if rr := c.Props.Get(ical.PropRecurrenceRule); rr != nil {
		if rule, until, ok := yearlyRule(rr.Value, start); ok {
			o.rule = rule
			o.open = until.IsZero()
			if !o.open {
				o.end = until
			}
			return o, nil
		}
	}
	// A single date (or RDATEs): the blob's absolute form, wYear != 0.
	o.rule = SystemTime{
		Year: uint16(o.end.Year()), Month: uint16(o.end.Month()), Day: uint16(o.end.Day()),
		DayOfWeek: uint16(o.end.Weekday()), Hour: uint16(o.end.Hour()), Minute: uint16(o.end.Minute()), Second: uint16(o.end.Second()),
	}
	return o, o.rule.validate()
}

func propLocal(c *ical.Component, name string) (time.Time, error) {
	p := c.Props.Get(name)
	if p == nil {
		return time.Time{}, fmt.Errorf("%s without %s", c.Name, name)
	}
	v := strings.TrimSuffix(strings.TrimSpace(p.Value), "Z")
	t, err := time.Parse(icalLocal, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %s: %w", c.Name, name, err)
	}
	return t, nil
}

// yearlyRule reads FREQ=YEARLY;BYMONTH=m;BYDAY=nDD (n = -1 for last), also
// the older BYDAY=DD;BYMONTHDAY=8,…,14 form, as a recurring SYSTEMTIME at
// start's wall clock. until is zero when the rule does not end.
func yearlyRule(v string, start time.Time) (SystemTime, time.Time, bool) {
	var (
		st      = SystemTime{Hour: uint16(start.Hour()), Minute: uint16(start.Minute()), Second: uint16(start.Second())}
		until   time.Time
		yearly  bool
		byday   string
		monthOK bool
		mday    []int
	)
	for _, part := range strings.Split(v, ";") {
		k, val, _ := strings.Cut(part, "=")
		switch strings.ToUpper(k) {
		case "FREQ":
			yearly = strings.EqualFold(val, "YEARLY")
		case "BYMONTH":
			m, err := strconv.Atoi(val)
			if err != nil || m < 1 || m > 12 {
				return st, until, false
			}
			st.Month, monthOK = uint16(m), true
		case "BYDAY":
			byday = strings.ToUpper(val)
		case "BYMONTHDAY":
			for _, s := range strings.Split(val, ",") {
				d, err := strconv.Atoi(s)
				if err != nil {
					return st, until, false
				}
				mday = append(mday, d)
			}
		case "UNTIL":
			t, err := time.Parse(icalLocal, strings.TrimSuffix(val, "Z"))
			if err != nil {
				if t, err = time.Parse("20060102", val); err != nil {
					return st, until, false
				}
			}
			until = t
		case "INTERVAL":
			if val != "1" {
				return st, until, false
			}
		}
	}
	if !yearly || !monthOK || len(byday) < 2 {
		return st, until, false
	}
	dow := -1
	for i, w := range weekdays {
		if strings.HasSuffix(byday, w) {
			dow = i
		}
	}
	if dow < 0 {
		return st, until, false
	}
	st.DayOfWeek = uint16(dow)
	n := 0
	if num := byday[:len(byday)-2]; num != "" {
		var err error
		if n, err = strconv.Atoi(strings.TrimPrefix(num, "+")); err != nil {
			return st, until, false
		}
	} else if len(mday) > 0 {
		n = (mday[0]-1)/7 + 1
		if mday[0] < 0 {
			n = -1
		}
	}
	switch {
	case n == -1 || n == 5:
		st.Day = 5
	case n >= 1 && n <= 4:
		st.Day = uint16(n)
	default:
		return st, until, false
	}
	return st, until, true
}
