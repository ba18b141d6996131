package send

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/login"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

// IMAPSessions lends the send engine an IMAP session of a user. The
// request path's pool registry (bridge/imappools.Registry) implements it.
type IMAPSessions interface {
	Acquire(ctx context.Context, acct *login.Account) (*imap.Session, func(broken bool), error)
}

// DialSessions dials a fresh session per Acquire and logs out on release:
// no pool, for tests and tools.
type DialSessions struct {
	TLS     *tls.Config
	Timeout time.Duration
}

// Acquire implements IMAPSessions.
func (d DialSessions) Acquire(ctx context.Context, acct *login.Account) (*imap.Session, func(broken bool), error) {
	if acct == nil || acct.Principal == nil || acct.Principal.User == nil {
		return nil, nil, errors.New("send: account without a user")
	}
	p := acct.Principal
	s, err := imap.Dial(ctx, login.IMAPConfig(p.User.IMAP, d.TLS, p.Upstream.Username, p.Upstream.Password, d.Timeout))
	if err != nil {
		if errors.Is(err, imap.ErrLoginRejected) {
			return nil, nil, fmt.Errorf("%w: %w", activesync.ErrBadCredentials, err)
		}
		return nil, nil, fmt.Errorf("%w: imap: %w", activesync.ErrUnavailable, err)
	}
	return s, func(broken bool) {
		if broken {
			_ = s.Close()
			return
		}
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = s.Logout(lctx)
	}, nil
}

// FolderResolver maps a folder ID the device knows to its mailbox name.
// It returns ok=false for an ID the user's folder map does not hold.
type FolderResolver interface {
	MailboxOf(ctx context.Context, acct *login.Account, folderID string) (name string, ok bool, err error)
}
