package calconv

import (
	"fmt"
	"math/bits"
	"strings"
	"time"

	"github.com/idlebridge/idlebridge/activesync/items"
)

// fromRecurrence writes an EAS Recurrence as an RRULE value (research note
// §2.4, the inverse of toRecurrence). until formats the UNTIL instant in
// the form DTSTART needs (UTC for a timed series, DATE for all-day, RFC
// 5545 3.3.10).
func fromRecurrence(r *items.Recurrence, until func(time.Time) string) (string, error) {
	var parts []string
	add := func(format string, args ...any) { parts = append(parts, fmt.Sprintf(format, args...)) }
	days := func(mask int) string {
		var out []string
		for w := time.Sunday; w <= time.Saturday; w++ {
			if mask&(1<<w) != 0 {
				out = append(out, dayName(w))
			}
		}
		return strings.Join(out, ",")
	}
	get := func(p *int, name string) (int, error) {
		if p == nil {
			return 0, fmt.Errorf("calconv: Recurrence Type %d without %s", r.Type, name)
		}
		return *p, nil
	}
	nth := func(wom int) int {
		if wom == items.WeekOfMonthLast {
			return -1
		}
		return wom
	}
	switch r.Type {
	case items.RecurDaily:
		if r.DayOfWeek != nil && *r.DayOfWeek != 0 && *r.DayOfWeek != 127 {
			// grommunio: Type 0 with DayOfWeek 62 is "every weekday".
			add("FREQ=WEEKLY")
			add("BYDAY=%s", days(*r.DayOfWeek))
		} else {
			add("FREQ=DAILY")
		}
	case items.RecurWeekly:
		add("FREQ=WEEKLY")
		if r.DayOfWeek != nil && *r.DayOfWeek&127 != 0 {
			add("BYDAY=%s", days(*r.DayOfWeek&127))
		}
	case items.RecurMonthly, items.RecurYearly:
		d, err := get(r.DayOfMonth, "DayOfMonth")
		if err != nil {
			return "", err
		}
		if d < 1 || d > 31 {
			return "", fmt.Errorf("calconv: DayOfMonth %d", d)
		}
		if r.Type == items.RecurYearly {
			m, err := get(r.MonthOfYear, "MonthOfYear")
			if err != nil || m < 1 || m > 12 {
				return "", fmt.Errorf("calconv: yearly Recurrence MonthOfYear: %v", err)
			}
			add("FREQ=YEARLY")
			add("BYMONTH=%d", m)
		} else {
			add("FREQ=MONTHLY")
		}
		add("BYMONTHDAY=%d", d)
	case items.RecurMonthlyNth, items.RecurYearlyNth:
		mask, err := get(r.DayOfWeek, "DayOfWeek")
		if err != nil {
			return "", err
		}
		wom, err := get(r.WeekOfMonth, "WeekOfMonth")
		if err != nil {
			return "", err
		}
		mask &= 127
		if wom < 1 || wom > 5 || mask == 0 {
			return "", fmt.Errorf("calconv: WeekOfMonth %d DayOfWeek %d", wom, mask)
		}
		if r.Type == items.RecurYearlyNth {
			m, err := get(r.MonthOfYear, "MonthOfYear")
			if err != nil || m < 1 || m > 12 {
				return "", fmt.Errorf("calconv: yearly Recurrence MonthOfYear: %v", err)
			}
			add("FREQ=YEARLY")
			add("BYMONTH=%d", m)
		} else {
			add("FREQ=MONTHLY")
		}
		switch {
		case mask == items.DayOfWeekLastDay && wom == items.WeekOfMonthLast:
			add("BYMONTHDAY=-1")
		case bits.OnesCount(uint(mask)) == 1:
			add("BYDAY=%d%s", nth(wom), days(mask))
		default:
			add("BYDAY=%s", days(mask))
			add("BYSETPOS=%d", nth(wom))
		}
	default:
		return "", fmt.Errorf("calconv: Recurrence Type %d", r.Type)
	}
	if r.Interval != nil && *r.Interval > 1 {
		add("INTERVAL=%d", *r.Interval)
	}
	switch {
	case r.Occurrences != nil && *r.Occurrences > 0:
		add("COUNT=%d", *r.Occurrences)
	case r.Until != nil:
		add("UNTIL=%s", until(*r.Until))
	}
	if r.FirstDayOfWeek != nil && *r.FirstDayOfWeek >= 0 && *r.FirstDayOfWeek <= 6 {
		add("WKST=%s", dayName(time.Weekday(*r.FirstDayOfWeek)))
	}
	if r.CalendarType != nil && *r.CalendarType > 1 {
		return "", fmt.Errorf("calconv: CalendarType %d is not Gregorian", *r.CalendarType)
	}
	return strings.Join(parts, ";"), nil
}
