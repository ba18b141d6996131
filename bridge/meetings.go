package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/calconv"
	"github.com/idlebridge/idlebridge/bridge/imip"
	"github.com/idlebridge/idlebridge/bridge/mailconv"
	"github.com/idlebridge/idlebridge/bridge/mailid"
	"github.com/idlebridge/idlebridge/bridge/send"
)

// MeetingCalendar is what MeetingResponse needs of the calendar source.
type MeetingCalendar interface {
	// Answer writes the user's answer into the calendar: the event of
	// m's UID is patched (calconv.SetPartStat), or, when the calendar has
	// none, created from the invitation in the default calendar, except
	// for a decline. It returns the event's ServerId as the next calendar
	// Sync shows it ("" when a decline created nothing), so the device
	// keeps one item (MS-ASCMD 2.2.3.18).
	Answer(ctx context.Context, acct *Account, m *imip.Meeting, a calconv.Answer, where AnswerWhere) (serverID string, err error)
	// Invitation reads a calendar item as the invitation it was (iOS and
	// Outlook answer from the calendar folder); ok is false when the
	// collection is no calendar of the user.
	Invitation(ctx context.Context, acct *Account, collectionID, serverID string, ver activesync.Version) (m *imip.Meeting, ok bool, err error)
	// Cancel writes an organizer's CANCEL into the event of m's UID
	// (calconv.MarkCancelled: STATUS:CANCELLED on the series or the one
	// occurrence) when the calendar holds it and the CANCEL is not older
	// than it; an event the calendar lacks is not created.
	Cancel(ctx context.Context, acct *Account, m *imip.Meeting) error
	// SchedulesItself reports whether the user's CalDAV server sends iTIP
	// messages itself (RFC 6638 calendar-auto-schedule): the bridge then
	// sends no reply of its own, or the organizer would get two.
	SchedulesItself(ctx context.Context, acct *Account) bool
}

// AnswerWhere is where an answer came from and who answers the organizer.
type AnswerWhere struct {
	// From is the collection the device answered from (the Inbox or a
	// calendar folder).
	From string
	// Reply: the organizer is to be answered for the device (a 16.x
	// SendResponse). Otherwise the device sends its own reply (≤ 14.1) or
	// none, and a CalDAV server that schedules itself (RFC 6638) must not
	// send one either, or the organizer gets two.
	Reply bool
}

// Meetings serves MeetingResponse (MS-ASCMD 2.2.1.11) from the Inbox
// invitation (IMAP) or the calendar item (Calendar).
type Meetings struct {
	Sender   *send.Sender
	Calendar MeetingCalendar // nil: no calendar source; answers are sent but stored nowhere
	Log      *slog.Logger
	// MaxInvitationBytes bounds the invitation mail read (default 4 MiB).
	MaxInvitationBytes int64
}

// errNotInvitation: the item named is no meeting request.
var errNotInvitation = errors.New("not a meeting request")

// MeetingResponse implements activesync.MeetingResponder. Each answer is
// idempotent (the PARTSTAT is set, the reply keyed), so a device that
// repeats a MeetingResponse after a failure changes nothing twice.
func (mt *Meetings) MeetingResponse(ctx context.Context, a activesync.Account, deviceID string, ver activesync.Version, answers []activesync.MeetingAnswer) ([]activesync.MeetingResult, error) {
	acct, err := account(a)
	if err != nil {
		return nil, err
	}
	log := mt.log().With("user", acct.Address(), "device", deviceID, "cmd", "MeetingResponse")
	out := make([]activesync.MeetingResult, len(answers))
	for i, ans := range answers {
		res, err := mt.answer(ctx, acct, ver, ans)
		if err != nil {
			log.Warn("meeting response failed", "collection", ans.CollectionID, "item", ans.RequestID, "status", res.Status, "err", err)
		} else {
			log.Info("meeting answered", "collection", ans.CollectionID, "item", ans.RequestID, "response", ans.UserResponse,
				"calendar_id", res.CalendarID, "reply_sent", ans.SendResponse != nil)
		}
		out[i] = res
	}
	return out, nil
}

func (mt *Meetings) log() *slog.Logger {
	if mt.Log == nil {
		return slog.Default()
	}
	return mt.Log
}

