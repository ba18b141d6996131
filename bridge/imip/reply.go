package imip

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"mime"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"
	"github.com/idlebridge/idlebridge/bridge/calconv"
)

// PARTSTAT values of an attendee's answer (RFC 5545 3.2.12).
const (
	PartStatAccepted  = "ACCEPTED"
	PartStatTentative = "TENTATIVE"
	PartStatDeclined  = "DECLINED"
)

// PartStatFor maps a MeetingResponse UserResponse (1 accept, 2 tentative,
// 3 decline; MS-ASCMD 2.2.3.185) to PARTSTAT, "" for anything else.
func PartStatFor(userResponse int) string {
	switch userResponse {
	case 1:
		return PartStatAccepted
	case 2:
		return PartStatTentative
	case 3:
		return PartStatDeclined
	}
	return ""
}

// Answer is the user's answer to an invitation.
type Answer struct {
	Attendee string // the user's address
	Name     string // the user's display name, for an ATTENDEE line the request lacked
	PartStat string // PartStatAccepted, PartStatTentative or PartStatDeclined
	// Instance is the original start (UTC) of the one occurrence answered
	// (MeetingResponse InstanceId); zero answers what the message names.
	Instance time.Time
	Comment  string    // the user's note (SendResponse Body), "" for none
	Now      time.Time // DTSTAMP of the reply
}

// replyProps are the VEVENT properties a REPLY copies from the request
// (RFC 5546 3.2.3: UID, SEQUENCE, ORGANIZER are required, the times and
// SUMMARY let the organizer's client show what was answered).
var replyProps = []string{ical.PropUID, ical.PropSequence, ical.PropOrganizer, ical.PropSummary,
	ical.PropDateTimeStart, ical.PropDateTimeEnd, ical.PropDuration, ical.PropRecurrenceID}

// Reply builds the iTIP REPLY (RFC 5546 3.2.3) for an answer to m, a
// REQUEST: the attendee's own line with the new PARTSTAT (and no RSVP),
// the request's UID, SEQUENCE and ORGANIZER, and RECURRENCE-ID when one
// instance is answered. Nothing of the other attendees is sent.
func (m *Meeting) Reply(a Answer) ([]byte, error) {
	if m.Method != MethodRequest {
		return nil, fmt.Errorf("imip: a %s is not answered", m.Method)
	}
	if a.PartStat == "" || a.Attendee == "" {
		return nil, fmt.Errorf("imip: reply without attendee or PARTSTAT")
	}
	src := m.replyEvent(a.Instance)
	ev := ical.NewComponent(ical.CompEvent)
	for _, name := range replyProps {
		if ps := src.Props[name]; len(ps) > 0 {
			ev.Props[name] = []ical.Prop{ps[0]}
		}
	}
	if !a.Instance.IsZero() && src.Props.Get(ical.PropRecurrenceID) == nil {
		// An occurrence of the master: RECURRENCE-ID is its original start,
		// in UTC (RFC 5545 3.8.4.4 allows any form naming the same instant),
		// or the date for an all-day series.
		rid := ical.NewProp(ical.PropRecurrenceID)
		if p := src.Props.Get(ical.PropDateTimeStart); p != nil && (strings.EqualFold(p.Params.Get(ical.ParamValue), "DATE") || len(p.Value) == 8) {
			rid.Params.Set(ical.ParamValue, "DATE")
			rid.Value = a.Instance.UTC().Format("20060102")
		} else {
			rid.Value = a.Instance.UTC().Format("20060102T150405Z")
		}
		ev.Props.Set(rid)
		// The occurrence's times are not the master's: leave them out.
		for _, name := range []string{ical.PropDateTimeStart, ical.PropDateTimeEnd, ical.PropDuration} {
			delete(ev.Props, name)
		}
	}
	stamp := ical.NewProp(ical.PropDateTimeStamp)
	stamp.Value = a.Now.UTC().Format("20060102T150405Z")
	ev.Props.Set(stamp)
	ev.Props[ical.PropAttendee] = []ical.Prop{attendeeLine(src, a)}
	if a.Comment != "" {
		ev.Props.SetText(ical.PropComment, a.Comment)
	}

	cal := ical.NewCalendar()
	cal.Props.SetText(ical.PropProductID, "-//idlebridge//iTIP//EN")
	cal.Props.SetText(ical.PropVersion, "2.0")
	cal.Props.SetText(ical.PropMethod, MethodReply)
	cal.Children = append(cal.Children, m.timezonesFor(ev)...)
	cal.Children = append(cal.Children, ev)
	var buf bytes.Buffer
	if err := ical.NewEncoder(&buf).Encode(cal); err != nil {
		return nil, fmt.Errorf("imip: encode REPLY: %w", err)
	}
	return buf.Bytes(), nil
}

// replyEvent is the VEVENT answered: the override of the instance when the
// request carries it, else the master (or the only VEVENT).
func (m *Meeting) replyEvent(instance time.Time) *ical.Component {
	master, _ := pickEvent(m.Calendar.Component)
	if instance.IsZero() {
		return master
	}
	for _, c := range m.Calendar.Children {
		rid := c.Props.Get(ical.PropRecurrenceID)
		if c.Name != ical.CompEvent || rid == nil {
			continue
		}
		if t, _, err := calconv.Instant(m.Calendar.Component, rid, m.copt); err == nil && t.Equal(instance) {
			return c
		}
	}
	return master
}

