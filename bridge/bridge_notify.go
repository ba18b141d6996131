package bridge

import (
	"context"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
)

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
		b.Sender.ResumeSentCopies(acct)
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

func (b *Bridge) notifyHierarchy(ctx context.Context, acct activesync.Account, deviceID string, err error) {
	if err == nil && b.Push != nil {
		b.Push.Notify(ctx, acct.Address(), hierarchyCollection, deviceID)
	}
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
