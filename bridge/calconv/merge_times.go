package calconv

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-ical"
	"github.com/idlebridge/idlebridge/activesync/items"
)

// form is how DTSTART is written, which RECURRENCE-ID, EXDATE and UNTIL
// must follow (RFC 5545 3.8.4.4, 3.8.5.1, 3.3.10).
type form struct {
	allDay bool
	tzid   string         // "" = UTC (or DATE when allDay)
	loc    *time.Location // the TZID's zone
}

// dateZone is the zone in which an EAS all-day instant names its date:
// the device's local midnight up to 14.1, the UTC date in 16.x (P3).
func (m *merger) dateZone(blobZone *time.Location) *time.Location {
	if m.opt.Version >= items.V160 {
		return time.UTC
	}
	if blobZone != nil {
		return blobZone
	}
	return m.opt.userZone()
}

// dateOf is the calendar date an EAS all-day instant means, rounded to the
// nearest midnight so a device an hour off (an old DST table) keeps the day.
func dateOf(t time.Time, zone *time.Location) string {
	return t.In(zone).Add(12 * time.Hour).Format("20060102")
}

func (m *merger) format(f form, t time.Time, zone *time.Location) (params, value string) {
	switch {
	case f.allDay:
		return ";VALUE=DATE", dateOf(t, zone)
	case f.tzid != "":
		return ";TZID=" + quoteParam(f.tzid), t.In(f.loc).Format("20060102T150405")
	}
	return "", t.UTC().Format("20060102T150405Z")
}

func quoteParam(s string) string {
	if strings.ContainsAny(s, ";:,") {
		return `"` + strings.ReplaceAll(s, `"`, "") + `"`
	}
	return s
}

// currentForm is the stored DTSTART's form.
func (m *merger) currentForm() form {
	return form{allDay: m.oldStart.date, tzid: m.oldStart.tzid, loc: m.oldStart.loc}
}

// zoneFor picks the zone to write times in: the stored TZID when the
// device's blob has the same rules (so a Windows or custom TZID the server
// chose survives), else the zone the blob names, else UTC.
func (m *merger) zoneFor(year int) (f form, blobZone *time.Location, err error) {
	f = form{tzid: m.oldStart.tzid, loc: m.oldStart.loc}
	blob := m.dev.TimeZone
	if blob == nil {
		return f, nil, nil
	}
	if f.tzid != "" && sameRules(m.opt.Zones.Blob(f.loc, year), padBlob(blob)) {
		return f, f.loc, nil
	}
	loc, ok, err := m.opt.Zones.FromBlob(blob, year)
	if err != nil {
		return f, nil, fmt.Errorf("calconv: device TimeZone: %w", err)
	}
	if !ok || loc.String() == "" || loc == time.UTC {
		// No named zone matches: write UTC rather than invent a TZID.
		return form{}, loc, nil
	}
	return form{tzid: loc.String(), loc: loc}, loc, nil
}

func padBlob(b []byte) []byte {
	if len(b) >= blobSize {
		return b
	}
	return append(b[:len(b):len(b)], make([]byte, blobSize-len(b))...)
}

