package calconv

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/idlebridge/idlebridge/activesync/items"
)

// rrule is an RRULE value (RFC 5545 3.3.10) split into its parts, upper-cased
// names, values as written.
type rrule map[string]string

func parseRRule(s string) (rrule, error) {
	r := rrule{}
	for _, part := range strings.Split(s, ";") {
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok || v == "" {
			return nil, fmt.Errorf("calconv: RRULE part %q", part)
		}
		k = strings.ToUpper(k)
		if _, dup := r[k]; dup {
			return nil, fmt.Errorf("calconv: RRULE repeats %s", k)
		}
		r[k] = strings.ToUpper(v)
	}
	if r["FREQ"] == "" {
		return nil, fmt.Errorf("calconv: RRULE without FREQ")
	}
	return r, nil
}

// errInexpressible marks an RRULE EAS has no form for (research note P7).
type errInexpressible struct{ why string }

func (e *errInexpressible) Error() string { return "calconv: not expressible in EAS: " + e.why }

func inexpressible(format string, args ...any) error {
	return &errInexpressible{fmt.Sprintf(format, args...)}
}

// byDay is one BYDAY entry: an optional ordinal and a weekday.
type byDay struct {
	n   int // 0 = every
	day time.Weekday
}

func parseByDay(s string) ([]byDay, error) {
	var out []byDay
	for _, e := range strings.Split(s, ",") {
		if len(e) < 2 {
			return nil, fmt.Errorf("calconv: BYDAY %q", e)
		}
		d, ok := dayIndex(e[len(e)-2:])
		if !ok {
			return nil, fmt.Errorf("calconv: BYDAY %q", e)
		}
		n := 0
		if num := e[:len(e)-2]; num != "" {
			var err error
			if n, err = strconv.Atoi(num); err != nil || n == 0 || n < -53 || n > 53 {
				return nil, fmt.Errorf("calconv: BYDAY %q", e)
			}
		}
		out = append(out, byDay{n, d})
	}
	return out, nil
}

// dayMask is the MS-ASCAL 2.2.2.15 DayOfWeek bit mask of the days.
func dayMask(days []byDay) int {
	m := 0
	for _, d := range days {
		m |= 1 << d.day
	}
	return m
}

// weekOfMonth maps an ordinal to MS-ASCAL 2.2.2.48 WeekOfMonth: 1–4, and 5
// for the last; other ordinals (−2, 5 as "fifth") have no EAS form.
func weekOfMonth(n int) (int, bool) {
	switch {
	case n >= 1 && n <= 4:
		return n, true
	case n == -1:
		return items.WeekOfMonthLast, true
	}
	return 0, false
}

