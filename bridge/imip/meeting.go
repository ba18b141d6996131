package imip

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-ical"
	"github.com/idlebridge/idlebridge/activesync/items"
	"github.com/idlebridge/idlebridge/bridge/calconv"
	"github.com/idlebridge/idlebridge/bridge/caltz"
)

// iTIP methods (RFC 5546 1.4) this package turns into meeting messages.
const (
	MethodRequest = "REQUEST"
	MethodCancel  = "CANCEL"
	MethodReply   = "REPLY"
	MethodCounter = "COUNTER"
)

// Message classes of meeting mail (MS-ASEMAIL 2.2.2.49).
const (
	ClassRequest  = "IPM.Schedule.Meeting.Request"
	ClassCanceled = "IPM.Schedule.Meeting.Canceled"
	ClassRespPos  = "IPM.Schedule.Meeting.Resp.Pos"
	ClassRespTent = "IPM.Schedule.Meeting.Resp.Tent"
	ClassRespNeg  = "IPM.Schedule.Meeting.Resp.Neg"
)

// InstanceType values (MS-ASEMAIL 2.2.2.39).
const (
	InstanceSingle    = 0
	InstanceMaster    = 1
	InstanceException = 3
)

// MeetingMessageType values (MS-ASEMAIL 2.2.2.47).
const (
	MessageTypeUnspecified = 0
	MessageTypeInitial     = 1
	MessageTypeFullUpdate  = 2
)

// busyNames are the MS-OXCICAL busy status values in EAS BusyStatus order.
var busyNames = []string{"FREE", "TENTATIVE", "BUSY", "OOF", "WORKINGELSEWHERE"}

// Options say for whom a meeting message is converted.
type Options struct {
	Version items.Version
	// Zones resolves TZIDs and builds the TimeZone blob; nil uses a
	// bridge/caltz Zones shared by the process.
	Zones calconv.Zones
	// UserZone reads floating times and places all-day events (see
	// calconv.Options.UserZone); nil is UTC.
	UserZone *time.Location
	// Recipients are the message's To and Cc addresses: the user's
	// ATTENDEE line is the one among them (ResponseRequested).
	Recipients []string
	// Method, when set, is taken instead of the object's METHOD: a stored
	// calendar event (which has none, RFC 4791 4.1) read as the REQUEST it
	// came from, for a MeetingResponse on the calendar folder.
	Method string
}

// sharedZones is built on first use: caltz.Zones loads the CLDR table once
// and is safe for concurrent use, so one per process is enough when the
// caller has none of its own.
var sharedZones = sync.OnceValue(func() *caltz.Zones { return caltz.New(caltz.Options{}) })

func (o Options) zones() calconv.Zones {
	if o.Zones == nil {
		return sharedZones()
	}
	return o.Zones
}

func (o Options) userZone() *time.Location {
	if o.UserZone == nil {
		return time.UTC
	}
	return o.UserZone
}

// Meeting is an iTIP message read from a text/calendar part.
type Meeting struct {
	Method   string // upper-case METHOD
	UID      string
	Sequence int
	// RecurrenceID is the original start of the one instance the message
	// is about (EAS form, UTC); zero for a whole series or a single event.
	RecurrenceID time.Time
	// PartStat is the replying attendee's PARTSTAT (REPLY, COUNTER).
	PartStat string
	// Event is the event as the calendar sync would show it.
	Event *items.Calendar
	// NoTimes: the VEVENT had no DTSTART (allowed in REPLY and CANCEL,
	// RFC 5546 3.2), so Event carries no times.
	NoTimes           bool
	Organizer         string // "Name" <address>, or the address
	ResponseRequested bool
	// ProposedStart and ProposedEnd are a COUNTER's new times.
	ProposedStart, ProposedEnd *time.Time
	// Calendar is the parsed object and Raw its bytes, for MeetingResponse
	// to store (patched, never regenerated: calconv.SetPartStat).
	Calendar *ical.Calendar
	Raw      []byte

	copt calconv.Options // how times were read, to match instances later
}

// ErrNotMeeting is returned by Parse for an iCalendar object whose METHOD
// is none of the meeting messages (a PUBLISH, or no METHOD at all).
var ErrNotMeeting = errors.New("imip: not a meeting message")

