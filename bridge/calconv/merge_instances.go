package calconv

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-ical"
	"github.com/idlebridge/idlebridge/activesync/items"
	rrulego "github.com/teambition/rrule-go"
)

// ErrNoInstance is returned for a change or deletion of one occurrence
// (16.x InstanceId, ≤ 14.1 ExceptionStartTime) that the series does not
// have: the event does not recur, or no occurrence starts then.
var ErrNoInstance = errors.New("calconv: the series has no occurrence at that time")

// MergeInstance applies a 16.x Change of one occurrence of a series
// (airsyncbase:InstanceId, MS-ASAIRS 2.2.2.25: its original start in UTC)
// as a RECURRENCE-ID override: the override the occurrence has is patched,
// or one is cloned from the master. The master, its EXDATEs and the other
// overrides stay as they were. An element the device leaves out keeps
// what the occurrence shows now (MS-ASCAL 3.1.5.3).
func MergeInstance(stored []byte, dev *items.Calendar, instance time.Time, opt Options, now time.Time) (*Patched, error) {
	opt.BodyType, opt.TruncationSize = items.BodyPlain, 0
	m := &merger{dev: dev, opt: opt, now: now.UTC(), out: &Patched{}}
	if err := m.load(stored); err != nil {
		return nil, err
	}
	if err := m.writeOccurrence(instance.UTC(), dev.Event, dev.TimeZone, m.old.Event, true); err != nil {
		return nil, err
	}
	return m.finish(stored)
}

// DeleteInstance deletes one occurrence of a series (a 16.x Delete with
// InstanceId): an EXDATE in the series' form, and the occurrence's
// override, if it had one, removed. Deleting an occurrence already
// deleted changes nothing.
func DeleteInstance(stored []byte, instance time.Time, opt Options, now time.Time) (*Patched, error) {
	opt.BodyType, opt.TruncationSize = items.BodyPlain, 0
	m := &merger{dev: &items.Calendar{}, opt: opt, now: now.UTC(), out: &Patched{}}
	if err := m.load(stored); err != nil {
		return nil, err
	}
	t := instance.UTC()
	for _, x := range m.old.Exceptions {
		if x.Start.Equal(t) && x.Deleted && m.overrideAt(t) == nil {
			return m.finish(stored) // already gone
		}
	}
	if m.overrideAt(t) == nil {
		if ok, err := m.isOccurrence(t); err != nil || !ok {
			return nil, errors.Join(ErrNoInstance, err)
		}
	}
	m.dropOverride(t)
	params, value := m.format(m.currentForm(), t, m.dateZone(nil))
	m.ev.add(ical.PropExceptionDates, "EXDATE"+params+":"+value)
	m.changed, m.significant = true, true
	return m.finish(stored)
}

// finish is Merge's ending: the stored bytes when nothing changed, else
// the stamped, re-encoded object, checked to parse.
func (m *merger) finish(stored []byte) (*Patched, error) {
	if !m.changed && !m.occurrences && stored != nil {
		m.out.Data = stored
		return m.out, nil
	}
	if m.changed || stored == nil {
		// The master itself changed; an override's own stamp is its own.
		m.stamp()
	}
	var b bytes.Buffer
	m.root.encode(&b)
	m.out.Data, m.out.Changed = b.Bytes(), true
	// What is written must read back: a patch that breaks the object is a
	// bug here, never something to PUT.
	if _, err := ParseICal(m.out.Data); err != nil {
		return nil, fmt.Errorf("calconv: patched object does not parse: %w", err)
	}
	return m.out, nil
}

