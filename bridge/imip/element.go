package imip

import (
	"encoding/base64"
	"strconv"
	"time"

	"github.com/idlebridge/idlebridge/activesync/items"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// dateTime is the MS-ASDTYPE 2.3 form of the MeetingRequest times
// (MS-ASEMAIL 2.2.2.73 StartTime, 2.2.2.30 DtStamp, 2.2.2.61 RecurrenceId).
const dateTime = "2006-01-02T15:04:05.000Z"

func dashes(t time.Time) string { return t.UTC().Format(dateTime) }

func btoa(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// Element returns the Email:MeetingRequest element (MS-ASEMAIL 2.2.2.48)
// for protocol version v, children in the schema's order.
func (m *Meeting) Element(v items.Version) *wbxml.Element {
	ev := m.Event
	mr := wbxml.New(wbxml.Email, "MeetingRequest")
	if ev.AllDayEvent != nil {
		mr.AddText(wbxml.Email, "AllDayEvent", btoa(*ev.AllDayEvent))
	}
	if ev.StartTime != nil {
		mr.AddText(wbxml.Email, "StartTime", dashes(*ev.StartTime))
	}
	mr.AddText(wbxml.Email, "DtStamp", dashes(m.dtStamp()))
	if ev.EndTime != nil {
		mr.AddText(wbxml.Email, "EndTime", dashes(*ev.EndTime))
	}
	mr.AddText(wbxml.Email, "InstanceType", strconv.Itoa(m.instanceType()))
	if ev.Location != nil && *ev.Location != "" {
		if v >= items.V160 {
			// MS-ASEMAIL 2.2.2.48: 16.x carries airsyncbase:Location instead.
			loc := mr.Add(wbxml.AirSyncBase, "Location")
			loc.AddText(wbxml.AirSyncBase, "DisplayName", *ev.Location)
		} else {
			mr.AddText(wbxml.Email, "Location", *ev.Location)
		}
	}
	if m.Organizer != "" {
		mr.AddText(wbxml.Email, "Organizer", m.Organizer)
	}
	if !m.RecurrenceID.IsZero() {
		mr.AddText(wbxml.Email, "RecurrenceId", dashes(m.RecurrenceID))
	}
	if ev.Reminder != nil {
		// MS-ASEMAIL 2.2.2.63: seconds here, minutes in the Calendar class.
		mr.AddText(wbxml.Email, "Reminder", strconv.Itoa(*ev.Reminder*60))
	}
	mr.AddText(wbxml.Email, "ResponseRequested", btoa(m.ResponseRequested))
	if r := ev.Recurrence; r != nil && m.RecurrenceID.IsZero() {
		recurrences(mr, r, v)
	}
	if ev.Sensitivity != nil {
		mr.AddText(wbxml.Email, "Sensitivity", strconv.Itoa(*ev.Sensitivity))
	}
	if ev.BusyStatus != nil {
		b := *ev.BusyStatus
		if b == 4 && v < items.V160 {
			b = 0 // working elsewhere is 16.x; older clients show it as free
		}
		mr.AddText(wbxml.Email, "BusyStatus", strconv.Itoa(b))
	}
	// The blob travels as base64 text (MS-ASEMAIL 2.2.2.78), a string and
	// not OPAQUE, which TbSync cannot read.
	mr.AddText(wbxml.Email, "TimeZone", base64.StdEncoding.EncodeToString(ev.TimeZone))
	mr.AddText(wbxml.Email, "GlobalObjId", EncodeGlobalObjID(m.UID, m.instanceDate()))
	if v >= items.V140 {
		mr.AddText(wbxml.Email, "DisallowNewTimeProposal", btoa(ev.DisallowNewTimeProposal != nil && *ev.DisallowNewTimeProposal))
	}
	if v >= items.V141 {
		mr.AddText(wbxml.Email2, "MeetingMessageType", strconv.Itoa(m.messageType()))
	}
	if v >= items.V161 && m.ProposedStart != nil {
		// MS-ASCMD 2.2.3.141/2.2.3.140: a new time proposal, MeetingResponse namespace.
		mr.AddText(wbxml.MeetingResponse, "ProposedStartTime", items.FormatCompact(*m.ProposedStart))
		if m.ProposedEnd != nil {
			mr.AddText(wbxml.MeetingResponse, "ProposedEndTime", items.FormatCompact(*m.ProposedEnd))
		}
	}
	return mr
}

// dtStamp is DTSTAMP, which RFC 5546 requires; a message without one
// gets its start, else the Unix epoch, so the element stays stable.
func (m *Meeting) dtStamp() time.Time {
	switch {
	case m.Event.DtStamp != nil:
		return *m.Event.DtStamp
	case m.Event.StartTime != nil:
		return *m.Event.StartTime
	}
	return time.Unix(0, 0)
}

func (m *Meeting) instanceType() int {
	switch {
	case !m.RecurrenceID.IsZero():
		return InstanceException
	case m.Event.Recurrence != nil:
		return InstanceMaster
	}
	return InstanceSingle
}

// instanceDate is the date the GOID names for a one-instance message:
// the instance's original date in the meeting's own frame is not known
// here, so the UTC date of its start is used, as Exchange does for
// GOIDs it builds from iCalendar.
func (m *Meeting) instanceDate() time.Time {
	if m.RecurrenceID.IsZero() {
		return time.Time{}
	}
	return m.RecurrenceID.UTC()
}

// messageType: a first REQUEST (SEQUENCE 0) is an initial request, a later
// one a full update; other methods are unspecified.
func (m *Meeting) messageType() int {
	if m.Method != MethodRequest {
		return MessageTypeUnspecified
	}
	if m.Sequence > 0 {
		return MessageTypeFullUpdate
	}
	return MessageTypeInitial
}

// recurrences writes Email:Recurrences (MS-ASEMAIL 2.2.2.62, 2.2.2.60):
// the Calendar recurrence on the Email page, Until as a Compact DateTime,
// the calendar-type fields on Email2.
func recurrences(mr *wbxml.Element, r *items.Recurrence, v items.Version) {
	rec := mr.Add(wbxml.Email, "Recurrences").Add(wbxml.Email, "Recurrence")
	rec.AddText(wbxml.Email, "Type", strconv.Itoa(r.Type))
	interval := 1 // required here, optional in the Calendar class
	if r.Interval != nil {
		interval = *r.Interval
	}
	rec.AddText(wbxml.Email, "Interval", strconv.Itoa(interval))
	if r.Until != nil {
		rec.AddText(wbxml.Email, "Until", items.FormatCompact(*r.Until))
	}
	for _, f := range []struct {
		name string
		v    *int
	}{{"Occurrences", r.Occurrences}, {"WeekOfMonth", r.WeekOfMonth}, {"DayOfMonth", r.DayOfMonth},
		{"DayOfWeek", r.DayOfWeek}, {"MonthOfYear", r.MonthOfYear}} {
		if f.v != nil {
			rec.AddText(wbxml.Email, f.name, strconv.Itoa(*f.v))
		}
	}
	if v >= items.V140 && r.CalendarType != nil {
		rec.AddText(wbxml.Email2, "CalendarType", strconv.Itoa(*r.CalendarType))
	}
	if v >= items.V140 && r.IsLeapMonth != nil {
		rec.AddText(wbxml.Email2, "IsLeapMonth", btoa(*r.IsLeapMonth))
	}
	if v >= items.V141 && r.FirstDayOfWeek != nil {
		rec.AddText(wbxml.Email2, "FirstDayOfWeek", strconv.Itoa(*r.FirstDayOfWeek))
	}
}
