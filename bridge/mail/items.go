package mail

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/bridge/foldermap"
	"github.com/idlebridge/idlebridge/bridge/login"
	"github.com/idlebridge/idlebridge/bridge/mailid"
	"github.com/idlebridge/idlebridge/bridge/outage"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

// Estimate implements activesync.Estimator: how many commands the next
// Sync would carry, by the same plan (and the same one-STATUS shortcut)
// as Sync, without fetching bodies or storing anything.
func (m *Engine) Estimate(ctx context.Context, a activesync.Account, deviceID, collectionID, syncKey string, opts activesync.SyncOptions) (int, error) {
	acct, err := login.Of(a)
	if err != nil {
		return 0, err
	}
	mailbox, ok, err := m.mailboxOf(ctx, acct.Address(), collectionID)
	if err != nil {
		return 0, outage.Store(err)
	}
	if !ok {
		return 0, activesync.CommandStatus(activesync.EstimateStatusBadCollection, "unknown collection")
	}
	return m.EstimateMailbox(ctx, acct, deviceID, collectionID, mailbox, syncKey, opts)
}

// EstimateMailbox is Estimate once the collection is known to be mailbox.
func (m *Engine) EstimateMailbox(ctx context.Context, acct *login.Account, deviceID, collectionID, mailbox, syncKey string, opts activesync.SyncOptions) (int, error) {
	col, err := engine.Header(ctx, m.store, acct.Address(), deviceID, collectionID)
	if err != nil {
		return 0, outage.Store(err)
	}
	return m.EstimateCollection(ctx, acct, deviceID, collectionID, mailbox, col, syncKey, opts)
}

// EstimateCollection is Estimate once the folder's mailbox and the device's
// collection state are known (the push hub's re-check has them already).
func (m *Engine) EstimateCollection(ctx context.Context, acct *login.Account, deviceID, collectionID, mailbox string, col *state.Collection, syncKey string, opts activesync.SyncOptions) (int, error) {
	user := acct.Address()
	role := engine.Classify(col, syncKey)
	switch {
	case syncKey == "0" || col == nil:
		return 0, activesync.CommandStatus(activesync.EstimateStatusNotPrimed, "sync state not primed")
	case role == engine.Unknown:
		return 0, activesync.CommandStatus(activesync.EstimateStatusBadKey, "unknown sync key")
	}
	in := planInput{
		user: user, deviceID: deviceID, folderID: collectionID, mailbox: mailbox,
		col: col, role: role, meta: parseMailMeta(col.Meta), filter: opts.FilterType,
		now: time.Now(), shortcut: true,
	}
	n := 0
	err := m.withSession(ctx, acct, "GetItemEstimate", func(s *imap.Session) error {
		p, err := m.planMail(ctx, s, in)
		if err != nil {
			return err
		}
		if !p.unchanged {
			n = p.count()
		}
		return nil
	})
	switch {
	case errors.Is(err, errUIDValidity):
		return 0, activesync.CommandStatus(activesync.EstimateStatusBadKey, "mailbox was recreated")
	case isServerNo(err):
		return 0, activesync.CommandStatus(activesync.EstimateStatusBadCollection, "mailbox not available")
	}
	return n, err
}

// MoveItems implements activesync.Mover with UID MOVE. The device already
// shows the move, so both collections' snapshots are updated in place
// (no new key): the next Sync of either folder does not echo it.
func (m *Engine) MoveItems(ctx context.Context, a activesync.Account, deviceID string, moves []activesync.Move) ([]activesync.MoveResult, error) {
	acct, err := login.Of(a)
	if err != nil {
		return nil, err
	}
	user := acct.Address()
	out := make([]activesync.MoveResult, len(moves))
	err = m.withSession(ctx, acct, "MoveItems", func(s *imap.Session) error {
		for i, mv := range moves {
			r, err := m.moveOne(ctx, s, user, deviceID, mv)
			if err != nil {
				return err
			}
			out[i] = r
		}
		return nil
	})
	return out, err
}

