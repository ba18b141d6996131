package calconv

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"
	"github.com/idlebridge/idlebridge/activesync/items"
)

// ErrNoTask is returned for a VCALENDAR without a VTODO.
var ErrNoTask = errors.New("calconv: no VTODO")

// TaskResult is a converted VTODO.
type TaskResult struct {
	Item          *items.Task
	Inexpressible []string // as Result.Inexpressible
}

// TaskFromICal converts a stored VTODO to a Task item (research note §2.9,
// P13). MS-ASTASK dates come in pairs: the user's local wall time written
// as UTC (StartDate, DueDate) and the instant (UtcStartDate, UtcDueDate);
// a DATE is local midnight of that day in the user's zone.
func TaskFromICal(data []byte, opt Options) (*TaskResult, error) {
	cal, err := ParseICal(data)
	if err != nil {
		return nil, err
	}
	var todo *ical.Component
	for _, c := range cal.Children {
		if c.Name == ical.CompToDo && c.Props.Get(ical.PropRecurrenceID) == nil {
			todo = c
			break
		}
	}
	if todo == nil {
		return nil, ErrNoTask
	}
	cv := &eventConv{opt: opt, tr: newTimeReader(cal.Component, opt.Zones, opt.userZone())}
	res := &TaskResult{Item: &items.Task{}}
	t := res.Item
	if t.Subject, err = text(todo, ical.PropSummary); err != nil {
		return nil, err
	}
	if t.Body, err = cv.body(todo); err != nil {
		return nil, err
	}
	start, hasStart, err := cv.tr.readProp(todo, ical.PropDateTimeStart)
	if err != nil {
		return nil, err
	}
	due, hasDue, err := cv.tr.readProp(todo, ical.PropDue)
	if err != nil {
		return nil, err
	}
	if hasStart {
		t.StartDate, t.UtcStartDate = cv.taskPair(start)
	}
	if hasDue {
		t.DueDate, t.UtcDueDate = cv.taskPair(due)
	}
	for _, p := range []*time.Time{t.UtcStartDate, t.UtcDueDate} {
		if p != nil && !inRange(*p) {
			return nil, fmt.Errorf("calconv: task date outside the years 1601–9999")
		}
	}
	done := false
	if p := todo.Props.Get(ical.PropStatus); p != nil && strings.EqualFold(p.Value, "COMPLETED") {
		done = true
	}
	if w, ok, err := cv.tr.readProp(todo, ical.PropCompleted); err == nil && ok && inRange(w.t) {
		done = true
		t.DateCompleted = items.Ptr(w.t.UTC())
	}
	if done && t.DateCompleted == nil {
		// MS-ASTASK 2.2.2.8: DateCompleted is required with Complete 1.
		for _, name := range []string{ical.PropLastModified, ical.PropDateTimeStamp} {
			if w, ok, err := cv.tr.readProp(todo, name); err == nil && ok && inRange(w.t) {
				t.DateCompleted = items.Ptr(w.t.UTC())
				break
			}
		}
	}
	t.Complete = items.Ptr(done)
	t.Importance = items.Ptr(importance(todo))
	t.Sensitivity = items.Ptr(sensitivity(todo))
	if t.Categories, err = categories(todo); err != nil {
		return nil, err
	}
	t.ReminderSet = items.Ptr(false)
	if at := cv.taskReminder(todo, start, hasStart, due, hasDue); at != nil {
		t.ReminderSet, t.ReminderTime = items.Ptr(true), at
	}
	if rules := todo.Props[ical.PropRecurrenceRule]; len(rules) > 0 {
		ref, ok := start, hasStart
		if !ok {
			ref, ok = due, hasDue
		}
		switch {
		case len(rules) > 1:
			res.Inexpressible = append(res.Inexpressible, "more than one RRULE")
		case !ok:
			res.Inexpressible = append(res.Inexpressible, "RRULE without DTSTART or DUE")
		default:
			rec, err := toRecurrence(rules[0].Value, ref.t.In(cv.seriesZone(ref)), func(s string) (time.Time, error) {
				w, err := cv.tr.read(&ical.Prop{Name: "UNTIL", Params: ical.Params{}}, s)
				if err != nil {
					return time.Time{}, err
				}
				_, u := cv.taskPair(w)
				if !inRange(*u) {
					return time.Time{}, fmt.Errorf("calconv: UNTIL out of range")
				}
				return *u, nil
			})
			var inex *errInexpressible
			switch {
			case errors.As(err, &inex):
				res.Inexpressible = append(res.Inexpressible, inex.why)
			case err != nil:
				return nil, err
			default:
				local, _ := cv.taskPair(ref)
				rec.Start = local
				t.Recurrence = rec
			}
		}
	}
	return res, nil
}

