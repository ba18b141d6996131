package mailconv

import (
	"errors"
	"path"
	"strings"

	"github.com/idlebridge/idlebridge/activesync/items"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/bridge/imip"
)

// An invitation (RFC 6047 iMIP) carries its iTIP object as a text/calendar
// part: the whole body, one alternative of multipart/alternative (Outlook,
// Google), or an attached invite.ics (Google adds one as application/ics).
// The part is never taken from inside an attached message: a forwarded
// invitation is not the user's to answer.

// calendarRank orders the candidate parts: an inline text/calendar first,
// then an attached one, then application/ics or a .ics file.
func calendarRank(e *entity) int {
	switch {
	case e.mediaType == "text/calendar" && !isAttachment(e):
		return 3
	case e.mediaType == "text/calendar":
		return 2
	case e.mediaType == "application/ics", strings.EqualFold(path.Ext(attachmentName(e)), ".ics"):
		return 1
	}
	return 0
}

// noteCalendar keeps the best iTIP candidate seen so far.
func (c *content) noteCalendar(e *entity) {
	if r := calendarRank(e); r > 0 && (c.calendar == nil || r > calendarRank(c.calendar)) {
		c.calendar = e
	}
}

// attachmentName is the file name a part declares, "" if none.
func attachmentName(e *entity) string {
	_, params := parseValueParams(e.hdr.get("Content-Disposition"))
	if n := params["filename"]; n != "" {
		return n
	}
	return e.params["name"]
}

// calendarData returns the iTIP object of a part as UTF-8 bytes
// (RFC 5545 3.1.4: UTF-8 is the default; a declared charset is honoured).
func calendarData(e *entity) []byte {
	raw := decodeTransfer(e.hdr.get("Content-Transfer-Encoding"), e.body)
	if cs := strings.ToLower(e.params["charset"]); cs == "" || cs == "utf-8" || cs == "us-ascii" {
		return raw
	}
	return []byte(decodeCharset(raw, e.params["charset"]))
}

// meeting reads the invitation of a message. It returns nil when there is
// none or its part is no meeting message (a PUBLISH, say), and an error
// only for an iTIP part that names a meeting but cannot be read: the
// message is then an ordinary mail, since a Meeting class without a
// MeetingRequest leaves the device with buttons that cannot work.
func meeting(c *content, h header, opts Options) (*imip.Meeting, error) {
	if c.calendar == nil {
		return nil, nil
	}
	var recipients []string
	for _, k := range []string{"To", "Cc"} {
		recipients = append(recipients, parseAddresses(h.get(k)).addrs...)
	}
	m, err := imip.Parse(calendarData(c.calendar), imip.Options{
		Version: items.Version(opts.Version), Zones: opts.Zones, UserZone: opts.UserZone, Recipients: recipients,
	})
	if errors.Is(err, imip.ErrNotMeeting) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if m.Class() == "" {
		return nil, nil
	}
	return m, nil
}

// meetingElement is the MeetingRequest for the item, nil for none.
func meetingElement(m *imip.Meeting, opts Options) *wbxml.Element {
	if m == nil {
		return nil
	}
	return m.Element(items.Version(opts.Version))
}

// Invitation reads the iTIP object of a message (the same part the Email
// item's MeetingRequest is built from), for MeetingResponse: nil and no
// error when the message is no meeting message.
func Invitation(raw []byte, opts Options) (*imip.Meeting, error) {
	t := parseTree(raw)
	return meeting(analyze(t), t.root.hdr, opts)
}
