package bridge

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	"github.com/idlebridge/idlebridge/bridge/accounts"
	"github.com/idlebridge/idlebridge/bridge/login"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

// IMAPLoginChecker verifies passthrough passwords with an IMAP login.
type IMAPLoginChecker struct {
	// TLS is the base TLS configuration (root CAs); ServerName is set per
	// endpoint. Nil uses the system roots.
	TLS *tls.Config
	// Timeout bounds one check; 0 means 20 s.
	Timeout time.Duration
}

// CheckIMAPLogin implements accounts.LoginChecker.
func (c IMAPLoginChecker) CheckIMAPLogin(ctx context.Context, ep accounts.Endpoint, username, password string) error {
	err := imap.CheckLogin(ctx, IMAPConfig(ep, c.TLS, username, password, c.Timeout))
	if errors.Is(err, imap.ErrLoginRejected) {
		return fmt.Errorf("%w: %w", accounts.ErrLoginRejected, err)
	}
	return err
}

// IMAPConfig turns a user's endpoint and credentials into an upstream
// connection config (bridge/login).
func IMAPConfig(ep accounts.Endpoint, base *tls.Config, username, password string, timeout time.Duration) imap.Config {
	return login.IMAPConfig(ep, base, username, password, timeout)
}
