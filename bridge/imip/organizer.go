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

// Invite is an organizer's iTIP message (RFC 5546 3.2.2 REQUEST, 3.2.5
// CANCEL) for the attendees of an event the user organizes: what a 16.x
// device leaves to the server when it adds, changes or deletes a meeting
// (MS-ASCMD 2.2.3.163 and the research note §6.3), unless the CalDAV
// server schedules itself.
type Invite struct {
	Method     string // MethodRequest or MethodCancel
	UID        string
	Sequence   int
	Recipients []string // the attendees' addresses, the organizer left out
	ICS        []byte   // the iTIP object
	Key        string   // once-only key: (UID, SEQUENCE, METHOD)
}

// OrganizerMessage builds the REQUEST or CANCEL for a stored event object
// the user organizes. The object is the one the CalDAV server holds after
// the device's change; it is sent whole (with its VTIMEZONEs), METHOD
// added, so attendees see what the organizer's calendar shows. A CANCEL
// carries STATUS:CANCELLED. ok is false when there is nothing to send:
// the user is not the organizer, or the event has no other attendee.
func OrganizerMessage(stored []byte, method, user string) (inv *Invite, ok bool, err error) {
	if method != MethodRequest && method != MethodCancel {
		return nil, false, fmt.Errorf("imip: an organizer sends REQUEST or CANCEL, not %q", method)
	}
	cal, err := calconv.ParseICal(stored)
	if err != nil {
		return nil, false, err
	}
	ev, _ := pickEvent(cal.Component)
	if ev == nil {
		return nil, false, fmt.Errorf("imip: no VEVENT")
	}
	org := ev.Props.Get(ical.PropOrganizer)
	if org == nil || !strings.EqualFold(address(org), user) {
		return nil, false, nil
	}
	inv = &Invite{Method: method}
	if p := ev.Props.Get(ical.PropUID); p != nil {
		inv.UID = p.Value
	}
	if p := ev.Props.Get(ical.PropSequence); p != nil {
		inv.Sequence, _ = strconv.Atoi(strings.TrimSpace(p.Value))
	}
	seen := map[string]bool{strings.ToLower(user): true}
	for _, c := range cal.Children {
		if c.Name != ical.CompEvent {
			continue
		}
		for i := range c.Props[ical.PropAttendee] {
			a := strings.ToLower(address(&c.Props[ical.PropAttendee][i]))
			if a != "" && !seen[a] {
				seen[a] = true
				inv.Recipients = append(inv.Recipients, a)
			}
		}
		if method == MethodCancel {
			c.Props.SetText(ical.PropStatus, "CANCELLED")
		}
	}
	if len(inv.Recipients) == 0 || inv.UID == "" {
		return nil, false, nil
	}
	cal.Props.SetText(ical.PropMethod, method)
	var buf bytes.Buffer
	if err := ical.NewEncoder(&buf).Encode(cal); err != nil {
		return nil, false, fmt.Errorf("imip: encode %s: %w", method, err)
	}
	inv.ICS = buf.Bytes()
	h := sha256.Sum256([]byte(strconv.Itoa(len(inv.UID)) + ":" + inv.UID + ":" + strconv.Itoa(inv.Sequence) + ":" + method))
	inv.Key = "itip-org-" + hex.EncodeToString(h[:16])
	return inv, true, nil
}

// Mail wraps the invitation into its RFC 6047 message from the organizer
// (from, with display name fromName) to the attendees.
func (inv *Invite) Mail(from, fromName, subject string, now time.Time) []byte {
	var b strings.Builder
	sender := from
	if fromName != "" {
		sender = mime.QEncoding.Encode("utf-8", fromName) + " <" + from + ">"
	}
	if inv.Method == MethodCancel {
		subject = "Canceled: " + subject
	}
	boundary := "=_itip_" + inv.Key
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMIME-Version: 1.0\r\n",
		sender, strings.Join(inv.Recipients, ", "), mime.QEncoding.Encode("utf-8", subject), now.UTC().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n", boundary)
	text := "You are invited: " + subject
	if inv.Method == MethodCancel {
		text = "This meeting has been canceled."
	}
	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n", boundary, wrap76(base64.StdEncoding.EncodeToString([]byte(text))))
	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/calendar; charset=utf-8; method=%s\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n", boundary, inv.Method, wrap76(base64.StdEncoding.EncodeToString(inv.ICS)))
	fmt.Fprintf(&b, "--%s--\r\n", boundary)
	return []byte(b.String())
}
