package wbxml

import (
	"errors"
	"fmt"
)

// ErrLimit is wrapped by decode errors caused by a Limits bound.
var ErrLimit = errors.New("wbxml: limit exceeded")

// SyntaxError reports malformed or unsupported WBXML.
type SyntaxError struct {
	Offset int // byte offset in the input where the problem was found
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("wbxml: %s at offset %d", e.Msg, e.Offset)
}

// limitError reports a Limits bound hit at an offset; it wraps ErrLimit.
type limitError struct {
	offset int
	what   string
	max    int
}

func (e *limitError) Error() string {
	return fmt.Sprintf("wbxml: %s exceeds limit %d at offset %d", e.what, e.max, e.offset)
}

func (e *limitError) Unwrap() error { return ErrLimit }
