package activesync

import (
	"context"
	"time"
)

// UserResponse values of MeetingResponse (MS-ASCMD 2.2.3.185).
const (
	MeetingAccept    = 1
	MeetingTentative = 2
	MeetingDecline   = 3
)

// MeetingAnswer is one Request of a MeetingResponse (MS-ASCMD 2.2.1.11):
// the user's answer to the invitation named by CollectionID and RequestID
// (the Inbox item, or the event in a calendar folder: iOS and Outlook
// answer from the calendar) or by LongID (a Search result).
type MeetingAnswer struct {
	UserResponse int // MeetingAccept, MeetingTentative or MeetingDecline
	CollectionID string
	RequestID    string
	LongID       string
	// InstanceID is the original start (UTC) of the one occurrence of a
	// series answered (14.1+); nil answers the whole series.
	InstanceID *time.Time
	// SendResponse is set when the device asks the server to send the
	// answer to the organizer (16.x). Without it the device sends its own
	// reply by SendMail (≤ 14.1) or none is sent: the server must not send
	// one too.
	SendResponse *MeetingReply
}

// MeetingReply is the SendResponse of a 16.x MeetingResponse.
type MeetingReply struct {
	BodyType      int    // AirSyncBase:Type of Body, 0 when no body was given
	Body          string // the user's note to the organizer
	ProposedStart *time.Time
	ProposedEnd   *time.Time
}

// MeetingResult is the answer to one MeetingAnswer: a MeetingResponse
// status (MeetingRespStatus*, or a common status such as
// StatusNoRecurrenceInCalendar) and, for accept and tentative, the
// ServerId of the calendar item (MS-ASCMD 2.2.3.18): the one the next
// calendar Sync shows, so the device keeps one item.
type MeetingResult struct {
	Status     int
	CalendarID string
}

// MeetingResponder serves MeetingResponse. Results are parallel to the
// answers; a failure of the whole request is returned as an error.
type MeetingResponder interface {
	MeetingResponse(ctx context.Context, acct Account, deviceID string, ver Version, answers []MeetingAnswer) ([]MeetingResult, error)
}
