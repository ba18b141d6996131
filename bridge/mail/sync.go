package mail

import (
	"context"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/bridge/login"
	"github.com/idlebridge/idlebridge/bridge/mailconv"
	"github.com/idlebridge/idlebridge/bridge/outage"
	"github.com/idlebridge/idlebridge/bridge/state"
)

// SyncCollection implements activesync.Syncer for Email folders.
//
// Sync keys: "0" resets the collection and answers key "1" with no items
// (MS-ASCMD 3.1.5.3: the initial Sync carries none); the newest key means
// the device got our last answer, so its pending delta is folded in; the
// key before it means that answer was lost, so it is recomputed from the
// committed snapshot and issued under the same key again; any other key is
// Status 3. A CAS conflict with a concurrent request returns an error
// wrapping both state.ErrConflict and activesync.ErrUnavailable
// (retryable: nothing was committed).
func (m *Engine) SyncCollection(ctx context.Context, a activesync.Account, deviceID string, c *activesync.SyncCollection) (*activesync.SyncResult, error) {
	acct, err := login.Of(a)
	if err != nil {
		return nil, err
	}
	mailbox, ok, err := m.mailboxOf(ctx, acct.Address(), c.CollectionID)
	if err != nil {
		return nil, outage.Store(err)
	}
	if !ok {
		return &activesync.SyncResult{Status: activesync.SyncStatusNotFound, SyncKey: c.SyncKey}, nil
	}
	return m.SyncMailbox(ctx, acct, deviceID, c, mailbox)
}

// SyncMailbox is SyncCollection once the collection is known to be
// mailbox (the Bridge resolved it in the folder map): the engine runs it
// over the mail source (source.go).
func (m *Engine) SyncMailbox(ctx context.Context, acct *login.Account, deviceID string, c *activesync.SyncCollection, mailbox string) (*activesync.SyncResult, error) {
	e := engine.Engine{Store: m.store}
	call := &engine.Call{Principal: acct.Principal, User: acct.Address(), DeviceID: deviceID,
		CollectionID: c.CollectionID, Ref: engine.Ref{Kind: engine.KindMail, Path: mailbox}, Options: c.Options}
	res, err := e.Sync(ctx, mailSource{m}, call, c)
	return res, outage.Upstream(err)
}

// syncJob is one collection of one Sync request: what the device's
// commands need (commands.go, drafts.go).
type syncJob struct {
	m              *Engine
	user, deviceID string
	c              *activesync.SyncCollection
	col            *state.Collection
	role           engine.Role
	mailbox        string
	opts           mailconv.Options
}
