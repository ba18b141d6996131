package calconv

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/items"
	rrulego "github.com/teambition/rrule-go"
)

// TestRecurrencePatterns is research note P7: every EAS pattern of §2.4
// both ways. Each row's RRULE maps to the expected Recurrence; the RRULE
// written back from it must expand (rrule-go, three years, 09:00 Berlin
// across DST changes) to exactly the same instants as the original.
func TestRecurrencePatterns(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	p := items.Ptr[int]
	cases := []struct {
		name, rrule string
		start       time.Time
		want        items.Recurrence
	}{
		{"daily", "FREQ=DAILY", time.Date(2026, 3, 2, 9, 0, 0, 0, berlin),
			items.Recurrence{Type: 0, Interval: p(1)}},
		{"every 2 days, count", "FREQ=DAILY;INTERVAL=2;COUNT=30", time.Date(2026, 3, 2, 9, 0, 0, 0, berlin),
			items.Recurrence{Type: 0, Interval: p(2), Occurrences: p(30)}},
		{"weekdays as daily", "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR", time.Date(2026, 3, 2, 9, 0, 0, 0, berlin),
			items.Recurrence{Type: 1, Interval: p(1), DayOfWeek: p(62)}},
		{"weekdays weekly until", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;UNTIL=20261030T080000Z", time.Date(2026, 3, 2, 9, 0, 0, 0, berlin),
			items.Recurrence{Type: 1, Interval: p(1), DayOfWeek: p(62), Until: items.Ptr(time.Date(2026, 10, 30, 8, 0, 0, 0, time.UTC))}},
		{"weekly from DTSTART", "FREQ=WEEKLY", time.Date(2026, 3, 4, 9, 0, 0, 0, berlin),
			items.Recurrence{Type: 1, Interval: p(1), DayOfWeek: p(8)}},
		{"biweekly tu th wkst su", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;WKST=SU", time.Date(2026, 3, 3, 9, 0, 0, 0, berlin),
			items.Recurrence{Type: 1, Interval: p(2), DayOfWeek: p(20), FirstDayOfWeek: p(0)}},
		{"monthly on the 15th", "FREQ=MONTHLY;BYMONTHDAY=15", time.Date(2026, 3, 15, 9, 0, 0, 0, berlin),
			items.Recurrence{Type: 2, Interval: p(1), DayOfMonth: p(15)}},
		{"monthly from DTSTART", "FREQ=MONTHLY;INTERVAL=3", time.Date(2026, 3, 10, 9, 0, 0, 0, berlin),
			items.Recurrence{Type: 2, Interval: p(3), DayOfMonth: p(10)}},
		{"last day of month", "FREQ=MONTHLY;BYMONTHDAY=-1", time.Date(2026, 3, 31, 9, 0, 0, 0, berlin),
			items.Recurrence{Type: 3, Interval: p(1), DayOfWeek: p(127), WeekOfMonth: p(5)}},
		{"second tuesday", "FREQ=MONTHLY;BYDAY=2TU", time.Date(2026, 3, 10, 9, 0, 0, 0, berlin),
			items.Recurrence{Type: 3, Interval: p(1), DayOfWeek: p(4), WeekOfMonth: p(2)}},
		{"last sunday", "FREQ=MONTHLY;BYDAY=-1SU", time.Date(2026, 3, 29, 9, 0, 0, 0, berlin),
			items.Recurrence{Type: 3, Interval: p(1), DayOfWeek: p(1), WeekOfMonth: p(5)}},
		{"last weekday of the month", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", time.Date(2026, 3, 31, 9, 0, 0, 0, berlin),
			items.Recurrence{Type: 3, Interval: p(1), DayOfWeek: p(62), WeekOfMonth: p(5)}},
		{"first weekend day", "FREQ=MONTHLY;BYDAY=SA,SU;BYSETPOS=1", time.Date(2026, 3, 1, 9, 0, 0, 0, berlin),
			items.Recurrence{Type: 3, Interval: p(1), DayOfWeek: p(65), WeekOfMonth: p(1)}},
		{"yearly on a date", "FREQ=YEARLY;BYMONTH=5;BYMONTHDAY=14", time.Date(2026, 5, 14, 9, 0, 0, 0, berlin),
			items.Recurrence{Type: 5, Interval: p(1), DayOfMonth: p(14), MonthOfYear: p(5)}},
		{"yearly from DTSTART", "FREQ=YEARLY;COUNT=3", time.Date(2026, 12, 24, 9, 0, 0, 0, berlin),
			items.Recurrence{Type: 5, Interval: p(1), DayOfMonth: p(24), MonthOfYear: p(12), Occurrences: p(3)}},
		{"yearly nth weekday (Type 6)", "FREQ=YEARLY;BYMONTH=5;BYDAY=2SU", time.Date(2026, 5, 10, 9, 0, 0, 0, berlin),
			items.Recurrence{Type: 6, Interval: p(1), DayOfWeek: p(1), WeekOfMonth: p(2), MonthOfYear: p(5)}},
		{"yearly last weekday in october", "FREQ=YEARLY;BYMONTH=10;BYDAY=-1FR", time.Date(2026, 10, 30, 9, 0, 0, 0, berlin),
			items.Recurrence{Type: 6, Interval: p(1), DayOfWeek: p(32), WeekOfMonth: p(5), MonthOfYear: p(10)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := toRecurrence(c.rrule, c.start, func(s string) (time.Time, error) { return time.Parse("20060102T150405Z", s) })
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, c.want) {
				t.Fatalf("got %+v\nwant %+v", *got, c.want)
			}
			back, err := fromRecurrence(got, func(u time.Time) string { return u.UTC().Format("20060102T150405Z") })
			if err != nil {
				t.Fatal(err)
			}
			a, b := expand(t, c.rrule, c.start), expand(t, back, c.start)
			if len(a) < 3 || !reflect.DeepEqual(a, b) {
				t.Fatalf("%s and %s expand differently:\n%v\n%v", c.rrule, back, a, b)
			}
		})
	}
}

