package bridge

import (
	"context"

	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/bridge/foldermap"
	"github.com/idlebridge/idlebridge/bridge/state"
)

// The folder ID map is bridge/foldermap's; these names keep the call
// sites of the mail engine and the router as they were.

type folderMap = foldermap.Map

func reconcileKinds(ctx context.Context, st state.Store, user string, kinds []engine.Kind, listed []engine.Ref) (*folderMap, error) {
	return foldermap.ReconcileKinds(ctx, st, user, kinds, listed)
}

func refOf(ctx context.Context, st state.Store, user, folderID string) (engine.Ref, bool, error) {
	return foldermap.RefOf(ctx, st, user, folderID)
}

func (m *Mail) loadFolderMap(ctx context.Context, user string) (*folderMap, error) {
	return foldermap.Load(ctx, m.store, user)
}

func (m *Mail) mailboxOf(ctx context.Context, user, folderID string) (string, bool, error) {
	return foldermap.MailboxOf(ctx, m.store, user, folderID)
}
