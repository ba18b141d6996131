package bridge

import (
	"context"
	"log/slog"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/bridge/mail"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

// Mail is the mail engine (bridge/mail) as the bridge serves it: the
// engine's Sync, Estimate, MoveItems, FetchItem, EmptyFolder, Search and
// attachments, with the mailbox hierarchy (folders*.go) and the push
// re-checks (push_check.go, push_hierarchy.go) the bridge adds on top.
// The hierarchy is the bridge's because it merges the classes' folders
// with the mailboxes under one key.
type Mail struct {
	*mail.Engine
	store state.Store
	up    *Upstreams
	log   *slog.Logger
}

// MailOptions tune the mail engine.
type MailOptions = mail.Options

// Outcomes of MailOptions.OnSkipped.
const (
	SkipRetry   = mail.SkipRetry
	SkipGivenUp = mail.SkipGivenUp
)

// NewMail returns the mail engine. log may be nil.
func NewMail(store state.Store, up *Upstreams, log *slog.Logger, opts MailOptions) *Mail {
	if log == nil {
		log = slog.Default()
	}
	return &Mail{Engine: mail.New(store, up, log, opts), store: store, up: up, log: log}
}

var _ activesync.FolderSyncer = (*Mail)(nil)

// The bridge's names for what it calls of the engine, so the router, the
// hierarchy and the push hub keep their call sites.

func (m *Mail) withSession(ctx context.Context, acct *Account, op string, fn func(*imap.Session) error) error {
	return m.WithSession(ctx, acct, op, fn)
}

func (m *Mail) syncMailbox(ctx context.Context, acct *Account, deviceID string, c *activesync.SyncCollection, mailbox string) (*activesync.SyncResult, error) {
	return m.SyncMailbox(ctx, acct, deviceID, c, mailbox)
}

func (m *Mail) estimateMailbox(ctx context.Context, acct *Account, deviceID, collectionID, mailbox, syncKey string, opts activesync.SyncOptions) (int, error) {
	return m.EstimateMailbox(ctx, acct, deviceID, collectionID, mailbox, syncKey, opts)
}

func (m *Mail) estimate(ctx context.Context, acct *Account, deviceID, collectionID, mailbox string, col *state.Collection, syncKey string, opts activesync.SyncOptions) (int, error) {
	return m.EstimateCollection(ctx, acct, deviceID, collectionID, mailbox, col, syncKey, opts)
}

func (m *Mail) fetchMailItem(ctx context.Context, acct *Account, folder string, uid uint32, mailbox string, opts activesync.SyncOptions) (*wbxml.Element, error) {
	return m.FetchMailItem(ctx, acct, folder, uid, mailbox, opts)
}

func (m *Mail) emptyMailbox(ctx context.Context, acct *Account, deviceID, collectionID, mailbox string, deleteSubfolders bool) error {
	return m.EmptyMailbox(ctx, acct, deviceID, collectionID, mailbox, deleteSubfolders)
}

func (m *Mail) moveResolved(ctx context.Context, s *imap.Session, user, deviceID string, mv activesync.Move, src, dst string) (activesync.MoveResult, error) {
	return m.MoveResolved(ctx, s, user, deviceID, mv, src, dst)
}

func applyOnly(ctx context.Context, st state.Store, user, deviceID, collectionID string, d *state.Delta) error {
	return mail.ApplyOnly(ctx, st, user, deviceID, collectionID, d)
}

func forgetAll(ctx context.Context, st state.Store, user, deviceID, collectionID string) error {
	return mail.ForgetAll(ctx, st, user, deviceID, collectionID)
}

// mailMeta is what the push re-check reads of an Email collection's Meta.
type mailMeta struct{ filter int }

func parseMailMeta(meta map[string]string) mailMeta { return mailMeta{filter: mail.FilterOf(meta)} }
