package bridge

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/bridge/foldermap"
	"github.com/idlebridge/idlebridge/bridge/mail"
	"github.com/idlebridge/idlebridge/bridge/mailid"
)

// The Bridge's item commands: each resolves the collection in the folder
// map (one store read) and routes by its kind — mail to *Mail, any other
// kind to its class's Source through engine.Engine.

// classOf returns the class serving kind, or nil.
func (b *Bridge) classOf(k engine.Kind) *engine.Class {
	if c := b.byKind[k]; c != nil && c.Source != nil {
		return c
	}
	return nil
}

// call builds the engine's view of one request on one collection. The
// device record gives the client family (one store read; a source may
// answer differently per client).
func (b *Bridge) call(ctx context.Context, acct *Account, deviceID, collectionID string, ref engine.Ref, opts activesync.SyncOptions) *engine.Call {
	c := &engine.Call{Principal: acct.Principal, User: acct.Address(), DeviceID: deviceID,
		CollectionID: collectionID, Ref: ref, Options: opts}
	if d, err := b.Store.GetDevice(ctx, c.User, deviceID); err == nil {
		c.DeviceType, c.UserAgent = d.Type, d.UserAgent
	}
	return c
}

// classErr is how an engine or source error leaves the bridge: statuses
// and retryable outages as they are, store outages made retryable.
func (b *Bridge) classErr(err error, what string, acct *Account, deviceID, collectionID string) error {
	if err == nil {
		return nil
	}
	var ae *activesync.Error
	if !errors.As(err, &ae) {
		b.Log.Warn(what+" failed", "user", acct.Address(), "device", deviceID, "collection", collectionID, "err", err)
	}
	return upstreamErr(err)
}

// SyncCollection implements activesync.Syncer and, when the device changed
// something, tells the user's other devices through the push hub (their
// parked Pings re-check; this device's own Ping ignores it: no echo).
func (b *Bridge) SyncCollection(ctx context.Context, a activesync.Account, deviceID string, c *activesync.SyncCollection) (*activesync.SyncResult, error) {
	acct, err := account(a)
	if err != nil {
		return nil, err
	}
	ref, ok, err := foldermap.RefOf(ctx, b.Store, acct.Address(), c.CollectionID)
	if err != nil {
		return nil, storeErr(err)
	}
	var res *activesync.SyncResult
	switch cls := b.classOf(ref.Kind); {
	case !ok:
		return &activesync.SyncResult{Status: activesync.SyncStatusNotFound, SyncKey: c.SyncKey}, nil
	case ref.Kind == engine.KindMail:
		res, err = b.Mail.SyncMailbox(ctx, acct, deviceID, c, ref.Path)
	case cls == nil:
		return &activesync.SyncResult{Status: activesync.SyncStatusNotFound, SyncKey: c.SyncKey}, nil
	default:
		res, err = b.engine.Sync(ctx, cls.Source, b.call(ctx, acct, deviceID, c.CollectionID, ref, c.Options), c)
		err = b.classErr(err, "sync", acct, deviceID, c.CollectionID)
	}
	if err == nil && b.Push != nil && hasEdits(c.Commands) {
		b.Push.Notify(ctx, acct.Address(), c.CollectionID, deviceID)
	}
	return res, err
}

func hasEdits(cmds []activesync.SyncCommand) bool {
	for _, cmd := range cmds {
		if cmd.Kind != "Fetch" {
			return true
		}
	}
	return false
}

// Estimate implements activesync.Estimator.
func (b *Bridge) Estimate(ctx context.Context, a activesync.Account, deviceID, collectionID, syncKey string, opts activesync.SyncOptions) (int, error) {
	acct, err := account(a)
	if err != nil {
		return 0, err
	}
	ref, ok, err := foldermap.RefOf(ctx, b.Store, acct.Address(), collectionID)
	if err != nil {
		return 0, storeErr(err)
	}
	switch cls := b.classOf(ref.Kind); {
	case ok && ref.Kind == engine.KindMail:
		return b.Mail.EstimateMailbox(ctx, acct, deviceID, collectionID, ref.Path, syncKey, opts)
	case ok && cls != nil:
		n, err := b.engine.Estimate(ctx, cls.Source, b.call(ctx, acct, deviceID, collectionID, ref, opts), syncKey)
		return n, b.classErr(err, "estimate", acct, deviceID, collectionID)
	}
	return 0, activesync.CommandStatus(activesync.EstimateStatusBadCollection, "unknown collection")
}

