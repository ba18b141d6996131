package bridge

import (
	"context"
	"errors"

	"github.com/idlebridge/idlebridge/bridge/state"
)

// hasChanges reports whether the device's next Sync of a collection would
// carry anything, by the same cheap path an empty incremental Sync takes
// (one STATUS when nothing moved). Because it compares against the
// device's own snapshot, a change the device made itself is not a change
// for it — the no-echo rule for Ping.
//
// A collection the device has never synced has no changes for Ping: the
// device must Sync it first (and some devices Ping folders they never
// sync; waking them for those would start a loop).
func (m *Mail) hasChanges(ctx context.Context, acct *Account, deviceID, collectionID string, first bool) (bool, error) {
	col, err := m.store.GetCollection(ctx, acct.Address(), deviceID, collectionID)
	if errors.Is(err, state.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if col.SyncKey == "" || col.SyncKey == "0" {
		return false, nil
	}
	mailbox, ok, err := m.mailboxOf(ctx, acct.Address(), collectionID)
	if err != nil {
		return false, err
	}
	if !ok {
		return true, nil // the folder is gone: the device learns it on its next Sync
	}
	return m.mailboxChanged(ctx, acct, deviceID, collectionID, mailbox, col, first)
}

// mailboxChanged is hasChanges once the collection is known to be mailbox
// and its header is read: the mail engine compares versions, or asks
// upstream (bridge/mail's Recheck).
func (m *Mail) mailboxChanged(ctx context.Context, acct *Account, deviceID, collectionID, mailbox string, col *state.Collection, first bool) (bool, error) {
	return m.Recheck(ctx, acct, deviceID, collectionID, mailbox, col, first)
}
