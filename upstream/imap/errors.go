package imap

import (
	"errors"
	"fmt"

	imapv2 "github.com/emersion/go-imap/v2"
)

// ServerError is a tagged NO or BAD reply. The connection is still usable
// after one; the command simply failed (no such mailbox, over quota, ...).
type ServerError struct {
	Op     string // our operation, e.g. "select"
	Status string // "NO" or "BAD"
	Code   string // response code such as "NONEXISTENT", may be empty
	Text   string // human-readable text from the server
}

func (e *ServerError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("imap %s: %s [%s] %s", e.Op, e.Status, e.Code, e.Text)
	}
	return fmt.Sprintf("imap %s: %s %s", e.Op, e.Status, e.Text)
}

// asServerError converts a go-imap status error so callers never see
// go-imap types; ok is false for transport errors.
func asServerError(op string, err error) (*ServerError, bool) {
	var ie *imapv2.Error
	if !errors.As(err, &ie) {
		return nil, false
	}
	return &ServerError{Op: op, Status: string(ie.Type), Code: string(ie.Code), Text: ie.Text}, true
}

// temporaryLoginCodes are RFC 5530 codes on a login NO that say "try later",
// not "wrong password".
var temporaryLoginCodes = map[string]bool{
	"UNAVAILABLE": true, "SERVERBUG": true, "LIMIT": true, "INUSE": true,
}

// loginError classifies an error from LOGIN/AUTHENTICATE.
func loginError(err error) error {
	if err == nil {
		return nil
	}
	se, ok := asServerError("login", err)
	if !ok {
		return fmt.Errorf("imap login: %w", err)
	}
	if se.Status == "NO" && !temporaryLoginCodes[se.Code] {
		return fmt.Errorf("%w: %w", ErrLoginRejected, se)
	}
	return se
}
