package bridge

import (
	"context"
	"errors"

	"github.com/idlebridge/idlebridge/activesync"
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
func (m *Mail) hasChanges(ctx context.Context, acct *Account, deviceID, collectionID string) (bool, error) {
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
	return m.mailboxChanged(ctx, acct, deviceID, collectionID, mailbox, col)
}

// mailboxChanged is hasChanges once the collection is known to be mailbox
// and its header is read.
func (m *Mail) mailboxChanged(ctx context.Context, acct *Account, deviceID, collectionID, mailbox string, col *state.Collection) (bool, error) {
	opts := activesync.SyncOptions{Class: "Email", FilterType: parseMailMeta(col.Meta).filter, MIMETruncation: -1, Conflict: 1}
	n, err := m.estimate(ctx, acct, deviceID, collectionID, mailbox, col, col.SyncKey, opts)
	if err != nil {
		var e *activesync.Error
		if errors.As(err, &e) && e.Command {
			// Invalid key, folder gone: the device learns it on its next
			// Sync; answering the Ping makes it Sync now.
			return true, nil
		}
		return false, err
	}
	return n > 0, nil
}
