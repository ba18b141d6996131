package calconv

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-ical"
	"github.com/idlebridge/idlebridge/activesync/items"
)

// recurrence fills Recurrence and Exceptions from the master's RRULE and
// EXDATEs and the RECURRENCE-ID overrides. It returns a reason instead of
// an error when the series has no EAS form.
func (cv *eventConv) recurrence(master *ical.Component, overrides []*ical.Component, start when, c *items.Calendar) (string, error) {
	rules := master.Props[ical.PropRecurrenceRule]
	if len(rules) == 0 {
		return "", nil
	}
	if len(rules) > 1 {
		return "more than one RRULE", nil
	}
	if len(master.Props[ical.PropRecurrenceDates]) > 0 {
		return "RDATE", nil
	}
	zone := cv.seriesZone(start)
	rec, err := toRecurrence(rules[0].Value, start.t.In(zone), func(s string) (time.Time, error) {
		w, err := cv.tr.read(&ical.Prop{Name: "UNTIL", Params: ical.Params{}}, s)
		if err != nil {
			return time.Time{}, err
		}
		if w.tzid == "" && !w.date && w.loc != time.UTC {
			// A floating UNTIL is in the DTSTART's zone (RFC 5545 3.3.10).
			w.t = time.Date(w.t.Year(), w.t.Month(), w.t.Day(), w.t.Hour(), w.t.Minute(), w.t.Second(), 0, zone)
		}
		if w.date && !start.date {
			// A DATE UNTIL on a timed series includes that whole day.
			y, m, d := w.t.Date()
			return time.Date(y, m, d, 23, 59, 59, 0, zone).UTC(), nil
		}
		if u := cv.instant(w); inRange(u) {
			return u, nil
		}
		return time.Time{}, fmt.Errorf("calconv: UNTIL %q out of range", s)
	})
	var inex *errInexpressible
	if errors.As(err, &inex) {
		return inex.why, nil
	}
	if err != nil {
		return "", err
	}
	c.Recurrence = rec

	exdates, err := cv.tr.readList(master, ical.PropExceptionDates)
	if err != nil {
		return "", err
	}
	byStart := map[time.Time]int{}
	add := func(x items.Exception) {
		if i, ok := byStart[x.Start]; ok {
			if x.Deleted {
				c.Exceptions[i] = x
			}
			return
		}
		byStart[x.Start] = len(c.Exceptions)
		c.Exceptions = append(c.Exceptions, x)
	}
	for _, w := range exdates {
		if !inRange(cv.instant(w)) {
			return "", fmt.Errorf("calconv: EXDATE out of range")
		}
		add(items.Exception{Start: cv.instant(w), Deleted: true})
	}
	for _, o := range overrides {
		rid := o.Props.Get(ical.PropRecurrenceID)
		if strings.EqualFold(rid.Params.Get("RANGE"), "THISANDFUTURE") {
			return "RECURRENCE-ID;RANGE=THISANDFUTURE", nil
		}
		w, err := cv.tr.read(rid, rid.Value)
		if err != nil {
			return "", err
		}
		x := items.Exception{Start: cv.instant(w)}
		if !inRange(x.Start) {
			return "", fmt.Errorf("calconv: RECURRENCE-ID out of range")
		}
		if st := o.Props.Get(ical.PropStatus); st != nil && strings.EqualFold(st.Value, "CANCELLED") {
			x.Deleted = true
		} else {
			ev, _, err := cv.event(o)
			if err != nil {
				return "", err
			}
			x.Event = exceptionDiff(&c.Event, ev)
		}
		add(x)
	}
	slices.SortFunc(c.Exceptions, func(a, b items.Exception) int { return a.Start.Compare(b.Start) })
	return "", nil
}

// exceptionDiff keeps what an override changes: an EAS exception inherits
// every element it leaves out from the series (MS-ASCAL 2.2.2.21), while
// an iCalendar override repeats them all. Times are always sent.
func exceptionDiff(master, o *items.Event) items.Event {
	x := items.Event{StartTime: o.StartTime, EndTime: o.EndTime}
	if !reflect.DeepEqual(master.AllDayEvent, o.AllDayEvent) {
		x.AllDayEvent = o.AllDayEvent
	}
	if !reflect.DeepEqual(master.Subject, o.Subject) {
		x.Subject = orEmpty(o.Subject)
	}
	if !reflect.DeepEqual(master.Location, o.Location) {
		x.Location = orEmpty(o.Location)
	}
	if !reflect.DeepEqual(master.Body, o.Body) {
		x.Body = o.Body
		if x.Body == nil {
			x.Body = &items.Body{Type: items.BodyPlain}
		}
	}
	if !reflect.DeepEqual(master.BusyStatus, o.BusyStatus) {
		x.BusyStatus = o.BusyStatus
	}
	if !reflect.DeepEqual(master.Sensitivity, o.Sensitivity) {
		x.Sensitivity = o.Sensitivity
	}
	if !reflect.DeepEqual(master.Reminder, o.Reminder) {
		// An override without an alarm has no EAS form ("Reminder 0" is
		// an alarm at the start), so it inherits the series' reminder.
		x.Reminder = o.Reminder
	}
	if !reflect.DeepEqual(master.Categories, o.Categories) {
		x.Categories = o.Categories
	}
	if !reflect.DeepEqual(master.MeetingStatus, o.MeetingStatus) {
		x.MeetingStatus = o.MeetingStatus
	}
	return x
}

func orEmpty(s *string) *string {
	if s == nil {
		return items.Ptr("")
	}
	return s
}
