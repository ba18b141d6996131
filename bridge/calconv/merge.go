package calconv

import (
	"crypto/rand"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"
	"github.com/idlebridge/idlebridge/activesync/items"
)

// Ghosting says what an element a device left out of a Change means.
type Ghosting struct {
	// Supported is the set of element names the device listed in the
	// collection's initial Sync (MS-ASCMD 2.2.3.179); nil when it sent no
	// Supported element.
	Supported map[string]bool
}

// keeps reports whether an absent element keeps the server's value:
// always in 16.x (MS-ASCAL 3.1.5.3); before, only when ghosted — no
// Supported means nothing is ghosted, otherwise what is not listed is.
func (g Ghosting) keeps(v items.Version, element string) bool {
	if v >= items.V160 {
		return true
	}
	if g.Supported == nil {
		return false
	}
	return !g.Supported[element]
}

// ErrReadOnly is returned for a change to an object whose recurrence EAS
// cannot express (Result.Inexpressible): applying it would overwrite what
// the device never saw (P7).
var ErrReadOnly = errors.New("calconv: the event has parts EAS cannot express; it is read-only")

// Patched is the outcome of Merge.
type Patched struct {
	Data    []byte // the object to PUT
	Changed bool   // false: the device changed nothing the server holds; no PUT needed
	UID     string
	// Unsupported lists what the device sent that the merge could not
	// apply (an exception at a time the series has no occurrence): the
	// device should be sent the server's object again.
	Unsupported []string
}

// Merge applies a device's Add (stored nil) or Change to the stored
// object and returns the patched bytes. Only properties EAS carries and
// the device changed are rewritten, plus DTSTAMP, LAST-MODIFIED and, for
// changes of time or recurrence, SEQUENCE (RFC 5546 2.1.4); every other
// line — extra VALARMs, ATTACH, COLOR, X- properties, unknown parameters —
// is written back as it was (research note P5, P6).
func Merge(stored []byte, dev *items.Calendar, g Ghosting, opt Options, now time.Time) (*Patched, error) {
	opt.BodyType, opt.TruncationSize = items.BodyPlain, 0
	m := &merger{dev: dev, g: g, opt: opt, now: now.UTC(), out: &Patched{}}
	var err error
	if stored == nil {
		err = m.start()
	} else {
		err = m.load(stored)
	}
	if err != nil {
		return nil, err
	}
	if err := m.apply(); err != nil {
		return nil, err
	}
	return m.finish(stored)
}

type merger struct {
	dev  *items.Calendar
	g    Ghosting
	opt  Options
	now  time.Time
	out  *Patched
	root *rawComp // VCALENDAR
	ev   *rawComp // the master VEVENT
	old  *items.Calendar
	// oldStart is the stored DTSTART as written (zone and type).
	oldStart    when
	cal         *ical.Component
	form        form // DTSTART as written after applyTimes
	changed     bool
	significant bool
	// exact: an element dev leaves out has no value (an occurrence's
	// target, built whole), rather than what Ghosting says.
	exact bool
	// occurrences: an override was patched or added (stamped on its own).
	occurrences bool
}

// start builds a new object for an Add: PRODID, the device's UID (≤ 14.1
// UID, 16.x ClientUid, MS-ASCAL 2.2.2.13) or a generated one.
func (m *merger) start() error {
	uid := ""
	switch {
	case m.opt.Version >= items.V160 && m.dev.ClientUID != nil && *m.dev.ClientUID != "":
		uid = *m.dev.ClientUID
	case m.dev.UID != nil && *m.dev.UID != "":
		uid = *m.dev.UID
	default:
		uid = newUID()
	}
	if m.dev.StartTime == nil {
		return fmt.Errorf("calconv: a new event needs a StartTime")
	}
	m.ev = &rawComp{name: ical.CompEvent}
	m.ev.add(ical.PropUID, ical.PropUID+":"+escapeText(uid))
	m.root = &rawComp{name: ical.CompCalendar, entries: []rawEntry{
		{line: "VERSION:2.0", name: "VERSION"},
		{line: "PRODID:-//idlebridge//idlebridge//EN", name: "PRODID"},
		{child: m.ev},
	}}
	m.old = &items.Calendar{}
	m.cal = ical.NewComponent(ical.CompCalendar)
	m.out.UID = uid
	m.changed = true
	return nil
}

func newUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func (m *merger) load(stored []byte) error {
	cal, err := ParseICal(stored)
	if err != nil {
		return err
	}
	res, err := EventFromCalendar(cal.Component, m.opt)
	if err != nil {
		return err
	}
	if len(res.Inexpressible) > 0 {
		return fmt.Errorf("%w: %s", ErrReadOnly, strings.Join(res.Inexpressible, ", "))
	}
	m.old, m.cal = res.Item, cal.Component
	if m.root, err = parseRaw(stored); err != nil {
		return err
	}
	for _, c := range m.root.children(ical.CompEvent) {
		if !c.has(ical.PropRecurrenceID) {
			m.ev = c
			break
		}
	}
	if m.ev == nil {
		return ErrNoEvent
	}
	if m.old.UID != nil {
		m.out.UID = *m.old.UID
	}
	tr := newTimeReader(cal.Component, m.opt.Zones, m.opt.userZone())
	for _, c := range cal.Children {
		if c.Name == ical.CompEvent && c.Props.Get(ical.PropRecurrenceID) == nil {
			m.oldStart, _, err = tr.readProp(c, ical.PropDateTimeStart)
			return err
		}
	}
	return nil
}

// target returns the value the device wants for one element and whether
// it is to be applied: present → its value; absent → cleared unless
// ghosted.
func target[T any](m *merger, element string, v T, present bool) (T, bool) {
	if present {
		return v, true
	}
	var zero T
	return zero, m.exact || !m.g.keeps(m.opt.Version, element)
}

// apply patches the master with the device's Change, then the overrides:
// the ones the device changed (≤ 14.1 Exceptions) and those whose
// inherited values follow the master.
func (m *merger) apply() error {
	series := m.seriesAfter()
	if err := m.applyEvent(); err != nil {
		return err
	}
	if err := m.applyRecurrence(); err != nil {
		return err
	}
	m.applyAttendees()
	return m.applyOccurrences(series)
}

// applyEvent patches m.ev with the fields a series and one occurrence
// share.
func (m *merger) applyEvent() error {
	d, o := m.dev, m.old
	if s, ok := target(m, "Subject", d.Subject, d.Subject != nil); ok && !reflect.DeepEqual(norm(s), norm(o.Subject)) {
		m.setText(ical.PropSummary, s)
	}
	if s, ok := target(m, "Location", d.Location, d.Location != nil); ok && !reflect.DeepEqual(norm(s), norm(o.Location)) {
		m.setText(ical.PropLocation, s)
	}
	if b, ok := target(m, "Body", d.Body, d.Body != nil); ok && bodyText(b) != bodyText(o.Body) {
		s := bodyText(b)
		m.setText(ical.PropDescription, &s)
		// A stale HTML twin would contradict the new text.
		m.ev.del("X-ALT-DESC")
	}
	if err := m.applyTimes(); err != nil {
		return err
	}
	if n, ok := target(m, "BusyStatus", d.BusyStatus, d.BusyStatus != nil); ok && n != nil && !reflect.DeepEqual(n, o.BusyStatus) {
		m.setBusy(*n)
	}
	if n, ok := target(m, "Sensitivity", d.Sensitivity, d.Sensitivity != nil); ok && !reflect.DeepEqual(orZero(n), orZero(o.Sensitivity)) {
		m.setClass(orZero(n))
	}
	if n, ok := target(m, "Reminder", d.Reminder, d.Reminder != nil); ok && !reflect.DeepEqual(n, o.Reminder) {
		m.setReminder(n)
	}
	if cs, ok := target(m, "Categories", d.Categories, d.Categories != nil); ok && !sameStrings(cs, o.Categories) {
		m.setCategories(cs)
	}
	return nil
}

