package mail

import (
	"context"

	"github.com/idlebridge/idlebridge/bridge/foldermap"
	"github.com/idlebridge/idlebridge/bridge/state"
)

// casRetries bounds the compare-and-swap loops on shared user state.
const casRetries = 8

func (m *Engine) loadFolderMap(ctx context.Context, user string) (*foldermap.Map, error) {
	return foldermap.Load(ctx, m.store, user)
}

func (m *Engine) updateFolderMap(ctx context.Context, user string, edit func(fm *foldermap.Map) *state.Delta) (*foldermap.Map, error) {
	return foldermap.Update(ctx, m.store, user, edit)
}

func (m *Engine) mailboxOf(ctx context.Context, user, folderID string) (string, bool, error) {
	return foldermap.MailboxOf(ctx, m.store, user, folderID)
}

// idLess orders numeric IDs numerically.
func idLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}
