// Package outage marks failures of the state store and of the provider
// as retryable for the ActiveSync front (HTTP 503 with Retry-After), so
// a device tries again later instead of showing its user an error. The
// bridge and its command packages share the rule.
package outage

import (
	"context"
	"errors"
	"fmt"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

// Store marks store outages as retryable for the front.
func Store(err error) error {
	if errors.Is(err, state.ErrUnavailable) {
		return fmt.Errorf("%w: %w", activesync.ErrUnavailable, err)
	}
	return err
}

// Upstream marks transport and store outages retryable for the front;
// everything else (CommandStatus, protocol errors) passes unchanged.
func Upstream(err error) error {
	if err == nil {
		return nil
	}
	var ae *activesync.Error
	if errors.As(err, &ae) || errors.Is(err, activesync.ErrUnavailable) || errors.Is(err, activesync.ErrBadCredentials) {
		return err
	}
	if errors.Is(err, imap.ErrBroken) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", activesync.ErrUnavailable, err)
	}
	return Store(err)
}