// taskPair returns the local (wall time as UTC) and UTC forms of a task
// date (MS-ASTASK 2.2.2.9 DueDate, 2.2.2.30 UtcDueDate; research note P13).
func (cv *eventConv) taskPair(w when) (local, utc *time.Time) {
	zone := cv.opt.userZone()
	if w.date {
		y, m, d := w.t.Date()
		return items.Ptr(time.Date(y, m, d, 0, 0, 0, 0, time.UTC)), items.Ptr(time.Date(y, m, d, 0, 0, 0, 0, zone).UTC())
	}
	l := w.t.In(zone)
	return items.Ptr(time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), 0, time.UTC)), items.Ptr(w.t.UTC())
}

// importance maps PRIORITY (RFC 5545 3.8.1.9) to Importance: 1–4 high,
// 5 and undefined normal, 6–9 low (research note §2.9).
func importance(c *ical.Component) int {
	p := c.Props.Get(ical.PropPriority)
	if p == nil {
		return 1
	}
	n, err := strconv.Atoi(strings.TrimSpace(p.Value))
	switch {
	case err != nil || n == 0 || n == 5:
		return 1
	case n >= 1 && n <= 4:
		return 2
	case n >= 6 && n <= 9:
		return 0
	}
	return 1
}

// taskReminder is the first alarm's absolute time: an absolute TRIGGER,
// or one relative to DTSTART (default) or DUE (RELATED=END).
func (cv *eventConv) taskReminder(c *ical.Component, start when, hasStart bool, due when, hasDue bool) *time.Time {
	a := firstAlarm(c)
	if a == nil {
		return nil
	}
	p := a.Props.Get(ical.PropTrigger)
	if p == nil {
		return nil
	}
	if strings.EqualFold(p.Params.Get(ical.ParamValue), "DATE-TIME") {
		w, err := cv.tr.read(p, p.Value)
		if err != nil || !inRange(w.t) {
			return nil
		}
		return items.Ptr(w.t.UTC())
	}
	d, err := p.Duration()
	if err != nil {
		return nil
	}
	ref, ok := start, hasStart
	if strings.EqualFold(p.Params.Get(ical.ParamRelated), "END") || !ok {
		ref, ok = due, hasDue
	}
	if !ok {
		return nil
	}
	_, u := cv.taskPair(ref)
	if at := u.Add(d); inRange(at) {
		return &at
	}
	return nil
}

// MergeTask applies a device's Add (stored nil) or Change of a task to
// the stored VTODO, with the rules of Merge: only what the device changed
// is rewritten, everything else stays byte for byte.
func MergeTask(stored []byte, dev *items.Task, g Ghosting, opt Options, now time.Time) (*Patched, error) {
	opt.BodyType, opt.TruncationSize = items.BodyPlain, 0
	m := &merger{g: g, opt: opt, now: now.UTC(), out: &Patched{}, old: &items.Calendar{}}
	old := &items.Task{}
	if stored == nil {
		uid := newUID()
		m.ev = &rawComp{name: ical.CompToDo}
		m.ev.add(ical.PropUID, ical.PropUID+":"+uid)
		m.root = &rawComp{name: ical.CompCalendar, entries: []rawEntry{
			{line: "VERSION:2.0", name: "VERSION"},
			{line: "PRODID:-//idlebridge//idlebridge//EN", name: "PRODID"},
			{child: m.ev},
		}}
		m.out.UID, m.changed = uid, true
	} else {
		res, err := TaskFromICal(stored, opt)
		if err != nil {
			return nil, err
		}
		if len(res.Inexpressible) > 0 {
			return nil, fmt.Errorf("%w: %s", ErrReadOnly, strings.Join(res.Inexpressible, ", "))
		}
		old = res.Item
		m.old.StartTime = items.Ptr(time.Time{}) // an existing object: stamps include LAST-MODIFIED
		if m.root, err = parseRaw(stored); err != nil {
			return nil, err
		}
		if todos := m.root.children(ical.CompToDo); len(todos) > 0 {
			m.ev = todos[0]
		} else {
			return nil, ErrNoTask
		}
		m.out.UID = lineValue(m.ev.line(ical.PropUID))
	}
	d := dev
	if s, ok := target(m, "Subject", d.Subject, d.Subject != nil); ok && norm(s) != norm(old.Subject) {
		m.setText(ical.PropSummary, s)
	}
	if b, ok := target(m, "Body", d.Body, d.Body != nil); ok && bodyText(b) != bodyText(old.Body) {
		s := bodyText(b)
		m.setText(ical.PropDescription, &s)
		m.ev.del("X-ALT-DESC")
	}
	m.taskDate(ical.PropDateTimeStart, "StartDate", d.StartDate, d.UtcStartDate, old.UtcStartDate)
	m.taskDate(ical.PropDue, "DueDate", d.DueDate, d.UtcDueDate, old.UtcDueDate)
	if c, ok := target(m, "Complete", d.Complete, d.Complete != nil); ok && (c != nil && *c) != (old.Complete != nil && *old.Complete) {
		if c != nil && *c {
			at := m.now
			if d.DateCompleted != nil {
				at = d.DateCompleted.UTC()
			}
			m.set(ical.PropStatus, "STATUS:COMPLETED")
			m.set(ical.PropCompleted, "COMPLETED:"+at.Format("20060102T150405Z"))
			m.set(ical.PropPercentComplete, "PERCENT-COMPLETE:100")
		} else {
			m.set(ical.PropStatus, "STATUS:NEEDS-ACTION")
			m.del(ical.PropCompleted)
			m.del(ical.PropPercentComplete)
		}
	}
	if n, ok := target(m, "Importance", d.Importance, d.Importance != nil); ok && n != nil && *n != orOne(old.Importance) {
		m.set(ical.PropPriority, "PRIORITY:"+[]string{"9", "5", "1"}[min(max(*n, 0), 2)])
	}
	if n, ok := target(m, "Sensitivity", d.Sensitivity, d.Sensitivity != nil); ok && orZero(n) != orZero(old.Sensitivity) {
		m.setClass(orZero(n))
	}
	if cs, ok := target(m, "Categories", d.Categories, d.Categories != nil); ok && !sameStrings(cs, old.Categories) {
		m.setCategories(cs)
	}
	m.taskReminder(d, old)
	if d.Recurrence != nil && old.Recurrence == nil || d.Recurrence != nil && old.Recurrence != nil && !sameRule(d.Recurrence, old.Recurrence) {
		rule, err := fromRecurrence(d.Recurrence, func(t time.Time) string { return t.UTC().Format("20060102T150405Z") })
		if err != nil {
			return nil, err
		}
		m.set(ical.PropRecurrenceRule, "RRULE:"+rule)
	} else if d.Recurrence == nil && old.Recurrence != nil && !m.g.keeps(m.opt.Version, "Recurrence") {
		m.del(ical.PropRecurrenceRule)
	}
	if !m.changed && stored != nil {
		m.out.Data = stored
		return m.out, nil
	}
	m.stamp()
	var b bytes.Buffer
	m.root.encode(&b)
	m.out.Data, m.out.Changed = b.Bytes(), true
	if _, err := TaskFromICal(m.out.Data, opt); err != nil {
		return nil, fmt.Errorf("calconv: patched task does not read back: %w", err)
	}
	return m.out, nil
}

