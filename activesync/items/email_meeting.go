package items

import (
	"time"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// MeetingRequest is Email:MeetingRequest (MS-ASEMAIL 2.2.2.48), the
// invitation, update, cancellation or answer a message carries. The
// server only sends it; bridge/imip fills it from the iTIP object.
type MeetingRequest struct {
	AllDayEvent  *bool
	StartTime    *time.Time
	DtStamp      time.Time // required
	EndTime      *time.Time
	InstanceType int    // MS-ASEMAIL 2.2.2.38: 0 single, 1 master, 3 exception
	Location     string // omitted when ""; airsyncbase:Location in 16.x
	Organizer    string // omitted when ""
	RecurrenceID *time.Time
	Reminder     *int // seconds (MS-ASEMAIL 2.2.2.63), not the Calendar class's minutes
	// ResponseRequested is always written.
	ResponseRequested bool
	// Recurrence is the series rule, written as Email:Recurrences; the
	// Tasks-only fields of Recurrence are ignored.
	Recurrence  *Recurrence
	Sensitivity *int
	// BusyStatus 4 (working elsewhere) is 16.x; Encode sends it to older
	// clients as 0 (free).
	BusyStatus *int
	// TimeZone is the MS-ASDTYPE 2.7.6 blob, always written, as base64
	// text (MS-ASEMAIL 2.2.2.78): a string and not OPAQUE, which TbSync
	// cannot read.
	TimeZone    []byte
	GlobalObjID string // required, base64 (MS-ASEMAIL 2.2.2.36)
	// DisallowNewTimeProposal is 14.0+ and always written there.
	DisallowNewTimeProposal bool
	// MeetingMessageType (MS-ASEMAIL 2.2.2.49) is 14.1+, always written.
	MeetingMessageType int
	// ProposedStartTime/EndTime are a new time proposal, 16.1+ (MS-ASCMD
	// 2.2.3.141, 2.2.3.140), in the MeetingResponse namespace; the end is
	// written only with a start.
	ProposedStartTime *time.Time
	ProposedEndTime   *time.Time
}

// BusyStatusWorkingElsewhere is the 16.x busy status (MS-ASEMAIL 2.2.2.17).
const BusyStatusWorkingElsewhere = 4

// Encode returns the MeetingRequest element for protocol version v,
// children in the schema's order.
func (r *MeetingRequest) Encode(v Version) *wbxml.Element {
	mr := emailMeetingRequest.new()
	if r.AllDayEvent != nil {
		emailAllDayEvent.text(mr, btoa(*r.AllDayEvent))
	}
	if r.StartTime != nil {
		emailStartTime.text(mr, FormatDashes(*r.StartTime))
	}
	emailDtStamp.text(mr, FormatDashes(r.DtStamp))
	if r.EndTime != nil {
		emailEndTime.text(mr, FormatDashes(*r.EndTime))
	}
	emailInstanceType.text(mr, itoa(r.InstanceType))
	if r.Location != "" {
		if v >= V160 {
			// MS-ASEMAIL 2.2.2.48: 16.x carries airsyncbase:Location instead.
			loc := baseLocation.add(mr)
			baseDisplayName.text(loc, r.Location)
		} else {
			emailLocation.text(mr, r.Location)
		}
	}
	if r.Organizer != "" {
		emailOrganizer.text(mr, r.Organizer)
	}
	if r.RecurrenceID != nil {
		emailRecurrenceID.text(mr, FormatDashes(*r.RecurrenceID))
	}
	if r.Reminder != nil {
		emailReminder.text(mr, itoa(*r.Reminder))
	}
	emailResponseRequested.text(mr, btoa(r.ResponseRequested))
	if r.Recurrence != nil {
		encodeEmailRecurrence(mr, r.Recurrence, v)
	}
	if r.Sensitivity != nil {
		emailSensitivity.text(mr, itoa(*r.Sensitivity))
	}
	if r.BusyStatus != nil {
		b := *r.BusyStatus
		if b == BusyStatusWorkingElsewhere && v < V160 {
			b = 0 // older clients show working elsewhere as free
		}
		emailBusyStatus.text(mr, itoa(b))
	}
	emailTimeZone.text(mr, encodeBase64(r.TimeZone))
	emailGlobalObjID.text(mr, r.GlobalObjID)
	if v >= V140 {
		emailDisallowNewTimeProposal.text(mr, btoa(r.DisallowNewTimeProposal))
	}
	if v >= V141 {
		email2MeetingMessageType.text(mr, itoa(r.MeetingMessageType))
	}
	if v >= V161 && r.ProposedStartTime != nil {
		respProposedStartTime.text(mr, FormatCompact(*r.ProposedStartTime))
		if r.ProposedEndTime != nil {
			respProposedEndTime.text(mr, FormatCompact(*r.ProposedEndTime))
		}
	}
	return mr
}

// encodeEmailRecurrence writes Email:Recurrences (MS-ASEMAIL 2.2.2.62,
// 2.2.2.60): the Calendar recurrence on the Email page, Until as a Compact
// DateTime, the calendar-type fields on Email2.
func encodeEmailRecurrence(mr *wbxml.Element, r *Recurrence, v Version) {
	rec := emailRecurrence.add(emailRecurrences.add(mr))
	emailType.text(rec, itoa(r.Type))
	interval := 1 // required here, optional in the Calendar class
	if r.Interval != nil {
		interval = *r.Interval
	}
	emailInterval.text(rec, itoa(interval))
	if r.Until != nil {
		emailUntil.text(rec, FormatCompact(*r.Until))
	}
	for _, f := range []struct {
		tag emailTag
		v   *int
	}{{emailOccurrences, r.Occurrences}, {emailWeekOfMonth, r.WeekOfMonth}, {emailDayOfMonth, r.DayOfMonth},
		{emailDayOfWeek, r.DayOfWeek}, {emailMonthOfYear, r.MonthOfYear}} {
		if f.v != nil {
			f.tag.text(rec, itoa(*f.v))
		}
	}
	if v >= V140 && r.CalendarType != nil {
		email2CalendarType.text(rec, itoa(*r.CalendarType))
	}
	if v >= V140 && r.IsLeapMonth != nil {
		email2IsLeapMonth.text(rec, btoa(*r.IsLeapMonth))
	}
	if v >= V141 && r.FirstDayOfWeek != nil {
		email2FirstDayOfWeek.text(rec, itoa(*r.FirstDayOfWeek))
	}
}
