package items

import (
	"time"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// Recurrence types (MS-ASCAL 2.2.2.45, MS-ASTASK 2.2.2.25).
const (
	RecurDaily          = 0
	RecurWeekly         = 1
	RecurMonthly        = 2 // on DayOfMonth
	RecurMonthlyNth     = 3 // on the WeekOfMonth-th DayOfWeek
	RecurYearly         = 5 // on DayOfMonth of MonthOfYear
	RecurYearlyNth      = 6 // on the WeekOfMonth-th DayOfWeek of MonthOfYear
	DayOfWeekSunday     = 1
	DayOfWeekSaturday   = 64
	DayOfWeekWeekdays   = 62  // MO–FR
	DayOfWeekWeekendays = 65  // SA, SU
	DayOfWeekLastDay    = 127 // MS-ASCAL 2.2.2.15: with WeekOfMonth 5, the last day of the month
	WeekOfMonthLast     = 5   // MS-ASCAL 2.2.2.48: 5 is the last week of the month
)

// Recurrence is the Recurrence container of the Calendar and Tasks classes;
// the same shape in both namespaces, the last three fields Tasks only.
type Recurrence struct {
	Type           int
	Occurrences    *int
	Interval       *int
	Until          *time.Time
	DayOfWeek      *int // bit mask, 1 = Sunday … 64 = Saturday
	DayOfMonth     *int
	WeekOfMonth    *int
	MonthOfYear    *int
	CalendarType   *int // 14.0+
	IsLeapMonth    *bool
	FirstDayOfWeek *int // 14.1+, 0 = Sunday

	Start      *time.Time // Tasks: the first occurrence's start
	Regenerate *bool      // Tasks: recur from completion
	DeadOccur  *bool      // Tasks
}

// recTags names the recurrence children on one code page, built from the
// typed constants so both pages share one encoder.
type recTags struct {
	space                                              string
	rec, typ, until, occ, interval, dow, dom, wom, moy string
	calType, leap, fdow, start, regenerate, deadOccur  string
	dashes                                             bool // Until and Start as MS-ASDTYPE 2.3
}

var (
	calRecTags = recTags{space: wbxml.Calendar, rec: string(calRecurrence), typ: string(calType),
		until: string(calUntil), occ: string(calOccurrences), interval: string(calInterval),
		dow: string(calDayOfWeek), dom: string(calDayOfMonth), wom: string(calWeekOfMonth),
		moy: string(calMonthOfYear), calType: string(calCalendarType), leap: string(calIsLeapMonth),
		fdow: string(calFirstDayOfWeek)}
	taskRecTags = recTags{space: wbxml.Tasks, rec: string(taskRecurrence), typ: string(taskType),
		until: string(taskUntil), occ: string(taskOccurrences), interval: string(taskInterval),
		dow: string(taskDayOfWeek), dom: string(taskDayOfMonth), wom: string(taskWeekOfMonth),
		moy: string(taskMonthOfYear), calType: string(taskCalendarType), leap: string(taskIsLeapMonth),
		fdow: string(taskFirstDayOfWeek), start: string(taskStart), regenerate: string(taskRegenerate),
		deadOccur: string(taskDeadOccur), dashes: true}
)

func (r *Recurrence) encode(parent *wbxml.Element, t recTags, v Version) {
	if r == nil {
		return
	}
	el := parent.Add(t.space, t.rec)
	date := FormatCompact
	if t.dashes {
		date = FormatDashes
	}
	el.AddText(t.space, t.typ, itoa(r.Type))
	if t.start != "" && r.Start != nil {
		el.AddText(t.space, t.start, date(*r.Start))
	}
	if r.Until != nil {
		el.AddText(t.space, t.until, date(*r.Until))
	}
	ints := []struct {
		name string
		v    *int
	}{{t.occ, r.Occurrences}, {t.interval, r.Interval}, {t.dow, r.DayOfWeek}, {t.dom, r.DayOfMonth},
		{t.wom, r.WeekOfMonth}, {t.moy, r.MonthOfYear}}
	for _, f := range ints {
		if f.v != nil {
			el.AddText(t.space, f.name, itoa(*f.v))
		}
	}
	if t.regenerate != "" && r.Regenerate != nil {
		el.AddText(t.space, t.regenerate, btoa(*r.Regenerate))
	}
	if t.deadOccur != "" && r.DeadOccur != nil {
		el.AddText(t.space, t.deadOccur, btoa(*r.DeadOccur))
	}
	// CalendarType and IsLeapMonth are 14.0+, FirstDayOfWeek 14.1+ (MS-ASCAL
	// 2.2.2.11, 2.2.2.26, 2.2.2.24).
	if v >= V140 && r.CalendarType != nil {
		el.AddText(t.space, t.calType, itoa(*r.CalendarType))
	}
	if v >= V140 && r.IsLeapMonth != nil {
		el.AddText(t.space, t.leap, btoa(*r.IsLeapMonth))
	}
	if v >= V141 && r.FirstDayOfWeek != nil {
		el.AddText(t.space, t.fdow, itoa(*r.FirstDayOfWeek))
	}
}

// decodeRecurrence reads the Recurrence child; an empty <Recurrence/> or one
// without a Type is no recurrence (devices send it on single events).
func decodeRecurrence(parent *wbxml.Element, t recTags) (*Recurrence, error) {
	el := parent.Child(t.space, t.rec)
	if el == nil || el.Child(t.space, t.typ).Content() == "" {
		return nil, nil
	}
	typ, err := optInt(el.Child(t.space, t.typ), "Recurrence Type")
	if err != nil {
		return nil, err
	}
	r := &Recurrence{Type: *typ}
	ints := []struct {
		name string
		dst  **int
	}{{t.occ, &r.Occurrences}, {t.interval, &r.Interval}, {t.dow, &r.DayOfWeek}, {t.dom, &r.DayOfMonth},
		{t.wom, &r.WeekOfMonth}, {t.moy, &r.MonthOfYear}, {t.calType, &r.CalendarType}, {t.fdow, &r.FirstDayOfWeek}}
	for _, f := range ints {
		if *f.dst, err = optInt(el.Child(t.space, f.name), f.name); err != nil {
			return nil, err
		}
	}
	if r.Until, err = optTime(el.Child(t.space, t.until)); err != nil {
		return nil, err
	}
	if r.IsLeapMonth, err = optBool(el.Child(t.space, t.leap), t.leap); err != nil {
		return nil, err
	}
	if t.start != "" {
		if r.Start, err = optTime(el.Child(t.space, t.start)); err != nil {
			return nil, err
		}
		if r.Regenerate, err = optBool(el.Child(t.space, t.regenerate), t.regenerate); err != nil {
			return nil, err
		}
		if r.DeadOccur, err = optBool(el.Child(t.space, t.deadOccur), t.deadOccur); err != nil {
			return nil, err
		}
	}
	return r, nil
}
