package imappools

import (
	"errors"
	"fmt"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/accounts"
	"github.com/idlebridge/idlebridge/bridge/login"
)

// ErrStoredSecretRefused is wrapped (with activesync.ErrUnavailable) when
// the provider refuses the app password from a user's file: the device's
// own password was right, so asking its user for another one would not
// help. The device is told to retry later (503) and the operator is told
// in the log, once per user, and by the metric.
var ErrStoredSecretRefused = errors.New("bridge: the provider refuses the stored app password")

// refusedLogin maps the provider's refusal of a request's upstream login.
// For passthrough users the device's password is the provider's, so the
// refusal is the device's to fix (401); for app-password users it is the
// operator's.
func (u *Registry) refusedLogin(acct *login.Account, err error) error {
	if acct.Principal.User.Login.Mode != accounts.ModeAppPassword {
		return fmt.Errorf("%w: %w: %w", activesync.ErrBadCredentials, errUpstreamRejected, err)
	}
	if u.opts.OnRefused != nil {
		u.opts.OnRefused()
	}
	user := acct.Address()
	u.mu.Lock()
	first := !u.refused[user]
	u.refused[user] = true
	u.mu.Unlock()
	if first {
		// Once per user, not per request: a phone retries every few
		// seconds and the line must not drown the log.
		u.log.Error("the provider refuses this user's stored app password; fix the user file (devices are told to retry)",
			"user", user, "err", err)
	}
	// 503 with Retry-After, as for any outage; the request lines stay at
	// WARN, the ERROR above said it once.
	return &activesync.Error{HTTP: 503, Retry: true, Reported: true, Msg: "provider refuses the stored app password",
		Err: fmt.Errorf("%w: %w: %w", activesync.ErrUnavailable, ErrStoredSecretRefused, err)}
}

// loginWorked forgets an earlier refusal, so that a later one is logged
// again.
func (u *Registry) loginWorked(acct *login.Account) {
	user := acct.Address()
	u.mu.Lock()
	was := u.refused[user]
	delete(u.refused, user)
	u.mu.Unlock()
	if was {
		u.log.Info("the provider accepts this user's stored app password again", "user", user)
	}
}
