package activesync

import (
	"errors"
	"fmt"
	"testing"
)

// The one mapping of command errors to answers: an outage is a retryable
// 503, a provider refusing the device's own (passthrough) password in the
// middle of a command is a 401 (it used to be a 500), anything unknown a
// 500, and typed errors pass through with their Reported mark.
func TestAsErrorMapping(t *testing.T) {
	cases := []struct {
		name      string
		err       error
		http      int
		retry     bool
		reported  bool
		unwrapsTo error
	}{
		{"outage", fmt.Errorf("%w: imap: dial", ErrUnavailable), 503, true, false, ErrUnavailable},
		{"password changed upstream", fmt.Errorf("%w: NO [AUTHENTICATIONFAILED]", ErrBadCredentials), 401, false, false, ErrBadCredentials},
		{"bug", errors.New("nil map"), 500, false, false, nil},
		{"reported outage", &Error{HTTP: 503, Retry: true, Reported: true, Err: ErrUnavailable}, 503, true, true, ErrUnavailable},
	}
	for _, tc := range cases {
		e := asError(tc.err)
		if e.HTTP != tc.http || e.Retry != tc.retry || e.Reported != tc.reported {
			t.Errorf("%s: HTTP %d retry %v reported %v, want %d %v %v", tc.name, e.HTTP, e.Retry, e.Reported, tc.http, tc.retry, tc.reported)
		}
		if tc.unwrapsTo != nil && !errors.Is(e, tc.unwrapsTo) {
			t.Errorf("%s: the answer lost its cause", tc.name)
		}
	}
}