// Parse reads an iTIP object (the decoded bytes of a text/calendar part).
// It fails for what is not a meeting message: no VEVENT, no UID, or a
// METHOD this package does not handle.
func Parse(data []byte, opt Options) (*Meeting, error) {
	cal, err := calconv.ParseICal(data)
	if err != nil {
		return nil, err
	}
	m := &Meeting{Calendar: cal, Raw: data}
	if p := cal.Props.Get(ical.PropMethod); p != nil {
		m.Method = strings.ToUpper(strings.TrimSpace(p.Value))
	}
	if opt.Method != "" {
		m.Method = opt.Method
	}
	switch m.Method {
	case MethodRequest, MethodCancel, MethodReply, MethodCounter:
	default:
		return nil, fmt.Errorf("%w: METHOD %q", ErrNotMeeting, m.Method)
	}
	ev, instance := pickEvent(cal.Component)
	if ev == nil {
		return nil, fmt.Errorf("imip: no VEVENT")
	}
	uid := ev.Props.Get(ical.PropUID)
	if uid == nil || strings.TrimSpace(uid.Value) == "" {
		return nil, fmt.Errorf("imip: VEVENT without UID")
	}
	// A NUL cannot travel in the vCal GOID (it ends the UID there), nor in
	// WBXML inline strings; no real UID has one.
	m.UID = strings.TrimSpace(strings.ReplaceAll(uid.Value, "\x00", ""))
	if m.UID == "" {
		return nil, fmt.Errorf("imip: VEVENT without UID")
	}
	if p := ev.Props.Get(ical.PropSequence); p != nil {
		m.Sequence, _ = strconv.Atoi(strings.TrimSpace(p.Value))
	}
	copt := calconv.Options{Version: opt.Version, Zones: opt.zones(), UserZone: opt.UserZone}
	m.copt = copt
	if instance {
		rid := ev.Props.Get(ical.PropRecurrenceID)
		if m.RecurrenceID, _, err = calconv.Instant(cal.Component, rid, copt); err != nil {
			return nil, fmt.Errorf("imip: RECURRENCE-ID: %w", err)
		}
	}
	conv, noTimes := convertible(cal.Component, ev, instance)
	res, err := calconv.EventFromCalendar(conv, copt)
	if err != nil {
		return nil, err
	}
	m.Event, m.NoTimes = res.Item, noTimes
	if noTimes {
		m.Event.StartTime, m.Event.EndTime, m.Event.AllDayEvent = nil, nil, nil
	}
	if p := ev.Props.Get(ical.PropOrganizer); p != nil {
		m.Organizer = formatAddress(p)
	}
	if p := ev.Props.Get("X-MICROSOFT-CDO-INTENDEDSTATUS"); p != nil {
		// What the meeting will be once accepted, which is what a device
		// shows on an invitation (BUSYSTATUS is the tentative placeholder).
		if n := slices.Index(busyNames, strings.ToUpper(strings.TrimSpace(p.Value))); n >= 0 {
			m.Event.BusyStatus = items.Ptr(n)
		}
	}
	if m.Method == MethodCancel {
		m.Event.BusyStatus = items.Ptr(0) // the slot the meeting held is free again
	}
	atts := ev.Props[ical.PropAttendee]
	if m.Method == MethodReply || m.Method == MethodCounter {
		// RFC 5546 3.2.3: a REPLY names exactly one attendee, the one replying.
		if len(atts) > 0 {
			m.PartStat = strings.ToUpper(atts[0].Params.Get(ical.ParamParticipationStatus))
		}
	}
	if m.Method == MethodRequest {
		m.ResponseRequested = rsvp(atts, opt.Recipients)
	}
	if m.Method == MethodCounter && !noTimes {
		m.ProposedStart, m.ProposedEnd = m.Event.StartTime, m.Event.EndTime
	}
	if m.Event.TimeZone == nil {
		// MS-ASEMAIL requires TimeZone in MeetingRequest even where the
		// Calendar class leaves it out (16.x all-day events).
		year := time.Now().Year()
		if m.Event.StartTime != nil {
			year = m.Event.StartTime.Year()
		}
		m.Event.TimeZone = opt.zones().Blob(opt.userZone(), year)
	}
	return m, nil
}

