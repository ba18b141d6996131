package outage

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

// TestUpstream: outages become retryable, answers the device must see
// (a command Status, bad credentials) and plain failures pass unchanged.
func TestUpstream(t *testing.T) {
	status := activesync.CommandStatus(8, "not found")
	other := errors.New("protocol error")
	tests := []struct {
		name      string
		in        error
		retryable bool
		same      bool // returned as it was
	}{
		{"nil", nil, false, true},
		{"broken session", fmt.Errorf("fetch: %w", imap.ErrBroken), true, false},
		{"deadline", context.DeadlineExceeded, true, false},
		{"store down", fmt.Errorf("get: %w", state.ErrUnavailable), true, false},
		{"command status", status, false, true},
		{"already retryable", fmt.Errorf("%w: x", activesync.ErrUnavailable), true, true},
		{"bad credentials", activesync.ErrBadCredentials, false, true},
		{"other", other, false, true},
	}
	for _, tc := range tests {
		got := Upstream(tc.in)
		if errors.Is(got, activesync.ErrUnavailable) != tc.retryable {
			t.Errorf("%s: Upstream(%v) = %v, retryable %v", tc.name, tc.in, got, !tc.retryable)
		}
		if tc.same && got != tc.in {
			t.Errorf("%s: Upstream(%v) = %v, want it unchanged", tc.name, tc.in, got)
		}
		if tc.in != nil && !errors.Is(got, tc.in) {
			t.Errorf("%s: Upstream lost the cause: %v", tc.name, got)
		}
	}
	if got := Store(other); got != other {
		t.Errorf("Store(other) = %v", got)
	}
	if got := Store(state.ErrUnavailable); !errors.Is(got, activesync.ErrUnavailable) || !errors.Is(got, state.ErrUnavailable) {
		t.Errorf("Store(unavailable) = %v", got)
	}
}