// answer serves one MeetingAnswer; the error is for the log, the status
// in the result is what the device gets.
func (mt *Meetings) answer(ctx context.Context, acct *Account, ver activesync.Version, ans activesync.MeetingAnswer) (activesync.MeetingResult, error) {
	fail := func(status int, err error) (activesync.MeetingResult, error) {
		return activesync.MeetingResult{Status: status}, err
	}
	if ans.LongID != "" {
		// A Search result's LongId is the item's ServerId (docs/architecture.md).
		folderID, _, ok := mailid.ParseItem(ans.LongID)
		if !ok {
			return fail(activesync.MeetingRespStatusInvalidRequest, fmt.Errorf("LongId %q names no item", ans.LongID))
		}
		ans.CollectionID, ans.RequestID = folderID, ans.LongID
	}
	m, err := mt.invitation(ctx, acct, ans, ver)
	switch {
	case errors.Is(err, errNotInvitation), errors.Is(err, send.ErrOriginalGone):
		return fail(activesync.MeetingRespStatusInvalidRequest, err)
	case err != nil:
		return fail(activesync.MeetingRespStatusServerError, err)
	}
	if ans.InstanceID != nil && m.Event.Recurrence == nil && m.RecurrenceID.IsZero() {
		return fail(int(activesync.StatusNoRecurrenceInCalendar), errors.New("InstanceId on a meeting that does not recur"))
	}
	partStat := imip.PartStatFor(ans.UserResponse)
	calID, schedules := "", false
	if mt.Calendar != nil {
		// A user without a calendar still answers: the reply goes out (16.x)
		// and the Result has no CalendarId.
		if calID, err = mt.Calendar.Answer(ctx, acct, m, calconv.Answer{
			Email: acct.Address(), Name: acct.DisplayName(), PartStat: partStat, Instance: ans.InstanceID,
		}, AnswerWhere{From: ans.CollectionID, Reply: ans.SendResponse != nil}); err != nil {
			return fail(activesync.MeetingRespStatusMailboxError, fmt.Errorf("calendar: %w", err))
		}
		schedules = mt.Calendar.SchedulesItself(ctx, acct)
	}
	if ans.SendResponse != nil && !schedules {
		// MS-ASCMD 2.2.3.163: a 16.x device asks the server to answer the
		// organizer; without SendResponse it sent its own (≤ 14.1) or none.
		reply := imip.Answer{Attendee: acct.Address(), Name: acct.DisplayName(), PartStat: partStat, Comment: ans.SendResponse.Body}
		if ans.InstanceID != nil {
			reply.Instance = *ans.InstanceID
		}
		if err := mt.Sender.SendMeetingReply(ctx, acct, m, reply); err != nil {
			// The calendar holds the answer; a retry sets it again and sends
			// the reply once (keyed), so the device may repeat.
			return fail(activesync.MeetingRespStatusServerError, fmt.Errorf("reply: %w", err))
		}
	}
	res := activesync.MeetingResult{Status: activesync.MeetingRespStatusOK}
	if partStat != imip.PartStatDeclined {
		res.CalendarID = calID
	}
	return res, nil
}

// invitation reads the meeting an answer names: the invitation mail when
// the collection is a mail folder, else the calendar item.
func (mt *Meetings) invitation(ctx context.Context, acct *Account, ans activesync.MeetingAnswer, ver activesync.Version) (*imip.Meeting, error) {
	if mt.Sender != nil && mt.Sender.Folders() != nil {
		mailbox, ok, err := mt.Sender.Folders().MailboxOf(ctx, acct, ans.CollectionID)
		if err != nil {
			return nil, storeErr(err)
		}
		if ok {
			raw, err := mt.fetch(ctx, acct, mailbox, ans.RequestID)
			if err != nil {
				return nil, err
			}
			m, err := mailconv.Invitation(raw, mailconv.Options{Version: int(ver)})
			if err != nil || m == nil || m.Method != imip.MethodRequest {
				return nil, fmt.Errorf("%w: %v", errNotInvitation, err)
			}
			return m, nil
		}
	}
	if mt.Calendar != nil {
		m, ok, err := mt.Calendar.Invitation(ctx, acct, ans.CollectionID, ans.RequestID, ver)
		if err != nil {
			return nil, err
		}
		if ok {
			if m == nil {
				return nil, errNotInvitation
			}
			return m, nil
		}
	}
	return nil, fmt.Errorf("%w: collection %q", send.ErrOriginalGone, ans.CollectionID)
}

// fetch reads the invitation mail, bounded.
func (mt *Meetings) fetch(ctx context.Context, acct *Account, mailbox, itemID string) ([]byte, error) {
	_, uid, ok := mailid.ParseItem(itemID)
	if !ok {
		return nil, fmt.Errorf("%w: item %q", send.ErrOriginalGone, itemID)
	}
	limit := mt.MaxInvitationBytes
	if limit == 0 {
		limit = 4 << 20
	}
	return mt.Sender.FetchRaw(ctx, acct, mailbox, uid, limit)
}

// MeetingResponse implements activesync.MeetingResponder through the
// Meetings engine; a bridge without one answers every Request with
// status 4 rather than 501, so devices keep their invitations.
func (b *Bridge) MeetingResponse(ctx context.Context, a activesync.Account, deviceID string, ver activesync.Version, answers []activesync.MeetingAnswer) ([]activesync.MeetingResult, error) {
	if b.Meetings == nil {
		out := make([]activesync.MeetingResult, len(answers))
		for i := range out {
			out[i].Status = activesync.MeetingRespStatusServerError
		}
		return out, nil
	}
	return b.Meetings.MeetingResponse(ctx, a, deviceID, ver, answers)
}

// cancelTimeout bounds the calendar write a CANCEL costs the Sync that
// delivers it.
const cancelTimeout = 10 * time.Second

// applyCancel marks the event of a CANCEL the Inbox Sync is sending as
// cancelled in the calendar (research note P11: "CANCEL → event
// STATUS:CANCELLED"). It runs in the Sync, once per device that receives
// the message; the write is idempotent, so the second device changes
// nothing. A calendar that cannot be reached costs the Sync nothing but a
// log line: the mail goes out all the same.
func (mt *Meetings) applyCancel(ctx context.Context, acct *Account, m *imip.Meeting) {
	if mt == nil || mt.Calendar == nil || m == nil || m.Method != imip.MethodCancel {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, cancelTimeout)
	defer cancel()
	if err := mt.Calendar.Cancel(ctx, acct, m); err != nil {
		mt.log().Warn("meeting cancel not written to the calendar", "user", acct.Address(), "uid", m.UID, "err", err)
		return
	}
	mt.log().Info("meeting cancel written to the calendar", "user", acct.Address(), "uid", m.UID)
}
