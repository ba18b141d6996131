package mailconv

import (
	"errors"
	"strings"
)

// DecodeError lists what was wrong with a message. ToApplicationData
// returns it next to a valid element, for the caller's log only; it holds
// no message content beyond short header excerpts.
type DecodeError struct {
	Problems []string
}

func (e *DecodeError) Error() string {
	return "mailconv: message partly undecodable: " + strings.Join(e.Problems, "; ")
}

// ErrPartNotFound is returned (wrapped) by OpenPart for a part path the
// message does not have.
var ErrPartNotFound = errors.New("mailconv: no such MIME part")

// undecodableNotice is the plain-text body of a message nothing could be
// read from.
const undecodableNotice = "This message could not be decoded."