func orOne(n *int) int {
	if n == nil {
		return 1
	}
	return *n
}

func sameRule(a, b *items.Recurrence) bool {
	f := func(t time.Time) string { return t.UTC().Format("20060102T150405Z") }
	ra, ea := fromRecurrence(a, f)
	rb, eb := fromRecurrence(b, f)
	return ea == nil && eb == nil && ra == rb
}

// taskDate writes DTSTART or DUE from the device's pair: the UTC instant
// when sent, else the local form read in the user's zone. A value that is
// local midnight is written as a DATE, as task clients mean a day
// (research note P13).
func (m *merger) taskDate(prop, element string, local, utc, old *time.Time) {
	var at *time.Time
	switch {
	case utc != nil:
		at = utc
	case local != nil:
		l := *local
		at = items.Ptr(time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), 0, m.opt.userZone()).UTC())
	}
	if at == nil {
		if !m.g.keeps(m.opt.Version, element) && old != nil {
			m.del(prop)
		}
		return
	}
	if old != nil && at.Equal(*old) {
		return
	}
	if l := at.In(m.opt.userZone()); l.Hour() == 0 && l.Minute() == 0 && l.Second() == 0 {
		m.set(prop, prop+";VALUE=DATE:"+l.Format("20060102"))
		return
	}
	m.set(prop, prop+":"+at.UTC().Format("20060102T150405Z"))
}

// taskReminder sets the first alarm to the device's absolute ReminderTime.
func (m *merger) taskReminder(d, old *items.Task) {
	set, ok := target(m, "ReminderSet", d.ReminderSet, d.ReminderSet != nil)
	if !ok {
		return
	}
	on := set != nil && *set && d.ReminderTime != nil
	wasOn := old.ReminderSet != nil && *old.ReminderSet
	if on == wasOn && (!on || old.ReminderTime != nil && d.ReminderTime.Equal(*old.ReminderTime)) {
		return
	}
	var first *rawComp
	for _, a := range m.ev.children(ical.CompAlarm) {
		if act := strings.ToUpper(lineValue(a.line(ical.PropAction))); act == "DISPLAY" || act == "AUDIO" {
			first = a
			break
		}
	}
	m.changed = true
	trigger := ""
	if on {
		trigger = "TRIGGER;VALUE=DATE-TIME:" + d.ReminderTime.UTC().Format("20060102T150405Z")
	}
	switch {
	case !on && first != nil:
		m.ev.delChild(first)
	case !on:
		m.changed = false
	case first != nil:
		first.set(ical.PropTrigger, trigger)
	default:
		m.ev.addChild(&rawComp{name: ical.CompAlarm, entries: []rawEntry{
			{line: "ACTION:DISPLAY", name: ical.PropAction},
			{line: "DESCRIPTION:Reminder", name: ical.PropDescription},
			{line: trigger, name: ical.PropTrigger},
		}})
	}
}