func (m *Engine) moveOne(ctx context.Context, s *imap.Session, user, deviceID string, mv activesync.Move) (activesync.MoveResult, error) {
	folder, _, ok := mailid.ParseItem(mv.SrcMsgID)
	if !ok || (mv.SrcFldID != "" && folder != mv.SrcFldID) {
		return activesync.MoveResult{Status: activesync.MoveStatusBadSource}, nil
	}
	src, ok, err := m.mailboxOf(ctx, user, folder)
	if err != nil || !ok {
		return activesync.MoveResult{Status: activesync.MoveStatusBadSource}, err
	}
	dst, ok, err := m.mailboxOf(ctx, user, mv.DstFldID)
	if err != nil || !ok {
		return activesync.MoveResult{Status: activesync.MoveStatusBadDest}, err
	}
	return m.MoveResolved(ctx, s, user, deviceID, mv, src, dst)
}

// MoveResolved is moveOne once both folders are known to be mailboxes.
func (m *Engine) MoveResolved(ctx context.Context, s *imap.Session, user, deviceID string, mv activesync.Move, src, dst string) (activesync.MoveResult, error) {
	folder, uid, ok := mailid.ParseItem(mv.SrcMsgID)
	if !ok || (mv.SrcFldID != "" && folder != mv.SrcFldID) {
		return activesync.MoveResult{Status: activesync.MoveStatusBadSource}, nil
	}
	if folder == mv.DstFldID {
		return activesync.MoveResult{Status: activesync.MoveStatusSameFolder}, nil
	}
	if s.Selected() != src || s.ReadOnly() {
		// A pooled session may come with src opened read-only (by a
		// Fetch or a Search): MOVE needs it writable.
		if _, err := s.Select(ctx, src, false); err != nil {
			if isServerNo(err) {
				return activesync.MoveResult{Status: activesync.MoveStatusBadSource}, nil
			}
			return activesync.MoveResult{}, err
		}
	}
	infos, err := s.FetchFlags(ctx, imap.UIDs(uid), 0)
	if err != nil {
		return activesync.MoveResult{}, err
	}
	if len(infos) == 0 {
		return activesync.MoveResult{Status: activesync.MoveStatusBadSource}, nil
	}
	if err := m.markChanging(ctx, user, src, dst); err != nil {
		return activesync.MoveResult{}, err
	}
	mapped, err := s.Move(ctx, imap.UIDs(uid), dst)
	if err != nil {
		if isServerNo(err) {
			m.log.Warn("move refused upstream", "user", user, "device", deviceID, "item", mv.SrcMsgID, "err", err)
			return activesync.MoveResult{Status: activesync.MoveStatusFailed}, nil
		}
		return activesync.MoveResult{}, err
	}
	newUID, ok := mapped[uid]
	if !ok {
		// No COPYUID (no UIDPLUS): the move happened but the new ID is
		// unknown; the next Sync of the destination sends it as an Add.
		if err := m.ApplyOnly(ctx, user, deviceID, folder, &state.Delta{Del: []string{mv.SrcMsgID}}); err != nil {
			return activesync.MoveResult{}, err
		}
		return activesync.MoveResult{Status: activesync.MoveStatusFailed}, nil
	}
	newID := mailid.Item(mv.DstFldID, newUID)
	if err := m.ApplyOnly(ctx, user, deviceID, folder, &state.Delta{Del: []string{mv.SrcMsgID}}); err != nil {
		return activesync.MoveResult{}, err
	}
	if err := m.ApplyOnly(ctx, user, deviceID, mv.DstFldID, &state.Delta{Set: map[string]string{newID: flagSignature(infos[0].Flags)}}); err != nil {
		return activesync.MoveResult{}, err
	}
	return activesync.MoveResult{Status: activesync.MoveStatusOK, DstMsgID: newID}, nil
}