func norm(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func orZero(n *int) int {
	if n == nil {
		return 0
	}
	return *n
}

func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// bodyText is the plain text of a device body; HTML is reduced to its
// text, since DESCRIPTION is plain (RFC 5545 3.8.1.5).
func bodyText(b *items.Body) string {
	if b == nil {
		return ""
	}
	if b.Type != items.BodyHTML {
		return b.Data
	}
	var sb strings.Builder
	in := false
	for _, r := range b.Data {
		switch {
		case r == '<':
			in = true
		case r == '>':
			in = false
		case !in:
			sb.WriteRune(r)
		}
	}
	return strings.TrimSpace(sb.String())
}

// setClass writes EAS Sensitivity (0 normal, 1 personal, 2 private, 3
// confidential) as CLASS; iCalendar has no "personal", so it is PRIVATE.
func (m *merger) setClass(sensitivity int) {
	m.set(ical.PropClass, "CLASS:"+[]string{"PUBLIC", "PRIVATE", "PRIVATE", "CONFIDENTIAL"}[min(max(sensitivity, 0), 3)])
}

// setCategories writes the device's categories as one CATEGORIES line
// (RFC 5545 text escaping), or removes it when there are none.
func (m *merger) setCategories(cs []string) {
	if len(cs) == 0 {
		m.del(ical.PropCategories)
		return
	}
	esc := make([]string, len(cs))
	for i, c := range cs {
		esc[i] = escapeText(c)
	}
	m.set(ical.PropCategories, "CATEGORIES:"+strings.Join(esc, ","))
}

func (m *merger) set(name, line string) {
	m.ev.set(name, line)
	m.changed = true
}

func (m *merger) del(name string) {
	if m.ev.has(name) {
		m.ev.del(name)
		m.changed = true
	}
}

// setText rewrites a TEXT property keeping its parameters (LOCATION's
// X-APPLE-* and ALTREP stay as the server had them).
func (m *merger) setText(name string, s *string) {
	if s == nil || *s == "" {
		m.del(name)
		return
	}
	m.set(name, name+paramsOf(m.ev.line(name))+":"+escapeText(*s))
}

func (m *merger) setBusy(n int) {
	transp := "OPAQUE"
	if n == 0 {
		transp = "TRANSPARENT"
	}
	m.set(ical.PropTransparency, "TRANSP:"+transp)
	// TRANSP holds only free/busy; the MS-OXCICAL property carries the rest.
	if m.ev.has("X-MICROSOFT-CDO-BUSYSTATUS") || (n != 0 && n != 2) {
		names := strings.Fields(busyNames)
		m.set("X-MICROSOFT-CDO-BUSYSTATUS", "X-MICROSOFT-CDO-BUSYSTATUS:"+names[min(max(n, 0), len(names)-1)])
	}
}

// setReminder changes only the first DISPLAY/AUDIO alarm's TRIGGER, adds
// an alarm when there is none, and removes only that one when cleared (P13;
// SOGo's removing every alarm is the bug to avoid).
func (m *merger) setReminder(n *int) {
	var first *rawComp
	for _, a := range m.ev.children(ical.CompAlarm) {
		if act := strings.ToUpper(lineValue(a.line(ical.PropAction))); act == "DISPLAY" || act == "AUDIO" {
			first = a
			break
		}
	}
	m.changed = true
	switch {
	case n == nil && first != nil:
		m.ev.delChild(first)
	case n == nil:
		m.changed = false
	case first != nil:
		first.set(ical.PropTrigger, "TRIGGER:"+minutesBefore(*n))
	default:
		m.ev.addChild(&rawComp{name: ical.CompAlarm, entries: []rawEntry{
			{line: "ACTION:DISPLAY", name: ical.PropAction},
			{line: "DESCRIPTION:Reminder", name: ical.PropDescription},
			{line: "TRIGGER:" + minutesBefore(*n), name: ical.PropTrigger},
		}})
	}
}

func minutesBefore(n int) string {
	if n == 0 {
		return "PT0S"
	}
	return "-PT" + strconv.Itoa(n) + "M"
}

// lineValue is the value part of a content line.
func lineValue(line string) string {
	return strings.TrimPrefix(line[len(propName(line))+len(paramsOf(line)):], ":")
}

// stamp sets DTSTAMP and LAST-MODIFIED, and bumps SEQUENCE for changes
// that matter to attendees (RFC 5546 2.1.4: start, end, recurrence, the
// attendee list).
func (m *merger) stamp() {
	ts := m.now.Format("20060102T150405Z")
	m.ev.set(ical.PropDateTimeStamp, "DTSTAMP:"+ts)
	if m.old.StartTime != nil || m.ev.has(ical.PropLastModified) {
		m.ev.set(ical.PropLastModified, "LAST-MODIFIED:"+ts)
	}
	if m.significant && m.old.StartTime != nil {
		seq, _ := strconv.Atoi(strings.TrimSpace(lineValue(m.ev.line(ical.PropSequence))))
		m.ev.set(ical.PropSequence, "SEQUENCE:"+strconv.Itoa(seq+1))
	}
}
