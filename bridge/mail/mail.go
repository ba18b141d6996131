// Package mail is the mail engine: Sync of Email collections over the
// user's IMAP server (as bridge/engine's first source), estimates, moves,
// item and attachment fetches, drafts at 16.x, Mailbox Search and the
// mailbox hierarchy (Hierarchy), with the conversions of bridge/mailconv.
// It depends on the engine, the store and the upstream clients, never on
// bridge/: the bridge routes to it, keeps FolderSync's keys over every
// hierarchy source and adds the push checks on top.
package mail

import (
	"context"
	"errors"
	"log/slog"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/imappools"
	"github.com/idlebridge/idlebridge/bridge/imip"
	"github.com/idlebridge/idlebridge/bridge/login"
	"github.com/idlebridge/idlebridge/bridge/outage"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

// Options tune the mail engine.
type Options struct {
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
	// OnRecheck, when set, counts a parked device's re-check (Recheck)
	// by what decided it: RecheckByVersion, RecheckByUpstream or RecheckByShared.
	OnRecheck func(by string)
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

// Engine is the mail engine: Sync of Email collections, estimates, moves
// and item/attachment fetches on top of the user's IMAP server. It
// implements activesync.Syncer, Estimator, Mover and ItemFetcher, and its
// Hierarchy is the mailboxes' engine.Hierarchy and engine.FolderTree.
type Engine struct {
	store state.Store
	up    *imappools.Registry
	log   *slog.Logger
	opts  Options
	// onCancel is told of each meeting CANCEL a Sync sends to a device
	// (the bridge's Meetings, SetOnCancel); nil: nobody is.
	onCancel func(ctx context.Context, acct *login.Account, m *imip.Meeting)
	// shared coalesces the woken devices' re-checks (recheck_shared.go).
	shared sharedRechecks
}

// New returns the mail engine. log may be nil.
func New(store state.Store, up *imappools.Registry, log *slog.Logger, opts Options) *Engine {
	if log == nil {
		log = slog.Default()
	}
	if opts.LargeMessage <= 0 {
		opts.LargeMessage = 1 << 20
	}
	if opts.MaxFetchAttempts <= 0 {
		opts.MaxFetchAttempts = 3
	}
	return &Engine{store: store, up: up, log: log, opts: opts}
}

var (
	_ activesync.Syncer      = (*Engine)(nil)
	_ activesync.Estimator   = (*Engine)(nil)
	_ activesync.Mover       = (*Engine)(nil)
	_ activesync.ItemFetcher = (*Engine)(nil)
)

// SetOnCancel names who is told of each meeting CANCEL a Sync sends to a
// device; set once, before the engine serves requests.
func (m *Engine) SetOnCancel(fn func(ctx context.Context, acct *login.Account, m *imip.Meeting)) {
	m.onCancel = fn
}

// WithSession lends fn one IMAP session of the user and reports the
// number of commands fn cost as op (Options.OnIMAP).
func (m *Engine) WithSession(ctx context.Context, acct *login.Account, op string, fn func(*imap.Session) error) error {
	return m.withSession(ctx, acct, op, fn)
}

// withSession lends fn one IMAP session of the user and reports the number
// of commands fn cost.
func (m *Engine) withSession(ctx context.Context, acct *login.Account, op string, fn func(*imap.Session) error) error {
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
	return outage.Upstream(err)
}

// isServerNo reports whether err is a tagged NO/BAD from the IMAP server,
// i.e. the server refused this one operation and the session is fine.
func isServerNo(err error) bool {
	var se *imap.ServerError
	return errors.As(err, &se)
}