// ApplyOnly changes a collection's snapshot without a new key (what the
// device did on its own), keeping keys and Meta. The pending delta is kept
// too, minus what d overrides: it is folded after Apply when the device
// presents its key, and must not bring a moved item back. A collection the
// device never synced is left alone.
func (m *Engine) ApplyOnly(ctx context.Context, user, deviceID, collectionID string, d *state.Delta) error {
	return ApplyOnly(ctx, m.store, user, deviceID, collectionID, d)
}

func ApplyOnly(ctx context.Context, st state.Store, user, deviceID, collectionID string, d *state.Delta) error {
	for range casRetries {
		col, err := engine.Header(ctx, st, user, deviceID, collectionID)
		if err != nil || col == nil {
			return outage.Store(err)
		}
		_, err = st.Commit(ctx, user, deviceID, collectionID, col.Generation, state.CommitRequest{
			Apply: d, SyncKey: col.SyncKey, PrevSyncKey: col.PrevSyncKey, Pending: withoutOverrides(col.Pending, d),
		})
		if errors.Is(err, state.ErrConflict) {
			continue
		}
		return outage.Store(err)
	}
	return engine.CommitErr(state.ErrConflict)
}

// ItemOperations statuses (MS-ASCMD 2.2.3.177.8).
// FetchItem implements activesync.ItemFetcher: the message's
// ApplicationData, whose children the front puts in Properties.
func (m *Engine) FetchItem(ctx context.Context, a activesync.Account, deviceID, collectionID, serverID string, opts activesync.SyncOptions) (*wbxml.Element, error) {
	acct, err := login.Of(a)
	if err != nil {
		return nil, err
	}
	folder, uid, ok := mailid.ParseItem(serverID)
	if !ok || (collectionID != "" && collectionID != folder) {
		return nil, activesync.CommandStatus(activesync.ItemOpsStatusNotFound, "no such item")
	}
	mailbox, ok, err := m.mailboxOf(ctx, acct.Address(), folder)
	if err != nil {
		return nil, outage.Store(err)
	}
	if !ok {
		return nil, activesync.CommandStatus(activesync.ItemOpsStatusNotFound, "no such folder")
	}
	return m.FetchMailItem(ctx, acct, folder, uid, mailbox, opts)
}

// FetchMailItem is FetchItem once the item's folder is known to be mailbox.
func (m *Engine) FetchMailItem(ctx context.Context, acct *login.Account, folder string, uid uint32, mailbox string, opts activesync.SyncOptions) (*wbxml.Element, error) {
	var data *wbxml.Element
	err := m.withSession(ctx, acct, "ItemOperations", func(s *imap.Session) error {
		if _, err := s.Select(ctx, mailbox, true); err != nil {
			return err
		}
		ver := opts.Version
		if ver == 0 {
			ver = activesync.V141 // callers outside the front: the richest answer
		}
		fr, err := m.fetchItems(ctx, s, folder, []uint32{uid}, convOptions(ver, opts), 0, true)
		if err != nil {
			return err
		}
		if len(fr.items) > 0 {
			data = fr.items[0].data
		}
		return nil
	})
	if isServerNo(err) || (err == nil && data == nil) {
		return nil, activesync.CommandStatus(activesync.ItemOpsStatusNotFound, "no such item")
	}
	return data, err
}

// EmptyFolder implements activesync.ItemFetcher (ItemOperations
// EmptyFolderContents): every message is expunged (MS-ASCMD 2.2.3.57
// deletes, it does not move to Trash), and with deleteSubfolders the
// folders below it are deleted too. The device clears the folder itself,
// so its snapshot is emptied in place.
func (m *Engine) EmptyFolder(ctx context.Context, a activesync.Account, deviceID, collectionID string, deleteSubfolders bool) error {
	acct, err := login.Of(a)
	if err != nil {
		return err
	}
	mailbox, ok, err := m.mailboxOf(ctx, acct.Address(), collectionID)
	if err != nil {
		return outage.Store(err)
	}
	if !ok {
		return activesync.CommandStatus(activesync.ItemOpsStatusNotFound, "no such folder")
	}
	return m.EmptyMailbox(ctx, acct, deviceID, collectionID, mailbox, deleteSubfolders)
}

