package bridge

import (
	"context"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
)

// SyncCollection runs the mail engine's Sync and, when the device changed
// something, tells the user's other devices through the push hub (their
// parked Pings re-check; this device's own Ping ignores it: no echo).
func (b *Bridge) SyncCollection(ctx context.Context, acct activesync.Account, deviceID string, c *activesync.SyncCollection) (*activesync.SyncResult, error) {
	res, err := b.Mail.SyncCollection(ctx, acct, deviceID, c)
	if err == nil && b.Push != nil && len(c.Commands) > 0 {
		for _, cmd := range c.Commands {
			if cmd.Kind != "Fetch" {
				b.Push.Notify(ctx, acct.Address(), c.CollectionID, deviceID)
				break
			}
		}
	}
	return res, err
}

// MoveItems runs the mail engine's move and notifies both folders.
func (b *Bridge) MoveItems(ctx context.Context, acct activesync.Account, deviceID string, moves []activesync.Move) ([]activesync.MoveResult, error) {
	res, err := b.Mail.MoveItems(ctx, acct, deviceID, moves)
	if err == nil && b.Push != nil {
		seen := map[string]bool{}
		for i, m := range moves {
			if i < len(res) && res[i].Status == activesync.MoveStatusOK {
				for _, f := range []string{m.SrcFldID, m.DstFldID} {
					if !seen[f] {
						seen[f] = true
						b.Push.Notify(ctx, acct.Address(), f, deviceID)
					}
				}
			}
		}
	}
	return res, err
}

// DeviceRequest forwards to the push hub when there is one, and lets the
// send engine repair Sent copies a crash left owed (it has the user's
// upstream credentials only while the user makes requests).
func (b *Bridge) DeviceRequest(acct activesync.Account, deviceID, cmd string) {
	if b.Push != nil {
		b.Push.DeviceRequest(acct, deviceID, cmd)
	}
	switch {
	case b.Sender == nil:
	case cmd == "SendMail" || cmd == "SmartReply" || cmd == "SmartForward":
		// A send repairs its own message's copy before answering, so the
		// device's retry is answered once the copy is there; a background
		// repair racing it would answer first.
	default:
		b.Sender.resumeSentCopies(acct)
	}
}

// Ping parks on the push hub; without one it refuses cleanly.
func (b *Bridge) Ping(ctx context.Context, acct activesync.Account, deviceID string, folders []activesync.PingFolder, heartbeat time.Duration,
	done func(changed []string, err error)) (func(), error) {
	if b.Push == nil {
		return nil, activesync.ErrUnavailable
	}
	return b.Push.Ping(ctx, acct, deviceID, folders, heartbeat, done)
}

// The folder hierarchy edits of a device tell the user's other devices
// (their parked Pings answer Status 7 if their FolderSync state lacks the
// change; the device itself holds it already: no echo by state).

// FolderCreate runs the mail engine's FolderCreate and notifies the bus.
func (b *Bridge) FolderCreate(ctx context.Context, acct activesync.Account, deviceID, syncKey, parentID, name string, folderType int) (string, string, error) {
	key, id, err := b.Mail.FolderCreate(ctx, acct, deviceID, syncKey, parentID, name, folderType)
	b.notifyHierarchy(ctx, acct, deviceID, err)
	return key, id, err
}

// FolderUpdate runs the mail engine's FolderUpdate and notifies the bus.
func (b *Bridge) FolderUpdate(ctx context.Context, acct activesync.Account, deviceID, syncKey, serverID, parentID, name string) (string, error) {
	key, err := b.Mail.FolderUpdate(ctx, acct, deviceID, syncKey, serverID, parentID, name)
	b.notifyHierarchy(ctx, acct, deviceID, err)
	return key, err
}

// FolderDelete runs the mail engine's FolderDelete and notifies the bus.
func (b *Bridge) FolderDelete(ctx context.Context, acct activesync.Account, deviceID, syncKey, serverID string) (string, error) {
	key, err := b.Mail.FolderDelete(ctx, acct, deviceID, syncKey, serverID)
	b.notifyHierarchy(ctx, acct, deviceID, err)
	return key, err
}

func (b *Bridge) notifyHierarchy(ctx context.Context, acct activesync.Account, deviceID string, err error) {
	if err == nil && b.Push != nil {
		b.Push.Notify(ctx, acct.Address(), hierarchyCollection, deviceID)
	}
}

// EmptyFolder runs the mail engine's EmptyFolderContents and notifies the
// folder (and, with its subfolders deleted, the hierarchy).
func (b *Bridge) EmptyFolder(ctx context.Context, acct activesync.Account, deviceID, collectionID string, deleteSubfolders bool) error {
	err := b.Mail.EmptyFolder(ctx, acct, deviceID, collectionID, deleteSubfolders)
	if err == nil && b.Push != nil {
		b.Push.Notify(ctx, acct.Address(), collectionID, deviceID)
		if deleteSubfolders {
			b.Push.Notify(ctx, acct.Address(), hierarchyCollection, deviceID)
		}
	}
	return err
}

// Send submits through the Sender; when the bridge saved the Sent copy,
// the Sent folder changed upstream for every device, the sender too (its
// snapshot lacks the copy), so the change names no source device. The
// folder is the one the device knows as Sent Items (no IMAP to find it);
// a device that knows none may just have had "Sent" created for it,
// which is a hierarchy change.
func (b *Bridge) Send(ctx context.Context, acct activesync.Account, deviceID string, m *activesync.OutgoingMail) error {
	err := b.Sender.Send(ctx, acct, deviceID, m)
	if err != nil || b.Push == nil || b.Mail == nil || !m.SaveInSent {
		return err
	}
	if a, aerr := account(acct); aerr != nil || a.Principal.User.SentCopyByProvider {
		return err
	}
	user := acct.Address()
	nctx := context.WithoutCancel(ctx)
	sent, ok, serr := b.Mail.sentFolderID(nctx, user, deviceID)
	switch {
	case serr != nil:
		b.Log.Warn("push: finding the Sent folder to notify failed", "user", user, "device", deviceID, "err", serr)
	case ok:
		b.Push.Notify(nctx, user, sent, "")
	default:
		b.Push.Notify(nctx, user, hierarchyCollection, "")
	}
	return err
}