// toRecurrence maps an RRULE to an EAS Recurrence (research note §2.4).
// start is DTSTART in the series zone, used where the rule leaves the day to
// it; until converts an UNTIL value to the instant EAS carries.
func toRecurrence(value string, start time.Time, until func(string) (time.Time, error)) (*items.Recurrence, error) {
	r, err := parseRRule(value)
	if err != nil {
		return nil, err
	}
	rec := &items.Recurrence{}
	interval := 1
	if s, ok := r["INTERVAL"]; ok {
		if interval, err = strconv.Atoi(s); err != nil || interval < 1 || interval > 999 {
			return nil, fmt.Errorf("calconv: RRULE INTERVAL %q", s)
		}
	}
	rec.Interval = items.Ptr(interval)
	if s, ok := r["COUNT"]; ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("calconv: RRULE COUNT %q", s)
		}
		// grommunio and Exchange accept 1–999 occurrences.
		if n > 999 {
			return nil, inexpressible("COUNT=%d", n)
		}
		rec.Occurrences = items.Ptr(n)
	}
	if s, ok := r["UNTIL"]; ok {
		if rec.Occurrences != nil {
			return nil, fmt.Errorf("calconv: RRULE has both COUNT and UNTIL")
		}
		u, err := until(s)
		if err != nil {
			return nil, fmt.Errorf("calconv: RRULE UNTIL: %w", err)
		}
		rec.Until = &u
	}
	if s, ok := r["WKST"]; ok {
		d, ok := dayIndex(s)
		if !ok {
			return nil, fmt.Errorf("calconv: RRULE WKST %q", s)
		}
		rec.FirstDayOfWeek = items.Ptr(int(d))
	}
	for k := range r {
		switch k {
		case "FREQ", "INTERVAL", "COUNT", "UNTIL", "WKST", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS":
		case "RSCALE":
			if r[k] != "GREGORIAN" {
				return nil, inexpressible("RSCALE=%s", r[k])
			}
		default:
			return nil, inexpressible("%s", k)
		}
	}
	var days []byDay
	if s, ok := r["BYDAY"]; ok {
		if days, err = parseByDay(s); err != nil {
			return nil, err
		}
	}
	monthDay, hasMonthDay, err := singleInt(r, "BYMONTHDAY", -31, 31)
	if err != nil {
		return nil, err
	}
	month, hasMonth, err := singleInt(r, "BYMONTH", 1, 12)
	if err != nil {
		return nil, err
	}
	setPos, hasSetPos, err := singleInt(r, "BYSETPOS", -366, 366)
	if err != nil {
		return nil, err
	}
	if hasMonthDay && len(days) > 0 {
		return nil, inexpressible("BYMONTHDAY with BYDAY")
	}
	if hasSetPos && len(days) == 0 {
		return nil, inexpressible("BYSETPOS without BYDAY")
	}

	switch r["FREQ"] {
	case "DAILY":
		if hasMonthDay || hasMonth || hasSetPos {
			return nil, inexpressible("DAILY with BYMONTH/BYMONTHDAY/BYSETPOS")
		}
		if len(days) == 0 {
			rec.Type = items.RecurDaily
			return rec, nil
		}
		// DAILY;BYDAY=MO,…,FR is the same set as WEEKLY;BYDAY=… only every
		// day-week: with INTERVAL>1 the daily steps skip across weeks.
		if interval != 1 || hasOrdinal(days) {
			return nil, inexpressible("DAILY with BYDAY and INTERVAL or ordinals")
		}
		rec.Type, rec.DayOfWeek = items.RecurWeekly, items.Ptr(dayMask(days))
	case "WEEKLY":
		if hasMonthDay || hasMonth || hasSetPos || hasOrdinal(days) {
			return nil, inexpressible("WEEKLY with BYMONTH/BYMONTHDAY/BYSETPOS or BYDAY ordinals")
		}
		if len(days) == 0 {
			days = []byDay{{0, start.Weekday()}}
		}
		rec.Type, rec.DayOfWeek = items.RecurWeekly, items.Ptr(dayMask(days))
	case "MONTHLY", "YEARLY":
		yearly := r["FREQ"] == "YEARLY"
		if yearly {
			if !hasMonth {
				month = int(start.Month())
			}
			rec.MonthOfYear = items.Ptr(month)
		} else if hasMonth {
			return nil, inexpressible("MONTHLY with BYMONTH")
		}
		switch {
		case len(days) == 0:
			if !hasMonthDay {
				monthDay = start.Day()
			}
			if monthDay == -1 && !yearly {
				// MS-ASCAL 2.2.2.15: DayOfWeek 127 with WeekOfMonth 5 is the
				// last day of the month.
				rec.Type = items.RecurMonthlyNth
				rec.DayOfWeek, rec.WeekOfMonth = items.Ptr(items.DayOfWeekLastDay), items.Ptr(items.WeekOfMonthLast)
				break
			}
			if monthDay < 1 {
				return nil, inexpressible("BYMONTHDAY=%d", monthDay)
			}
			rec.Type, rec.DayOfMonth = items.RecurMonthly, items.Ptr(monthDay)
			if yearly {
				rec.Type = items.RecurYearly
			}
		case len(days) == 1 && !hasSetPos && days[0].n != 0:
			w, ok := weekOfMonth(days[0].n)
			if !ok {
				return nil, inexpressible("BYDAY=%d%s", days[0].n, dayName(days[0].day))
			}
			rec.DayOfWeek, rec.WeekOfMonth = items.Ptr(dayMask(days)), items.Ptr(w)
		case hasSetPos && !hasOrdinal(days):
			// "the first weekday", "the last weekend day", "the last day":
			// BYDAY set + BYSETPOS ±1…4 (research note §2.4).
			m := dayMask(days)
			if m != items.DayOfWeekWeekdays && m != items.DayOfWeekWeekendays && m != items.DayOfWeekLastDay {
				if len(days) != 1 {
					return nil, inexpressible("BYSETPOS over BYDAY=%s", r["BYDAY"])
				}
			}
			w, ok := weekOfMonth(setPos)
			if !ok {
				return nil, inexpressible("BYSETPOS=%d", setPos)
			}
			rec.DayOfWeek, rec.WeekOfMonth = items.Ptr(m), items.Ptr(w)
		default:
			return nil, inexpressible("BYDAY=%s", r["BYDAY"])
		}
		if rec.WeekOfMonth != nil {
			rec.Type = items.RecurMonthlyNth
			if yearly {
				rec.Type = items.RecurYearlyNth
			}
		}
	default:
		return nil, inexpressible("FREQ=%s", r["FREQ"])
	}
	return rec, nil
}

func hasOrdinal(days []byDay) bool {
	for _, d := range days {
		if d.n != 0 {
			return true
		}
	}
	return false
}

// singleInt reads a BYxxx part that EAS can carry only as one value.
func singleInt(r rrule, key string, lo, hi int) (int, bool, error) {
	s, ok := r[key]
	if !ok {
		return 0, false, nil
	}
	if strings.Contains(s, ",") {
		return 0, false, inexpressible("%s list %s", key, s)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi || n == 0 {
		return 0, false, fmt.Errorf("calconv: RRULE %s=%q", key, s)
	}
	return n, true, nil
}