// pickEvent returns the master VEVENT, else the first override (a message
// about one instance carries only that); instance reports the latter.
func pickEvent(cal *ical.Component) (ev *ical.Component, instance bool) {
	var first *ical.Component
	for _, c := range cal.Children {
		if c.Name != ical.CompEvent {
			continue
		}
		if c.Props.Get(ical.PropRecurrenceID) == nil {
			return c, false
		}
		if first == nil {
			first = c
		}
	}
	return first, first != nil
}

// convertible returns the VCALENDAR calconv converts: the original, or for
// an instance-only message a copy whose VEVENT is the override without its
// RECURRENCE-ID (calconv wants a master), and for a VEVENT without DTSTART
// one that borrows DTSTAMP so the other fields still convert (noTimes).
func convertible(cal, ev *ical.Component, instance bool) (*ical.Component, bool) {
	noTimes := ev.Props.Get(ical.PropDateTimeStart) == nil
	if !instance && !noTimes {
		return cal, false
	}
	c := *ev
	c.Props = maps.Clone(ev.Props)
	delete(c.Props, ical.PropRecurrenceID)
	if noTimes {
		stamp := ev.Props.Get(ical.PropDateTimeStamp)
		if stamp == nil {
			stamp = &ical.Prop{Name: ical.PropDateTimeStamp, Params: ical.Params{}, Value: "19700101T000000Z"}
		}
		start := *stamp
		start.Name = ical.PropDateTimeStart
		c.Props[ical.PropDateTimeStart] = []ical.Prop{start}
		delete(c.Props, ical.PropDateTimeEnd)
		delete(c.Props, ical.PropDuration)
	}
	out := *cal
	out.Children = nil
	for _, ch := range cal.Children {
		if ch.Name == ical.CompTimezone {
			out.Children = append(out.Children, ch)
		}
	}
	out.Children = append(out.Children, &c)
	return &out, noTimes
}

// rsvp reports whether the user is asked to answer: RSVP=TRUE on the
// ATTENDEE line of one of the recipients, or, when no line matches (a
// message sent to a list or an alias), on any line.
func rsvp(atts []ical.Prop, recipients []string) bool {
	matched, any := false, false
	for i := range atts {
		yes := strings.EqualFold(atts[i].Params.Get(ical.ParamRSVP), "TRUE")
		any = any || yes
		addr := address(&atts[i])
		for _, r := range recipients {
			if addr != "" && strings.EqualFold(addr, r) {
				if yes {
					return true
				}
				matched = true
			}
		}
	}
	return !matched && any
}

// address is the e-mail of an ORGANIZER or ATTENDEE (mailto: value, else
// the EMAIL parameter of RFC 7986).
func address(p *ical.Prop) string {
	if v := strings.TrimSpace(p.Value); len(v) > 7 && strings.EqualFold(v[:7], "mailto:") {
		return v[7:]
	}
	return p.Params.Get("EMAIL")
}

// formatAddress renders an ORGANIZER as an RFC 5322 mailbox, as valid
// UTF-8 without NUL (which would end a WBXML inline string; found by
// FuzzParse).
func formatAddress(p *ical.Prop) string {
	clean := func(s string) string { return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "") }
	addr := clean(address(p))
	cn := clean(strings.Trim(p.Params.Get(ical.ParamCommonName), `"`))
	if cn == "" || addr == "" {
		return addr
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(cn) + `" <` + addr + `>`
}

// MessageClass is the Email:MessageClass of a meeting message, "" when
// the method and PARTSTAT name none (a REPLY delegating, say).
func MessageClass(method, partStat string) string {
	switch method {
	case MethodRequest:
		return ClassRequest
	case MethodCancel:
		return ClassCanceled
	case MethodCounter:
		// Outlook sends a proposal as a tentative answer with new times.
		return ClassRespTent
	case MethodReply:
		switch partStat {
		case "ACCEPTED":
			return ClassRespPos
		case "TENTATIVE":
			return ClassRespTent
		case "DECLINED":
			return ClassRespNeg
		}
	}
	return ""
}

// Class is MessageClass for m.
func (m *Meeting) Class() string { return MessageClass(m.Method, m.PartStat) }