// itemFolder is the collection an item ID names when the request names
// none ("7:1042" is item 1042 of folder 7, for every kind).
func itemFolder(collectionID, serverID string) string {
	if collectionID != "" {
		return collectionID
	}
	folder, _, _ := strings.Cut(serverID, ":")
	return folder
}

// FetchItem implements activesync.ItemFetcher: the item's ApplicationData,
// whose children the front puts in Properties.
func (b *Bridge) FetchItem(ctx context.Context, a activesync.Account, deviceID, collectionID, serverID string, opts activesync.SyncOptions) (*wbxml.Element, error) {
	acct, err := account(a)
	if err != nil {
		return nil, err
	}
	folder := itemFolder(collectionID, serverID)
	ref, ok, err := foldermap.RefOf(ctx, b.Store, acct.Address(), folder)
	if err != nil {
		return nil, storeErr(err)
	}
	switch cls := b.classOf(ref.Kind); {
	case ok && ref.Kind == engine.KindMail:
		f, uid, idOK := mailid.ParseItem(serverID)
		if !idOK || f != folder {
			return nil, activesync.CommandStatus(activesync.ItemOpsStatusNotFound, "no such item")
		}
		return b.Mail.FetchMailItem(ctx, acct, folder, uid, ref.Path, opts)
	case ok && cls != nil:
		it, err := b.engine.FetchItem(ctx, cls.Source, b.call(ctx, acct, deviceID, folder, ref, opts), serverID)
		if err != nil {
			return nil, b.classErr(err, "item fetch", acct, deviceID, folder)
		}
		return it.Data, nil
	}
	return nil, activesync.CommandStatus(activesync.ItemOpsStatusNotFound, "no such folder")
}

// OpenAttachment implements activesync.ItemFetcher; attachments are mail's.
func (b *Bridge) OpenAttachment(ctx context.Context, a activesync.Account, deviceID, fileRef string) (string, int64, io.ReadCloser, error) {
	return b.Mail.OpenAttachment(ctx, a, deviceID, fileRef)
}

// EmptyFolder implements activesync.ItemFetcher (EmptyFolderContents) and
// notifies the folder (and, with its subfolders deleted, the hierarchy).
func (b *Bridge) EmptyFolder(ctx context.Context, a activesync.Account, deviceID, collectionID string, deleteSubfolders bool) error {
	acct, err := account(a)
	if err != nil {
		return err
	}
	ref, ok, err := foldermap.RefOf(ctx, b.Store, acct.Address(), collectionID)
	if err != nil {
		return storeErr(err)
	}
	switch cls := b.classOf(ref.Kind); {
	case ok && ref.Kind == engine.KindMail:
		err = b.Mail.EmptyMailbox(ctx, acct, deviceID, collectionID, ref.Path, deleteSubfolders)
	case ok && cls != nil:
		err = b.emptyClassFolder(ctx, cls, acct, deviceID, collectionID, ref, deleteSubfolders)
	default:
		return activesync.CommandStatus(activesync.ItemOpsStatusNotFound, "no such folder")
	}
	if err == nil && b.Push != nil {
		b.Push.Notify(ctx, acct.Address(), collectionID, deviceID)
		if deleteSubfolders {
			b.Push.Notify(ctx, acct.Address(), hierarchyCollection, deviceID)
		}
	}
	return err
}

// emptyClassFolder empties a non-mail collection through its Job's
// engine.Emptier; a class that cannot is told as ItemOperations Status
// 156 (action not supported, MS-ASCMD 2.2.3.177.8).
func (b *Bridge) emptyClassFolder(ctx context.Context, cls *engine.Class, acct *Account, deviceID, collectionID string, ref engine.Ref, deleteSubfolders bool) (err error) {
	job, err := cls.Source.Open(ctx, b.call(ctx, acct, deviceID, collectionID, ref, activesync.SyncOptions{}))
	if err != nil {
		return b.classErr(err, "empty folder", acct, deviceID, collectionID)
	}
	defer func() { job.Close(err) }()
	em, ok := job.(engine.Emptier)
	if !ok {
		return activesync.CommandStatus(activesync.ItemOpsStatusActionNotSupported, "this folder cannot be emptied")
	}
	if err := em.Empty(ctx, deleteSubfolders); err != nil {
		return b.classErr(err, "empty folder", acct, deviceID, collectionID)
	}
	return mail.ForgetAll(ctx, b.Store, acct.Address(), deviceID, collectionID)
}
