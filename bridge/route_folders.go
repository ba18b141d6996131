package bridge

import (
	"context"

	"github.com/idlebridge/idlebridge/activesync"
)

// The Bridge's folder commands. FolderSync merges every hierarchy source
// (the mailboxes and each class's Hierarchy, hierarchy.go); the edits go
// to the source of the folder's kind (hierarchy_edit.go). Each edit that
// succeeds tells the user's other devices (their parked Pings answer
// Status 7 if their FolderSync state lacks the change; the device itself
// holds it already: no echo by state).

func (b *Bridge) hierarchies() hierarchies {
	return hierarchies{store: b.Store, log: b.Log, mail: b.Mail.Hierarchy(), classes: b.classes}
}

// FolderSync implements activesync.FolderSyncer.
func (b *Bridge) FolderSync(ctx context.Context, a activesync.Account, deviceID, syncKey string) (*activesync.FolderChanges, error) {
	return b.hierarchies().folderSync(ctx, a, deviceID, syncKey)
}

// FolderCreate implements activesync.FolderSyncer.
func (b *Bridge) FolderCreate(ctx context.Context, a activesync.Account, deviceID, syncKey, parentID, name string, folderType int) (string, string, error) {
	key, id, err := b.hierarchies().create(ctx, a, deviceID, syncKey, parentID, name, folderType)
	b.notifyHierarchy(ctx, a, deviceID, err)
	return key, id, err
}

// FolderUpdate implements activesync.FolderSyncer.
func (b *Bridge) FolderUpdate(ctx context.Context, a activesync.Account, deviceID, syncKey, serverID, parentID, name string) (string, error) {
	key, err := b.hierarchies().update(ctx, a, deviceID, syncKey, serverID, parentID, name)
	b.notifyHierarchy(ctx, a, deviceID, err)
	return key, err
}

// FolderDelete implements activesync.FolderSyncer.
func (b *Bridge) FolderDelete(ctx context.Context, a activesync.Account, deviceID, syncKey, serverID string) (string, error) {
	key, err := b.hierarchies().remove(ctx, a, deviceID, syncKey, serverID)
	b.notifyHierarchy(ctx, a, deviceID, err)
	return key, err
}