// attendeeLine is the user's ATTENDEE of the request with the answer's
// PARTSTAT, or a new line when the user was invited through a list.
func attendeeLine(ev *ical.Component, a Answer) ical.Prop {
	for _, p := range ev.Props[ical.PropAttendee] {
		if strings.EqualFold(address(&p), a.Attendee) {
			line := ical.Prop{Name: p.Name, Value: p.Value, Params: ical.Params{}}
			for k, v := range p.Params {
				line.Params[k] = append([]string(nil), v...)
			}
			delete(line.Params, ical.ParamRSVP)
			line.Params.Set(ical.ParamParticipationStatus, a.PartStat)
			return line
		}
	}
	line := ical.Prop{Name: ical.PropAttendee, Params: ical.Params{}, Value: "mailto:" + a.Attendee}
	if a.Name != "" {
		line.Params.Set(ical.ParamCommonName, a.Name)
	}
	line.Params.Set(ical.ParamParticipationStatus, a.PartStat)
	return line
}

// timezonesFor returns the request's VTIMEZONEs that ev's times name.
func (m *Meeting) timezonesFor(ev *ical.Component) []*ical.Component {
	used := map[string]bool{}
	for _, name := range []string{ical.PropDateTimeStart, ical.PropDateTimeEnd, ical.PropRecurrenceID} {
		if p := ev.Props.Get(name); p != nil {
			if id := p.Params.Get(ical.PropTimezoneID); id != "" {
				used[id] = true
			}
		}
	}
	var out []*ical.Component
	for _, c := range m.Calendar.Children {
		if c.Name != ical.CompTimezone {
			continue
		}
		if id := c.Props.Get(ical.PropTimezoneID); id != nil && used[id.Value] {
			out = append(out, c)
		}
	}
	return out
}

// ReplyKey names one answer so it is sent once: the same (UID,
// RECURRENCE-ID, SEQUENCE, PARTSTAT) is the same reply, however often the
// device repeats the MeetingResponse (Z-Push#136: duplicated replies).
// A new SEQUENCE (the organizer changed the meeting) or a changed mind is
// a new reply.
func ReplyKey(uid string, recurrenceID time.Time, sequence int, partStat string) string {
	rid := ""
	if !recurrenceID.IsZero() {
		rid = recurrenceID.UTC().Format("20060102T150405Z")
	}
	h := sha256.New()
	for _, part := range []string{uid, rid, strconv.Itoa(sequence), strings.ToUpper(partStat)} {
		h.Write([]byte(strconv.Itoa(len(part)) + ":" + part))
	}
	return "itip-" + hex.EncodeToString(h.Sum(nil)[:16])
}

// ReplyKey is ReplyKey for an answer to m.
func (m *Meeting) ReplyKey(a Answer) string {
	rid := m.RecurrenceID
	if !a.Instance.IsZero() {
		rid = a.Instance
	}
	return ReplyKey(m.UID, rid, m.Sequence, a.PartStat)
}

// subjectPrefix is what Outlook and Exchange put before the subject of a
// reply, which the organizer's client sorts by.
var subjectPrefix = map[string]string{PartStatAccepted: "Accepted: ", PartStatTentative: "Tentative: ", PartStatDeclined: "Declined: "}

// ReplyMail wraps a REPLY into the RFC 6047 message for the organizer: a
// text part saying what was answered (the user's comment, if any) and the
// text/calendar part with method=REPLY. The bytes depend only on the
// arguments, so a repeated answer yields the same message.
func (m *Meeting) ReplyMail(a Answer, ics []byte) ([]byte, error) {
	org := m.organizerAddress()
	if org == "" {
		return nil, fmt.Errorf("imip: the request names no ORGANIZER to reply to")
	}
	subject := ""
	if m.Event != nil && m.Event.Subject != nil {
		subject = *m.Event.Subject
	}
	who := a.Name
	if who == "" {
		who = a.Attendee
	}
	text := who + " has " + map[string]string{PartStatAccepted: "accepted", PartStatTentative: "tentatively accepted", PartStatDeclined: "declined"}[a.PartStat] + " this invitation."
	if a.Comment != "" {
		text = a.Comment + "\r\n\r\n" + text
	}
	boundary := "=_itip_" + m.ReplyKey(a)
	var b strings.Builder
	from := a.Attendee
	if a.Name != "" {
		from = mime.QEncoding.Encode("utf-8", a.Name) + " <" + a.Attendee + ">"
	}
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMIME-Version: 1.0\r\n",
		from, org, mime.QEncoding.Encode("utf-8", subjectPrefix[a.PartStat]+subject), a.Now.UTC().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n", boundary)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n", boundary, wrap76(base64.StdEncoding.EncodeToString([]byte(text))))
	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/calendar; charset=utf-8; method=REPLY\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n", boundary, wrap76(base64.StdEncoding.EncodeToString(ics)))
	fmt.Fprintf(&b, "--%s--\r\n", boundary)
	return []byte(b.String()), nil
}

func (m *Meeting) organizerAddress() string {
	ev, _ := pickEvent(m.Calendar.Component)
	if ev == nil {
		return ""
	}
	if p := ev.Props.Get(ical.PropOrganizer); p != nil {
		return address(p)
	}
	return ""
}

func wrap76(s string) string {
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	b.WriteString(s)
	return b.String()
}
