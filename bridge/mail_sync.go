package bridge

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/mailconv"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/upstream/imap"
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
func (m *Mail) SyncCollection(ctx context.Context, a activesync.Account, deviceID string, c *activesync.SyncCollection) (*activesync.SyncResult, error) {
	acct, err := account(a)
	if err != nil {
		return nil, err
	}
	user := acct.Address()
	mailbox, ok, err := m.mailboxOf(ctx, user, c.CollectionID)
	if err != nil {
		return nil, storeErr(err)
	}
	if !ok {
		return &activesync.SyncResult{Status: activesync.SyncStatusNotFound, SyncKey: c.SyncKey}, nil
	}
	col, err := m.getCollection(ctx, user, deviceID, c.CollectionID)
	if err != nil {
		return nil, storeErr(err)
	}
	role := roleOf(col, c.SyncKey)
	if role == keyUnknown {
		return &activesync.SyncResult{Status: activesync.SyncStatusInvalidKey, SyncKey: "0"}, nil
	}
	job := &syncJob{
		m: m, user: user, deviceID: deviceID, c: c, col: col, role: role, mailbox: mailbox,
		opts: convOptions(c.Version, c.Options),
	}
	var res *activesync.SyncResult
	err = m.withSession(ctx, acct, "Sync", func(s *imap.Session) error {
		var err error
		res, err = job.run(ctx, s)
		return err
	})
	switch {
	case errors.Is(err, errUIDValidity):
		if rerr := m.store.ResetCollection(ctx, user, deviceID, c.CollectionID); rerr != nil {
			return nil, storeErr(rerr)
		}
		m.log.Info("sync: UIDVALIDITY changed, device must resync", "user", user, "device", deviceID, "collection", c.CollectionID)
		return &activesync.SyncResult{Status: activesync.SyncStatusInvalidKey, SyncKey: "0"}, nil
	case isServerNo(err):
		// The mailbox is in the map but the provider no longer has it:
		// the hierarchy changed under the device (FolderSync will tell).
		m.log.Info("sync: mailbox refused", "user", user, "device", deviceID, "collection", c.CollectionID, "err", err)
		return &activesync.SyncResult{Status: activesync.SyncStatusHierarchyChanged, SyncKey: c.SyncKey}, nil
	case err != nil:
		return nil, err
	}
	return res, nil
}

// syncJob is one collection of one Sync request.
type syncJob struct {
	m              *Mail
	user, deviceID string
	c              *activesync.SyncCollection
	col            *state.Collection
	role           keyRole
	mailbox        string
	opts           mailconv.Options
}

func (j *syncJob) run(ctx context.Context, s *imap.Session) (*activesync.SyncResult, error) {
	if j.role == keyInitial {
		return j.initial(ctx, s)
	}
	mm := parseMailMeta(j.col.Meta)
	res := &activesync.SyncResult{Status: activesync.SyncStatusOK}
	applied := &state.Delta{Set: map[string]string{}}
	if len(j.c.Commands) > 0 {
		removed, err := j.deviceCommands(ctx, s, &mm, res, applied)
		if err != nil {
			return nil, err
		}
		mm.messages -= min(mm.messages, removed)
	}
	in := planInput{
		user: j.user, deviceID: j.deviceID, folderID: j.c.CollectionID, mailbox: j.mailbox,
		col: j.col, role: j.role, meta: mm, filter: j.c.Options.FilterType, now: time.Now(),
		shortcut: len(j.c.Commands) == 0, applied: applied,
	}
	var (
		plan    *mailPlan
		pending = &state.Delta{Set: map[string]string{}}
		newMeta = mm
	)
	if j.c.GetChanges {
		var err error
		if plan, err = j.m.planMail(ctx, s, in); err != nil {
			return nil, err
		}
		if !plan.unchanged {
			newMeta, err = j.fill(ctx, s, plan, in, res, pending)
			if err != nil {
				return nil, err
			}
		}
	}
	return j.commit(ctx, res, applied, pending, newMeta, mm)
}

// initial handles key "0": reset, remember the mailbox's identity, answer
// key "1" with nothing else.
func (j *syncJob) initial(ctx context.Context, s *imap.Session) (*activesync.SyncResult, error) {
	st, err := s.Status(ctx, j.mailbox)
	if err != nil {
		return nil, err
	}
	if err := j.m.store.ResetCollection(ctx, j.user, j.deviceID, j.c.CollectionID); err != nil {
		return nil, fmt.Errorf("reset collection: %w", err)
	}
	// The device holds nothing, so any basis is exact: the window fill
	// compares flags only from here on.
	mm := mailMeta{
		uidValidity: st.UIDValidity, uidNext: st.UIDNext, modSeq: st.HighestModSeq,
		messages: st.Messages, filter: j.c.Options.FilterType, full: true,
	}
	if _, err := j.m.store.Commit(ctx, j.user, j.deviceID, j.c.CollectionID, 0, state.CommitRequest{
		SyncKey: "1", Meta: mm.encode(),
	}); err != nil {
		return nil, commitErr(err)
	}
	return &activesync.SyncResult{Status: activesync.SyncStatusOK, SyncKey: "1"}, nil
}

