package imip

import (
	"time"

	"github.com/idlebridge/idlebridge/activesync/items"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// Element returns the Email:MeetingRequest element (MS-ASEMAIL 2.2.2.48)
// for protocol version v.
func (m *Meeting) Element(v items.Version) *wbxml.Element {
	return m.Request().Encode(v)
}

// Request returns the typed MeetingRequest of the message; the version
// rules (16.x Location, 14.0+ and 14.1+ fields, BusyStatus 4 before 16.0)
// are applied by its Encode.
func (m *Meeting) Request() *items.MeetingRequest {
	ev := m.Event
	r := &items.MeetingRequest{
		AllDayEvent:  ev.AllDayEvent,
		StartTime:    ev.StartTime,
		DtStamp:      m.dtStamp(),
		EndTime:      ev.EndTime,
		InstanceType: m.instanceType(),
		Organizer:    m.Organizer,
		// ResponseRequested is always sent (MS-ASEMAIL 2.2.2.64).
		ResponseRequested:       m.ResponseRequested,
		Sensitivity:             ev.Sensitivity,
		BusyStatus:              ev.BusyStatus,
		TimeZone:                ev.TimeZone,
		GlobalObjID:             EncodeGlobalObjID(m.UID, m.instanceDate()),
		DisallowNewTimeProposal: ev.DisallowNewTimeProposal != nil && *ev.DisallowNewTimeProposal,
		MeetingMessageType:      m.messageType(),
		ProposedStartTime:       m.ProposedStart,
		ProposedEndTime:         m.ProposedEnd,
	}
	if ev.Location != nil {
		r.Location = *ev.Location
	}
	if !m.RecurrenceID.IsZero() {
		rid := m.RecurrenceID
		r.RecurrenceID = &rid
	} else {
		// A message about one instance carries no series rule.
		r.Recurrence = ev.Recurrence
	}
	if ev.Reminder != nil {
		// MS-ASEMAIL 2.2.2.63: seconds here, minutes in the Calendar class.
		r.Reminder = items.Ptr(*ev.Reminder * 60)
	}
	return r
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