// writeOccurrence makes the occurrence that originally starts at t (EAS
// form, UTC) show dev: each element dev carries replaces the occurrence's,
// an element it leaves out keeps the occurrence's own value when its
// override has one, else follows the series (series: the master's values
// after this change). A new override is made only when the occurrence
// then differs from the series; strict refuses a t that is no occurrence.
func (m *merger) writeOccurrence(t time.Time, dev items.Event, blob []byte, series items.Event, strict bool) error {
	var own *items.Event // what the stored override changes (EAS exception form)
	for i := range m.old.Exceptions {
		if x := &m.old.Exceptions[i]; x.Start.Equal(t) && !x.Deleted {
			own = &x.Event
		}
	}
	comp := m.overrideAt(t)
	if comp == nil {
		own = nil
		if ok, err := m.isOccurrence(t); err != nil || !ok {
			if strict {
				return errors.Join(ErrNoInstance, err)
			}
			m.out.Unsupported = append(m.out.Unsupported, "exception at "+items.FormatCompact(t)+": no such occurrence")
			return nil
		}
	}
	// What the occurrence shows now, and what it is to show.
	dur := time.Duration(0)
	if m.old.StartTime != nil && m.old.EndTime != nil {
		dur = m.old.EndTime.Sub(*m.old.StartTime)
	}
	before := m.old.Event
	before.StartTime, before.EndTime = &t, items.Ptr(t.Add(dur))
	after := series
	after.StartTime, after.EndTime = before.StartTime, nil
	if own != nil {
		before, after = overlay(before, *own), overlay(after, *own)
	}
	after = overlay(after, dev)
	if after.EndTime == nil {
		after.EndTime = items.Ptr(after.StartTime.Add(dur))
	}
	if comp == nil {
		// The clone holds the master as patched: compare with the series.
		before = series
		before.StartTime, before.EndTime = &t, items.Ptr(t.Add(dur))
	}
	sub := &merger{
		dev: &items.Calendar{Event: after, TimeZone: blob}, opt: m.opt, now: m.now, out: m.out,
		root: m.root, cal: m.cal, old: &items.Calendar{Event: before}, exact: true,
	}
	fresh := comp == nil
	if fresh {
		var err error
		if comp, err = m.cloneOccurrence(t, dur); err != nil {
			return err
		}
		sub.oldStart = m.startForm()
	} else {
		w, err := m.readLine(comp.line(ical.PropDateTimeStart))
		if err != nil {
			return err
		}
		sub.oldStart = w
	}
	sub.ev = comp
	if err := sub.applyEvent(); err != nil {
		return err
	}
	if !sub.changed {
		return nil
	}
	if fresh {
		m.insertOverride(comp)
	}
	sub.stamp()
	m.occurrences = true
	return nil
}

// overlay returns base with every element x carries put over it.
func overlay(base, x items.Event) items.Event {
	out := base
	set := func(dst **string, v *string) {
		if v != nil {
			*dst = v
		}
	}
	if x.AllDayEvent != nil {
		out.AllDayEvent = x.AllDayEvent
	}
	if x.StartTime != nil {
		out.StartTime = x.StartTime
	}
	if x.EndTime != nil {
		out.EndTime = x.EndTime
	}
	set(&out.Subject, x.Subject)
	set(&out.Location, x.Location)
	if x.Body != nil {
		out.Body = x.Body
	}
	if x.BusyStatus != nil {
		out.BusyStatus = x.BusyStatus
	}
	if x.Sensitivity != nil {
		out.Sensitivity = x.Sensitivity
	}
	if x.Reminder != nil {
		out.Reminder = x.Reminder
	}
	if x.Categories != nil {
		out.Categories = x.Categories
	}
	if x.MeetingStatus != nil {
		out.MeetingStatus = x.MeetingStatus
	}
	return out
}

// overrideAt returns the override of the occurrence that originally
// starts at t, nil when it has none.
func (m *merger) overrideAt(t time.Time) *rawComp {
	for _, c := range m.root.children(ical.CompEvent) {
		line := c.line(ical.PropRecurrenceID)
		if line == "" {
			continue
		}
		if w, err := m.readLine(line); err == nil && m.instantOf(w).Equal(t) {
			return c
		}
	}
	return nil
}

