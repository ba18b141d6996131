package calconv

import (
	"strings"

	"github.com/emersion/go-ical"
	"github.com/idlebridge/idlebridge/activesync/items"
)

// applyAttendees makes the master VEVENT's ATTENDEE lines the device's
// list. A line the device kept (same address, case-insensitive) is
// written back as it was except for what the device changed: CN from
// Name, ROLE/CUTYPE from AttendeeType. PARTSTAT, RSVP and X- parameters
// of a kept line are never touched: a device's AttendeeStatus for someone
// else is only what it last saw. Lines EAS never showed (the organizer's
// own, one without an e-mail) stay. Overrides keep their own lines.
// Only the organizer's list is edited: the user's or, when none is named,
// the one the device is creating.
func (m *merger) applyAttendees() {
	want, ok := target(m, "Attendees", m.dev.Attendees, m.dev.Attendees != nil)
	if !ok {
		return
	}
	org := strings.ToLower(attendeeAddress(m.ev.line(ical.PropOrganizer)))
	if org != "" && !strings.EqualFold(org, m.opt.UserEmail) {
		// Someone else's meeting: the list is the organizer's, and a
		// device may change only the user's own answer (research note
		// P12), which MeetingResponse writes.
		return
	}
	old := map[string]items.Attendee{}
	for _, a := range m.old.Attendees {
		old[strings.ToLower(a.Email)] = a
	}
	dev := map[string]items.Attendee{}
	var order []string
	for _, a := range want {
		a.Email = strings.TrimSpace(a.Email)
		k := strings.ToLower(a.Email)
		if _, dup := dev[k]; dup || !validAddress(a.Email) {
			continue // no address to invite, or listed twice
		}
		dev[k] = a
		order = append(order, k)
	}

	seen := map[string]bool{}
	changed := false
	out := make([]rawEntry, 0, len(m.ev.entries)+len(order))
	last := -1 // index in out after the last ATTENDEE line
	for _, e := range m.ev.entries {
		if e.child != nil || e.name != ical.PropAttendee {
			out = append(out, e)
			continue
		}
		k := strings.ToLower(attendeeAddress(e.line))
		d, listed := dev[k]
		switch {
		case k == "" || k == org:
			// not shown to the device, so not the device's to drop
		case !listed:
			changed = true
			continue
		default:
			if o, ok := old[k]; ok {
				if l := patchAttendee(e.line, o, d); l != e.line {
					e.line, changed = l, true
				}
			}
		}
		seen[k] = true
		out = append(out, e)
		last = len(out)
	}
	var added []rawEntry
	for _, k := range order {
		if seen[k] {
			continue
		}
		line := newAttendeeLine(dev[k])
		if strings.EqualFold(k, m.opt.UserEmail) {
			// The user listed in their own meeting (iOS does, research
			// note P12) has nothing to answer.
			line = strings.Replace(line, ";PARTSTAT=NEEDS-ACTION;RSVP=TRUE:", ";PARTSTAT=ACCEPTED:", 1)
		}
		added = append(added, rawEntry{line: line, name: ical.PropAttendee})
	}
	if !changed && len(added) == 0 {
		return
	}
	if last >= 0 {
		out = append(out[:last], append(added, out[last:]...)...)
		m.ev.entries = out
	} else {
		m.ev.entries = out
		for _, e := range added {
			m.ev.insert(e)
		}
	}
	m.changed, m.significant = true, true
	m.addOrganizer()
}

// addOrganizer makes the user the organizer of an event that now has
// attendees and names none: the device's user organizes what it invites
// to (16.x requests carry no OrganizerEmail, MS-ASCAL 2.2.2.32). An
// existing ORGANIZER is never changed.
func (m *merger) addOrganizer() {
	if m.ev.has(ical.PropOrganizer) || !m.ev.has(ical.PropAttendee) || !validAddress(m.opt.UserEmail) {
		return
	}
	line := "ORGANIZER"
	name := m.opt.UserName
	if name == "" && m.dev.OrganizerName != nil && m.dev.OrganizerEmail != nil && strings.EqualFold(*m.dev.OrganizerEmail, m.opt.UserEmail) {
		name = *m.dev.OrganizerName
	}
	if name = paramText(name); name != "" && !strings.EqualFold(name, m.opt.UserEmail) {
		line += ";CN=" + quoteParam(name)
	}
	m.ev.insert(rawEntry{line: line + ":mailto:" + m.opt.UserEmail, name: ical.PropOrganizer})
}

// patchAttendee rewrites what the device changed of one kept attendee,
// compared with what it was shown (o).
func patchAttendee(line string, o, d items.Attendee) string {
	if n := paramText(d.Name); n != "" && n != o.Name && !strings.EqualFold(n, d.Email) {
		line = setParam(line, ical.ParamCommonName, quoteParam(n))
	}
	if d.Type != nil && o.Type != nil && *d.Type != *o.Type {
		line = setParam(line, ical.ParamRole, roleOf(*d.Type))
		if *d.Type == items.AttendeeResource {
			line = setParam(line, ical.ParamCalendarUserType, "RESOURCE")
		} else if *o.Type == items.AttendeeResource {
			line = setParam(line, ical.ParamCalendarUserType, "")
		}
	}
	return line
}

// newAttendeeLine invites one attendee the server did not list.
func newAttendeeLine(a items.Attendee) string {
	line := "ATTENDEE"
	if n := paramText(a.Name); n != "" && !strings.EqualFold(n, a.Email) {
		line += ";CN=" + quoteParam(n)
	}
	typ := items.AttendeeRequired
	if a.Type != nil {
		typ = *a.Type
	}
	if typ == items.AttendeeResource {
		line += ";CUTYPE=RESOURCE"
	}
	return line + ";ROLE=" + roleOf(typ) + ";PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:" + a.Email
}

// roleOf maps AttendeeType (MS-ASCAL 2.2.2.4: 1 required, 2 optional,
// 3 resource) to ROLE (RFC 5545 3.2.16).
func roleOf(typ int) string {
	switch typ {
	case items.AttendeeOptional:
		return "OPT-PARTICIPANT"
	case items.AttendeeResource:
		return "NON-PARTICIPANT"
	}
	return "REQ-PARTICIPANT"
}

// setParam sets one parameter of a line in place, appends it when absent,
// or removes it when v is "". Every other parameter stays as written.
func setParam(line, key, v string) string {
	var params []string
	done := false
	for _, p := range splitParams(paramsOf(line)) {
		if k, _, _ := strings.Cut(p, "="); strings.EqualFold(k, key) {
			if !done && v != "" {
				params = append(params, key+"="+v)
			}
			done = true
			continue
		}
		params = append(params, p)
	}
	if !done && v != "" {
		params = append(params, key+"="+v)
	}
	out := line[:len(propName(line))]
	for _, p := range params {
		out += ";" + p
	}
	return out + ":" + lineValue(line)
}

// paramText makes device text safe inside a parameter value: valid UTF-8,
// no control characters (a CR or LF would end the line), no quotes.
func paramText(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '"' {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	return strings.TrimSpace(s)
}

// validAddress accepts an e-mail that can be written as a mailto: value
// as it is: one @, no space, control character, quote or separator that
// would change the line's meaning.
func validAddress(s string) bool {
	if strings.Count(s, "@") != 1 || strings.HasPrefix(s, "@") || strings.HasSuffix(s, "@") {
		return false
	}
	for _, r := range s {
		if r <= 0x20 || r == 0x7f || r == '"' || r == ';' || r == ':' || r == ',' || r == '<' || r == '>' || r == '\uFFFD' {
			return false
		}
	}
	return true
}