// fill turns a plan into Commands within the window and returns the Meta
// to store with the answer.
func (j *syncJob) fill(ctx context.Context, s *imap.Session, plan *mailPlan, in planInput, res *activesync.SyncResult, pending *state.Delta) (mailMeta, error) {
	budget := max(j.c.WindowSize, 1)
	folder := j.c.CollectionID
	cutChanges := false
	for _, list := range []struct {
		kind string
		uids []uint32
	}{{"Delete", plan.deletes}, {"SoftDelete", plan.softDeletes}} {
		for _, uid := range list.uids {
			if budget == 0 {
				cutChanges = true
				break
			}
			id := itemID(folder, uid)
			res.Commands = append(res.Commands, activesync.SyncItem{Kind: list.kind, ServerID: id})
			pending.Del = append(pending.Del, id)
			budget--
		}
	}
	for _, ch := range plan.changes {
		if budget == 0 {
			cutChanges = true
			break
		}
		id := itemID(folder, ch.uid)
		res.Commands = append(res.Commands, activesync.SyncItem{Kind: "Change", ServerID: id, Data: mailconv.ChangeData(ch.flags, j.opts)})
		pending.Set[id] = flagSignature(ch.flags)
		budget--
	}
	adds := plan.adds
	more := cutChanges
	if len(adds) > budget {
		adds, more = adds[:budget], true
	}
	fr, err := j.m.fetchItems(ctx, s, folder, adds, j.opts, j.c.MaxBytes, j.c.FirstItemFree)
	if err != nil {
		return mailMeta{}, err
	}
	more = more || fr.cut
	for _, it := range fr.items {
		res.Commands = append(res.Commands, activesync.SyncItem{Kind: "Add", ServerID: it.id, Data: it.data})
		pending.Set[it.id] = it.sig
	}
	book := j.bookSkipped(parseSkipBook(in.meta.skipped), fr, plan.adds, res, pending)
	res.MoreAvailable = more
	mm := mailMeta{
		uidValidity: plan.st.UIDValidity, uidNext: plan.st.UIDNext, modSeq: plan.st.HighestModSeq,
		messages: plan.st.Messages, filter: in.filter, full: more || len(book) > 0, skipped: book.encode(),
		drafts: in.meta.drafts,
	}
	if cutChanges {
		// Changes since the old basis are still owed: keep it.
		mm.modSeq = plan.basis
	}
	return mm, nil
}

// commit stores the answer's delta and picks the key it carries.
func (j *syncJob) commit(ctx context.Context, res *activesync.SyncResult, applied, pending *state.Delta, newMeta, oldMeta mailMeta) (*activesync.SyncResult, error) {
	col := j.col
	req := state.CommitRequest{Apply: applied, Pending: pending, Meta: newMeta.encode()}
	if applied.Empty() {
		req.Apply = nil
	}
	switch j.role {
	case keyCurrent:
		if pending.Empty() && len(j.c.Commands) == 0 {
			// Nothing for the device: keep its key (and the pending delta
			// it already acknowledged by presenting it); only refresh Meta
			// so the next Sync starts from this state.
			res.SyncKey = col.SyncKey
			if newMeta == oldMeta {
				return res, nil
			}
			req.Pending, req.SyncKey, req.PrevSyncKey = col.Pending, col.SyncKey, col.PrevSyncKey
		} else {
			req.ApplyPending = true
			req.SyncKey, req.PrevSyncKey = nextKey(col.SyncKey), col.SyncKey
		}
	case keyPrevious:
		req.SyncKey, req.PrevSyncKey = col.SyncKey, col.PrevSyncKey
	}
	if _, err := j.m.store.Commit(ctx, j.user, j.deviceID, j.c.CollectionID, col.Generation, req); err != nil {
		return nil, commitErr(err)
	}
	res.SyncKey = req.SyncKey
	return res, nil
}

// commitErr makes a lost CAS race retryable for the front (Sync Status
// 111 / HTTP 503): the request changed no sync state.
func commitErr(err error) error {
	if errors.Is(err, state.ErrConflict) {
		return fmt.Errorf("%w: sync state changed concurrently: %w", activesync.ErrUnavailable, err)
	}
	return fmt.Errorf("commit sync state: %w", err)
}
