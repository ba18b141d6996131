package bridge

import (
	"log/slog"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/imappools"
	"github.com/idlebridge/idlebridge/bridge/mail"
	"github.com/idlebridge/idlebridge/bridge/state"
)

// Mail is the mail engine (bridge/mail) as the bridge serves it: the
// engine's Sync, Estimate, MoveItems, FetchItem, EmptyFolder, Search,
// attachments and mailbox hierarchy, with what the bridge adds on top:
// FolderSync of the mailboxes alone (hierarchy.go; the Bridge's merges
// the classes' folders under the same key) and the push re-checks
// (push_check.go, push_hierarchy.go).
type Mail struct {
	*mail.Engine
	store state.Store
	log   *slog.Logger
}

// NewMail returns the mail engine. log may be nil.
func NewMail(store state.Store, up *imappools.Registry, log *slog.Logger, opts mail.Options) *Mail {
	if log == nil {
		log = slog.Default()
	}
	return &Mail{Engine: mail.New(store, up, log, opts), store: store, log: log}
}

var _ activesync.FolderSyncer = (*Mail)(nil)