// applyTimes rewrites DTSTART and DTEND when the device changed the times,
// the all-day flag or the zone.
func (m *merger) applyTimes() error {
	d, o := m.dev, m.old
	oldAllDay := o.AllDayEvent != nil && *o.AllDayEvent
	allDay := oldAllDay
	if d.AllDayEvent != nil {
		allDay = *d.AllDayEvent
	}
	start, end := o.StartTime, o.EndTime
	if d.StartTime != nil {
		start = d.StartTime
	}
	if d.EndTime != nil {
		end = d.EndTime
	}
	if start == nil {
		return nil
	}
	if end == nil || end.Before(*start) {
		end = start
	}
	rec := o.Recurrence
	if d.Recurrence != nil {
		rec = d.Recurrence
	}
	// The device built its blob for the year FromICal chose.
	f, blobZone, err := m.zoneFor(blobYear(*start, rec, m.now))
	if err != nil {
		return err
	}
	f.allDay = allDay
	m.form = f
	// Same times in a blob no named zone matches keep the stored TZID.
	same := o.StartTime != nil && o.EndTime != nil && start.Equal(*o.StartTime) && end.Equal(*o.EndTime) &&
		allDay == oldAllDay && (allDay || f.tzid == m.oldStart.tzid || f.tzid == "" || !m.ev.has(ical.PropRecurrenceRule) && m.dev.Recurrence == nil)
	// A single event at the same instants is unchanged whatever zone the
	// device names (a 14.1 device sends its own TimeZone with every full
	// Change); only a series' rules depend on the zone.
	if same {
		m.form = m.currentForm()
		return nil
	}
	zone := m.dateZone(blobZone)
	sp, sv := m.format(f, *start, zone)
	ep, ev := m.format(f, *end, zone)
	if allDay && ev <= sv {
		// RFC 5545 3.6.1: an all-day event lasts at least its day.
		t, _ := time.Parse("20060102", sv)
		ev = t.AddDate(0, 0, 1).Format("20060102")
	}
	m.set(ical.PropDateTimeStart, "DTSTART"+sp+":"+sv)
	m.set(ical.PropDateTimeEnd, "DTEND"+ep+":"+ev)
	m.ev.del(ical.PropDuration)
	if f.tzid != "" && (f.tzid != m.oldStart.tzid || o.StartTime == nil) {
		// Only for a TZID new to this object: one the server already took
		// without a VTIMEZONE is left as it stood.
		m.ensureVTimezone(f, *start, *end)
	}
	if o.StartTime != nil {
		m.significant = true
		if m.opt.Version >= items.V160 && m.ev.has(ical.PropRecurrenceRule) {
			// MS-ASCAL 2.2.2.22: in 16.x changing the start or end of a
			// series deletes its exceptions.
			m.dropExceptions()
		}
	}
	return nil
}

// ensureVTimezone adds a VTIMEZONE for the TZID when the object has none
// (RFC 5545 3.6.5; go-ical's SetDateTime forgets it, research note §4.2).
func (m *merger) ensureVTimezone(f form, from, to time.Time) {
	for _, c := range m.root.children(ical.CompTimezone) {
		if lineValue(c.line(ical.PropTimezoneID)) == f.tzid {
			return
		}
	}
	vtz := m.opt.Zones.VTimezone(f.loc, from, to)
	if vtz == nil {
		return
	}
	var b bytes.Buffer
	if err := ical.NewEncoder(&b).Encode(&ical.Calendar{Component: vtz}); err != nil {
		return
	}
	raw, err := parseRaw(b.Bytes())
	if err != nil {
		return
	}
	// Before the first VEVENT, where readers expect it.
	for i, e := range m.root.entries {
		if e.child != nil && e.child.name == ical.CompEvent {
			m.root.entries = append(m.root.entries[:i], append([]rawEntry{{child: raw}}, m.root.entries[i:]...)...)
			return
		}
	}
	m.root.addChild(raw)
}

// dropExceptions removes EXDATEs and the RECURRENCE-ID overrides.
func (m *merger) dropExceptions() {
	m.del(ical.PropExceptionDates)
	for _, c := range m.root.children(ical.CompEvent) {
		if c.has(ical.PropRecurrenceID) {
			m.root.delChild(c)
			m.changed = true
		}
	}
}

