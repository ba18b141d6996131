package smtp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"

	gosmtp "github.com/emersion/go-smtp"
)

// Kind says what went wrong with a submission, in the terms a caller acts
// on.
type Kind int

const (
	KindOther       Kind = iota // anything else: a permanent failure of the submission
	KindRecipient               // a recipient was refused (RCPT 5xx, bad address)
	KindTooLarge                // the message exceeds the server's size limit (552, x.3.4)
	KindAuth                    // the server refused the credentials
	KindUnavailable             // network failure, timeout, 421 or any 4xx: try again later
)

func (k Kind) String() string {
	switch k {
	case KindRecipient:
		return "recipient"
	case KindTooLarge:
		return "too-large"
	case KindAuth:
		return "auth"
	case KindUnavailable:
		return "unavailable"
	}
	return "other"
}

// Error is a failed submission.
type Error struct {
	Kind      Kind
	Stage     string // "connect", "tls", "hello", "auth", "mail", "rcpt", "data"
	Code      int    // SMTP reply code, 0 when the failure was not a reply
	Enhanced  [3]int // RFC 3463 enhanced code, zeros when absent
	Msg       string // the server's text or a description
	Temporary bool   // retrying later may succeed (4xx, network)
	Recipient string // the refused recipient for KindRecipient at RCPT
	Err       error  // cause (network error), may be nil
	// Uncertain: the final dot of DATA was sent and no reply was read, so
	// the server may have accepted the message (RFC 5321 4.5.3.2.6 allows
	// it ten minutes to answer). Resending risks a duplicate.
	Uncertain bool
}

func (e *Error) Error() string {
	s := "smtp " + e.Stage + ": "
	if e.Code != 0 {
		s += strconv.Itoa(e.Code) + " "
		if e.Enhanced != [3]int{} {
			s += fmt.Sprintf("%d.%d.%d ", e.Enhanced[0], e.Enhanced[1], e.Enhanced[2])
		}
	}
	s += e.Msg
	if e.Recipient != "" {
		s += " (recipient " + e.Recipient + ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// classify turns whatever go-smtp or the network returned at stage into an
// *Error.
func classify(stage string, err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var se *gosmtp.SMTPError
	if errors.As(err, &se) {
		return fromReply(stage, se)
	}
	out := &Error{Stage: stage, Msg: "submission failed", Err: err}
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne):
		out.Kind, out.Temporary, out.Msg = KindUnavailable, true, "network"
	case stage == "connect" || stage == "tls" || stage == "hello":
		// EOF during the greeting or a failed handshake: the server is not
		// answering as it should, which is an outage for the user.
		out.Kind, out.Temporary, out.Msg = KindUnavailable, true, "server not answering"
	default:
		// A dropped connection mid-transaction (io.EOF, reset) is worth a
		// retry too: nothing was accepted.
		out.Kind, out.Temporary, out.Msg = KindUnavailable, true, "connection lost"
	}
	return out
}

// fromReply classifies an SMTP reply (RFC 5321 4.2, RFC 3463).
func fromReply(stage string, se *gosmtp.SMTPError) *Error {
	e := &Error{Stage: stage, Code: se.Code, Msg: se.Message, Err: se}
	if se.EnhancedCode != gosmtp.EnhancedCodeNotSet && se.EnhancedCode != gosmtp.NoEnhancedCode {
		e.Enhanced = [3]int(se.EnhancedCode)
	}
	sub, detail := e.Enhanced[1], e.Enhanced[2]
	switch {
	case se.Code/100 == 4:
		// 421 (closing), 450/451/452 (try later), 454 (temporary auth
		// failure): nothing was accepted, the same message may go later.
		e.Kind, e.Temporary = KindUnavailable, true
	case stage == "auth" || se.Code == 535 || (sub == 7 && detail == 8):
		e.Kind = KindAuth
	case se.Code == 552 && stage != "rcpt", sub == 3 && detail == 4:
		// 552 at MAIL/DATA is "exceeded storage allocation" = too big;
		// at RCPT it usually means a full mailbox (5.2.2).
		e.Kind = KindTooLarge
	case stage == "rcpt":
		e.Kind = KindRecipient
	default:
		e.Kind = KindOther
	}
	return e
}
