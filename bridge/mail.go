package bridge

import (
	"context"
	"errors"
	"github.com/idlebridge/idlebridge/bridge/imip"
	"log/slog"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/login"
	"github.com/idlebridge/idlebridge/bridge/outage"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

// MailOptions tune the mail engine.
type MailOptions struct {
	// LargeMessage is the size above which an Add fetches only the header
	// and the text parts of a message instead of all of it, so one huge
	// message cannot time out a Sync window; 0 means 1 MiB.
	LargeMessage int64
	// OnIMAP, when set, is told how many IMAP commands each engine call
	// cost (metrics, and the tests that pin the cheap paths down).
	OnIMAP func(op string, commands int64)
	// OnSkipped, when set, counts messages a Sync could not fetch or
	// convert: outcome SkipRetry (a later Sync tries again) or SkipGivenUp
	// (after MaxFetchAttempts the device got a placeholder instead).
	OnSkipped func(outcome string)
	// MaxFetchAttempts is how many Syncs try a message that fails to
	// fetch before it is given up; 0 means 3.
	MaxFetchAttempts int
	// FetchFault is the tests' fault-injection seam: when it returns an
	// error for a message, fetching that message fails as if the server
	// had not sent it. Nil in production.
	FetchFault func(folderID string, uid uint32) error
}

// Outcomes of OnSkipped.
const (
	SkipRetry   = "retry"
	SkipGivenUp = "given_up"
)

// Mail is the mail engine: folders, Sync of Email collections, estimates,
// moves and item/attachment fetches on top of the user's IMAP server. It
// implements activesync.FolderSyncer, Syncer, Estimator, Mover and
// ItemFetcher; Bridge embeds it.
type Mail struct {
	store state.Store
	up    *Upstreams
	log   *slog.Logger
	opts  MailOptions
	// onCancel is told of each meeting CANCEL a Sync sends to a device
	// (meetings_cancel.go); nil: nobody is.
	onCancel func(ctx context.Context, acct *Account, m *imip.Meeting)
}

// NewMail returns the mail engine. log may be nil.
func NewMail(store state.Store, up *Upstreams, log *slog.Logger, opts MailOptions) *Mail {
	if log == nil {
		log = slog.Default()
	}
	if opts.LargeMessage <= 0 {
		opts.LargeMessage = 1 << 20
	}
	if opts.MaxFetchAttempts <= 0 {
		opts.MaxFetchAttempts = 3
	}
	return &Mail{store: store, up: up, log: log, opts: opts}
}

var (
	_ activesync.FolderSyncer = (*Mail)(nil)
	_ activesync.Syncer       = (*Mail)(nil)
	_ activesync.Estimator    = (*Mail)(nil)
	_ activesync.Mover        = (*Mail)(nil)
	_ activesync.ItemFetcher  = (*Mail)(nil)
)

// account recovers the bridge's Account from the front's interface value.
func account(a activesync.Account) (*Account, error) { return login.Of(a) }

// withSession lends fn one IMAP session of the user and reports the number
// of commands fn cost.
func (m *Mail) withSession(ctx context.Context, acct *Account, op string, fn func(*imap.Session) error) error {
	s, release, err := m.up.Acquire(ctx, acct)
	if err != nil {
		return err
	}
	before := s.Stats().Commands
	err = fn(s)
	if m.opts.OnIMAP != nil {
		m.opts.OnIMAP(op, s.Stats().Commands-before)
	}
	release(errors.Is(err, imap.ErrBroken) || s.Broken())
	return upstreamErr(err)
}

// upstreamErr marks transport and store outages retryable for the front;
// everything else (CommandStatus, protocol errors) passes unchanged.
func upstreamErr(err error) error { return outage.Upstream(err) }

// isServerNo reports whether err is a tagged NO/BAD from the IMAP server,
// i.e. the server refused this one operation and the session is fine.
func isServerNo(err error) bool {
	var se *imap.ServerError
	return errors.As(err, &se)
}

// asServerNo is errors.As for *imap.ServerError.
func asServerNo(err error, target **imap.ServerError) bool {
	return errors.As(err, target)
}
