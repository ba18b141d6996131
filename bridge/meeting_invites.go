package bridge

import (
	"context"
	"strings"
	"time"

	"github.com/emersion/go-ical"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/accounts"
	"github.com/idlebridge/idlebridge/bridge/calconv"
	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/bridge/imip"
	"github.com/idlebridge/idlebridge/bridge/send"
)

// organizerHooked is a calendar class's Source that tells the bridge of
// the events a 16.x device wrote (bridge/davsync; declared by shape).
type organizerHooked interface {
	SetOrganizerHook(func(ctx context.Context, p *accounts.Principal, method string, object []byte))
}

// inviteTimeout bounds the submission of one invitation: it runs inside
// the device's Sync, whose event is already written.
const inviteTimeout = 30 * time.Second

// sendInvites sends the REQUEST or CANCEL of a meeting the user organizes
// to its attendees (issue 15 item 3; MS-ASCAL 16.0 leaves it to the
// server at 16.x). Nothing is sent for an event the user does not
// organize or that has no other attendee, nor when the CalDAV server
// schedules itself (RFC 6638: it sends them already). Each (UID,
// SEQUENCE, METHOD) goes out once: a resent Sync or an unchanged edit
// sends nothing new. A failure is logged; the event stays written.
func (b *Bridge) sendInvites(ctx context.Context, p *accounts.Principal, method string, object []byte) {
	if p == nil || p.User == nil || b.Sender == nil {
		return
	}
	user := p.User.Address
	log := b.Log.With("user", user, "method", method)
	if cls := b.classOf(engine.KindCalendar); cls != nil {
		if ms, ok := cls.Source.(meetingStore); ok && ms.SchedulesItself(ctx, p) {
			log.Debug("meeting: the CalDAV server schedules; no invitation sent by the bridge")
			return
		}
	}
	inv, ok, err := imip.OrganizerMessage(object, method, user)
	if err != nil {
		log.Warn("meeting: cannot build the invitation", "err", err)
		return
	}
	if !ok {
		return
	}
	msg := inv.Mail(user, "", eventSummary(object), time.Now())
	ctx, cancel := context.WithTimeout(ctx, inviteTimeout)
	defer cancel()
	err = b.Sender.Send(ctx, &Account{Principal: p}, send.ITIPDevice, &activesync.OutgoingMail{
		Kind: "SendMail", ClientID: inv.Key, MIME: msg, SaveInSent: true,
	})
	if err != nil {
		log.Warn("meeting: invitation not sent", "uid", inv.UID, "recipients", len(inv.Recipients), "err", err)
		return
	}
	log.Info("meeting: invitation sent", "uid", inv.UID, "sequence", inv.Sequence, "recipients", len(inv.Recipients))
}

// eventSummary is the SUMMARY of an object's first VEVENT ("" if none).
func eventSummary(object []byte) string {
	cal, err := calconv.ParseICal(object)
	if err != nil {
		return ""
	}
	for _, c := range cal.Children {
		if c.Name == ical.CompEvent {
			if p := c.Props.Get(ical.PropSummary); p != nil {
				return strings.TrimSpace(p.Value)
			}
		}
	}
	return ""
}