// EmptyMailbox is EmptyFolder once the collection is known to be mailbox.
func (m *Engine) EmptyMailbox(ctx context.Context, acct *login.Account, deviceID, collectionID, mailbox string, deleteSubfolders bool) error {
	user := acct.Address()
	err := m.withSession(ctx, acct, "EmptyFolderContents", func(s *imap.Session) error {
		if _, err := s.Select(ctx, mailbox, false); err != nil {
			return err
		}
		if err := m.markChanging(ctx, user, mailbox); err != nil {
			return err
		}
		if err := s.Expunge(ctx, imap.AllUIDs()); err != nil {
			return err
		}
		if !deleteSubfolders {
			return nil
		}
		return m.deleteChildren(ctx, s, user, mailbox)
	})
	if isServerNo(err) {
		return &activesync.Error{Status: activesync.ItemOpsStatusServerError, Command: true, Msg: "provider refused to empty the folder", Err: err}
	}
	if err != nil {
		return err
	}
	return ForgetAll(ctx, m.store, user, deviceID, collectionID)
}

// ForgetAll empties a collection's snapshot in place (the device emptied
// the folder itself), keeping its keys.
func ForgetAll(ctx context.Context, st state.Store, user, deviceID, collectionID string) error {
	snap, err := st.Snapshot(ctx, user, deviceID, collectionID)
	if err != nil {
		return outage.Store(err)
	}
	col, err := engine.Header(ctx, st, user, deviceID, collectionID)
	if err != nil || col == nil {
		return outage.Store(err)
	}
	if col.Pending != nil {
		maps.Copy(snap, col.Pending.Set)
	}
	if len(snap) == 0 {
		return nil
	}
	return ApplyOnly(ctx, st, user, deviceID, collectionID, &state.Delta{Del: slices.Collect(maps.Keys(snap))})
}

// deleteChildren deletes every mailbox below mailbox, deepest first.
func (m *Engine) deleteChildren(ctx context.Context, s *imap.Session, user, mailbox string) error {
	listed, err := s.ListFolders(ctx)
	if err != nil {
		return err
	}
	var doomed []string
	for _, f := range listed {
		if f.Delimiter != 0 && len(f.Name) > len(mailbox)+1 && f.Name[:len(mailbox)+1] == mailbox+string(f.Delimiter) {
			doomed = append(doomed, f.Name)
		}
	}
	slices.SortFunc(doomed, func(a, b string) int { return len(b) - len(a) })
	for _, name := range doomed {
		if err := s.DeleteFolder(ctx, name); err != nil {
			return fmt.Errorf("delete subfolder: %w", err)
		}
	}
	if len(doomed) == 0 {
		return nil
	}
	_, err = m.updateFolderMap(ctx, user, func(fm *foldermap.Map) *state.Delta {
		d := &state.Delta{}
		for _, name := range doomed {
			if id, ok := fm.ByName[name]; ok {
				fm.Remove(id, d)
			}
		}
		return d
	})
	return err
}

// withoutOverrides returns pending with the entries d decides dropped.
func withoutOverrides(pending, d *state.Delta) *state.Delta {
	if pending == nil {
		return nil
	}
	out := &state.Delta{Set: maps.Clone(pending.Set), Response: pending.Response}
	gone := map[string]bool{}
	for _, k := range d.Del {
		gone[k] = true
		delete(out.Set, k)
	}
	for k := range d.Set {
		gone[k] = true
		delete(out.Set, k)
	}
	for _, k := range pending.Del {
		if !gone[k] {
			out.Del = append(out.Del, k)
		}
	}
	return out
}