// readLine reads the date-time of one content line (DTSTART,
// RECURRENCE-ID) with its VALUE and TZID parameters.
func (m *merger) readLine(line string) (when, error) {
	if line == "" {
		return when{}, fmt.Errorf("calconv: no such property")
	}
	tr := newTimeReader(m.cal, m.opt.Zones, m.opt.userZone())
	p := &ical.Prop{Name: propName(line), Params: parseParams(paramsOf(line))}
	return tr.read(p, lineValue(line))
}

// instantOf is a stored time in EAS form.
func (m *merger) instantOf(w when) time.Time {
	cv := &eventConv{opt: m.opt}
	return cv.instant(w)
}

// startForm is the master's DTSTART as it stands now (patched or not).
func (m *merger) startForm() when {
	if w, err := m.readLine(m.ev.line(ical.PropDateTimeStart)); err == nil {
		return w
	}
	return m.oldStart
}

// isOccurrence reports whether the master's RRULE, as it stands now, has
// an occurrence originally starting at t (EAS form) that no EXDATE removes.
func (m *merger) isOccurrence(t time.Time) (bool, error) {
	rule := lineValue(m.ev.line(ical.PropRecurrenceRule))
	if rule == "" {
		return false, nil
	}
	ropt, err := rrulego.StrToROption(rule)
	if err != nil {
		return false, fmt.Errorf("calconv: RRULE: %w", err)
	}
	start := m.startForm()
	ropt.Dtstart = start.t
	if !start.date && start.loc != nil {
		ropt.Dtstart = start.t.In(start.loc)
	}
	r, err := rrulego.NewRRule(*ropt)
	if err != nil {
		return false, fmt.Errorf("calconv: RRULE: %w", err)
	}
	for _, o := range r.Between(t.Add(-48*time.Hour), t.Add(48*time.Hour), true) {
		w := when{t: o, date: start.date, loc: start.loc, tzid: start.tzid}
		if start.date {
			w.t = time.Date(o.Year(), o.Month(), o.Day(), 0, 0, 0, 0, time.UTC)
		}
		if !m.instantOf(w).Equal(t) {
			continue
		}
		for _, x := range m.exdates() {
			if x.Equal(t) {
				return false, nil
			}
		}
		return true, nil
	}
	return false, nil
}

// exdates are the master's EXDATEs as they stand now, in EAS form.
func (m *merger) exdates() []time.Time {
	var out []time.Time
	for _, e := range m.ev.entries {
		if e.child != nil || e.name != ical.PropExceptionDates {
			continue
		}
		params := paramsOf(e.line)
		for _, v := range strings.Split(lineValue(e.line), ",") {
			if w, err := m.readLine("EXDATE" + params + ":" + v); err == nil {
				out = append(out, m.instantOf(w))
			}
		}
	}
	return out
}

// cloneOccurrence copies the master (as patched) into an override of the
// occurrence starting at t: every property and alarm but the recurrence
// ones, RECURRENCE-ID in the master's DTSTART form (RFC 5545 3.8.4.4),
// DTSTART and DTEND at the occurrence.
func (m *merger) cloneOccurrence(t time.Time, dur time.Duration) (*rawComp, error) {
	f := m.startForm()
	sf := form{allDay: f.date, tzid: f.tzid, loc: f.loc}
	zone := m.dateZone(nil)
	c := &rawComp{name: ical.CompEvent}
	for _, e := range m.ev.entries {
		switch {
		case e.child != nil:
			c.entries = append(c.entries, rawEntry{child: e.child.clone()})
		case e.name == ical.PropRecurrenceRule, e.name == ical.PropRecurrenceDates,
			e.name == ical.PropExceptionDates, e.name == "EXRULE", e.name == ical.PropRecurrenceID:
		default:
			c.entries = append(c.entries, e)
		}
	}
	rp, rv := m.format(sf, t, zone)
	sp, sv := rp, rv
	c.set(ical.PropDateTimeStart, "DTSTART"+sp+":"+sv)
	if c.has(ical.PropDateTimeEnd) || !c.has(ical.PropDuration) {
		ep, ev := m.format(sf, t.Add(dur), zone)
		if sf.allDay && ev <= sv {
			d, _ := time.Parse("20060102", sv)
			ev = d.AddDate(0, 0, 1).Format("20060102")
		}
		c.set(ical.PropDateTimeEnd, "DTEND"+ep+":"+ev)
	}
	c.insert(rawEntry{line: "RECURRENCE-ID" + rp + ":" + rv, name: ical.PropRecurrenceID})
	return c, nil
}

