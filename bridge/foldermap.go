package bridge

import (
	"context"

	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/bridge/foldermap"
	"github.com/idlebridge/idlebridge/bridge/state"
)

// The folder ID map is bridge/foldermap's, and the bridge's own files
// call it directly. These two names are kept for the push hub's files
// (push_*.go, reworked on their own branches), so their call sites stay
// as they are until then.

func refOf(ctx context.Context, st state.Store, user, folderID string) (engine.Ref, bool, error) {
	return foldermap.RefOf(ctx, st, user, folderID)
}

func (m *Mail) mailboxOf(ctx context.Context, user, folderID string) (string, bool, error) {
	return foldermap.MailboxOf(ctx, m.store, user, folderID)
}