// applyRecurrence rewrites RRULE when the device's pattern differs from
// the stored one, and the EXDATE set when its deleted exceptions differ.
func (m *merger) applyRecurrence() error {
	d, o := m.dev, m.old
	f := m.form
	if f == (form{}) && m.oldStart.loc != nil {
		f = m.currentForm()
	}
	untilFmt := func(t time.Time) string {
		if f.allDay {
			return dateOf(t, m.dateZone(nil))
		}
		return t.UTC().Format("20060102T150405Z")
	}
	rec, ok := target(m, "Recurrence", d.Recurrence, d.Recurrence != nil)
	if ok {
		newRule, oldRule := "", ""
		var err error
		if rec != nil {
			if newRule, err = fromRecurrence(rec, untilFmt); err != nil {
				return err
			}
		}
		if o.Recurrence != nil {
			if oldRule, err = fromRecurrence(o.Recurrence, untilFmt); err != nil {
				return err
			}
		}
		if newRule != oldRule {
			if newRule == "" {
				m.del(ical.PropRecurrenceRule)
				m.del(ical.PropRecurrenceDates)
				m.dropExceptions()
			} else {
				m.set(ical.PropRecurrenceRule, "RRULE:"+newRule)
				if oldRule != "" && m.opt.Version >= items.V160 {
					m.dropExceptions() // MS-ASCAL 2.2.2.22
				}
			}
			m.significant = true
		}
	}
	if d.Exceptions == nil || m.opt.Version >= items.V160 || !m.ev.has(ical.PropRecurrenceRule) {
		return nil
	}
	// ≤ 14.1 a Change carries the whole exception list.
	oldDel, newDel := map[time.Time]bool{}, map[time.Time]bool{}
	for _, x := range o.Exceptions {
		if x.Deleted {
			oldDel[x.Start] = true
		}
	}
	var order []time.Time
	for _, x := range d.Exceptions {
		if x.Deleted {
			if !newDel[x.Start] {
				order = append(order, x.Start)
			}
			newDel[x.Start] = true
		}
	}
	if mapsEqual(oldDel, newDel) {
		return nil
	}
	m.ev.del(ical.PropExceptionDates)
	if len(order) > 0 {
		var params string
		vals := make([]string, len(order))
		for i, t := range order {
			params, vals[i] = m.format(f, t, m.dateZone(nil))
		}
		m.ev.add(ical.PropExceptionDates, "EXDATE"+params+":"+strings.Join(vals, ","))
	}
	// An instance now deleted loses its override: servers reject EXDATE and
	// RECURRENCE-ID for one instance (research note §2.5).
	for _, x := range m.old.Exceptions {
		if !x.Deleted && newDel[x.Start] {
			m.dropOverride(x.Start)
		}
	}
	m.changed, m.significant = true, true
	return nil
}

func mapsEqual(a, b map[time.Time]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// dropOverride removes the override of the instance that starts at t.
func (m *merger) dropOverride(t time.Time) {
	tr := newTimeReader(m.cal, m.opt.Zones, m.opt.userZone())
	cv := &eventConv{opt: m.opt, tr: tr}
	for _, c := range m.root.children(ical.CompEvent) {
		line := c.line(ical.PropRecurrenceID)
		if line == "" {
			continue
		}
		p := &ical.Prop{Name: ical.PropRecurrenceID, Params: parseParams(paramsOf(line))}
		w, err := tr.read(p, lineValue(line))
		if err == nil && cv.instant(w).Equal(t) {
			m.root.delChild(c)
		}
	}
}

// parseParams reads the ";A=b;C=d" part of a line (quoted values allowed).
func parseParams(s string) ical.Params {
	params := ical.Params{}
	for s != "" {
		s = strings.TrimPrefix(s, ";")
		name, rest, _ := strings.Cut(s, "=")
		var v string
		if strings.HasPrefix(rest, `"`) {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				end = len(rest) - 1
			}
			v, rest = rest[1:1+end], rest[min(len(rest), end+2):]
		} else {
			i := strings.IndexByte(rest, ';')
			if i < 0 {
				i = len(rest)
			}
			v, rest = rest[:i], rest[i:]
		}
		params.Add(strings.ToUpper(name), v)
		s = rest
	}
	return params
}
