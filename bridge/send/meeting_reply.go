package send

import (
	"context"
	"fmt"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/imip"
)

// ITIPDevice is the device name under which server-sent iTIP replies are
// recorded by the send engine. It is one name for all of a user's devices
// on purpose: the submission record keyed by (device, ClientId) then
// holds one reply per (UID, RECURRENCE-ID, SEQUENCE, PARTSTAT) for the
// user, whichever phone answered and however often it repeated the
// MeetingResponse (Z-Push#136 sent replies twice).
const ITIPDevice = "itip"

// SendMeetingReply sends the iTIP REPLY of answer a to the invitation m to
// its organizer, through the user's SMTP submission and with a copy in
// Sent, at most once per imip.ReplyKey within the send engine's ClientId
// retention (a day). The caller decides that the server sends at all:
// only a 16.x MeetingResponse with SendResponse asks for it (at ≤ 14.1
// the device sends its own reply by SendMail), and not where the CalDAV
// server schedules itself (RFC 6638).
func (s *Sender) SendMeetingReply(ctx context.Context, acct activesync.Account, m *imip.Meeting, a imip.Answer) error {
	if a.Now.IsZero() {
		a.Now = s.now()
	}
	ics, err := m.Reply(a)
	if err != nil {
		return activesync.CommandStatus(activesync.MeetingRespStatusInvalidRequest, fmt.Sprintf("meeting reply: %v", err))
	}
	msg, err := m.ReplyMail(a, ics)
	if err != nil {
		return activesync.CommandStatus(activesync.MeetingRespStatusInvalidRequest, fmt.Sprintf("meeting reply: %v", err))
	}
	return s.Send(ctx, acct, ITIPDevice, &activesync.OutgoingMail{
		Kind: "SendMail", ClientID: m.ReplyKey(a), MIME: msg, SaveInSent: true,
	})
}