// insertOverride puts a new override after the series' last VEVENT.
func (m *merger) insertOverride(c *rawComp) {
	last := -1
	for i, e := range m.root.entries {
		if e.child != nil && e.child.name == ical.CompEvent {
			last = i
		}
	}
	if last < 0 {
		m.root.addChild(c)
		return
	}
	m.root.entries = append(m.root.entries[:last+1], append([]rawEntry{{child: c}}, m.root.entries[last+1:]...)...)
}

// clone copies a component deeply.
func (c *rawComp) clone() *rawComp {
	out := &rawComp{name: c.name, entries: make([]rawEntry, len(c.entries))}
	for i, e := range c.entries {
		out.entries[i] = e
		if e.child != nil {
			out.entries[i].child = e.child.clone()
		}
	}
	return out
}

// seriesAfter is what the master shows once the device's Change is
// applied, for the overrides that inherit from it.
func (m *merger) seriesAfter() items.Event {
	d, s := m.dev, m.old.Event
	s.Subject = keepOr(m, "Subject", d.Subject, d.Subject != nil, s.Subject)
	s.Location = keepOr(m, "Location", d.Location, d.Location != nil, s.Location)
	s.Body = keepOr(m, "Body", d.Body, d.Body != nil, s.Body)
	if d.BusyStatus != nil {
		s.BusyStatus = d.BusyStatus
	}
	s.Sensitivity = keepOr(m, "Sensitivity", d.Sensitivity, d.Sensitivity != nil, s.Sensitivity)
	s.Reminder = keepOr(m, "Reminder", d.Reminder, d.Reminder != nil, s.Reminder)
	s.Categories = keepOr(m, "Categories", d.Categories, d.Categories != nil, s.Categories)
	if d.AllDayEvent != nil {
		s.AllDayEvent = d.AllDayEvent
	}
	return s
}

// keepOr is the element's value after the Change: the device's when
// applied (target), else the stored one.
func keepOr[T any](m *merger, element string, v T, present bool, old T) T {
	if nv, ok := target(m, element, v, present); ok {
		return nv
	}
	return old
}

// applyOccurrences writes the ≤ 14.1 device's changed exceptions as
// overrides (a Change carries the whole list there, MS-ASCAL 2.2.2.20),
// then lets every other override follow the series where it inherits
// from it: an iCalendar override repeats every property (RFC 5545
// 3.8.4.4), so a series renamed would otherwise leave its moved
// occurrences under the old name.
func (m *merger) applyOccurrences(series items.Event) error {
	if !m.ev.has(ical.PropRecurrenceRule) {
		return nil
	}
	done := map[time.Time]bool{}
	if m.dev.Exceptions != nil && m.opt.Version < items.V160 {
		for _, x := range m.dev.Exceptions {
			if x.Deleted || done[x.Start] {
				continue
			}
			done[x.Start] = true
			if err := m.writeOccurrence(x.Start.UTC(), x.Event, m.dev.TimeZone, series, false); err != nil {
				return err
			}
		}
	}
	for _, x := range m.old.Exceptions {
		if x.Deleted || done[x.Start] || m.overrideAt(x.Start) == nil {
			continue
		}
		if err := m.writeOccurrence(x.Start, items.Event{}, nil, series, false); err != nil {
			return err
		}
	}
	return nil
}