func expand(t *testing.T, rule string, start time.Time) []time.Time {
	t.Helper()
	opt, err := rrulego.StrToROption(rule)
	if err != nil {
		t.Fatalf("%s: %v", rule, err)
	}
	opt.Dtstart = start
	r, err := rrulego.NewRRule(*opt)
	if err != nil {
		t.Fatal(err)
	}
	var out []time.Time
	for _, x := range r.Between(start, start.AddDate(3, 0, 0), true) {
		out = append(out, x.UTC())
	}
	return out
}

// TestRecurrenceInexpressible: what EAS cannot say is reported, never
// simplified (P7).
func TestRecurrenceInexpressible(t *testing.T) {
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for _, rule := range []string{
		"FREQ=HOURLY", "FREQ=MINUTELY;INTERVAL=15", "FREQ=DAILY;BYHOUR=9,15", "FREQ=MONTHLY;BYMONTHDAY=1,15",
		"FREQ=MONTHLY;BYDAY=MO,WE;BYSETPOS=2", "FREQ=MONTHLY;BYDAY=-2FR", "FREQ=YEARLY;BYYEARDAY=100",
		"FREQ=YEARLY;BYWEEKNO=20", "FREQ=YEARLY;BYMONTH=1,7", "FREQ=WEEKLY;BYDAY=1MO", "FREQ=DAILY;INTERVAL=2;BYDAY=MO",
		"FREQ=MONTHLY;BYMONTHDAY=-2", "FREQ=YEARLY;RSCALE=CHINESE", "FREQ=DAILY;COUNT=5000", "FREQ=MONTHLY;BYDAY=MO,TU",
	} {
		_, err := toRecurrence(rule, start, func(string) (time.Time, error) { return start, nil })
		var inex *errInexpressible
		if !errorsAs(err, &inex) {
			t.Errorf("%s: got %v, want inexpressible", rule, err)
		}
	}
	for _, rule := range []string{"", "INTERVAL=2", "FREQ=DAILY;INTERVAL=0", "FREQ=DAILY;COUNT=x", "FREQ=WEEKLY;BYDAY=XX", "FREQ=DAILY;FREQ=WEEKLY"} {
		if _, err := toRecurrence(rule, start, func(string) (time.Time, error) { return start, nil }); err == nil {
			t.Errorf("%q accepted", rule)
		}
	}
}

func errorsAs(err error, target **errInexpressible) bool { return errors.As(err, target) }
