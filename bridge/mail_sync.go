package bridge

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/engine"
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
	mailbox, ok, err := m.mailboxOf(ctx, acct.Address(), c.CollectionID)
	if err != nil {
		return nil, storeErr(err)
	}
	if !ok {
		return &activesync.SyncResult{Status: activesync.SyncStatusNotFound, SyncKey: c.SyncKey}, nil
	}
	return m.syncMailbox(ctx, acct, deviceID, c, mailbox)
}

// syncMailbox is SyncCollection once the collection is known to be
// mailbox (the Bridge resolved it in the folder map).
func (m *Mail) syncMailbox(ctx context.Context, acct *Account, deviceID string, c *activesync.SyncCollection, mailbox string) (*activesync.SyncResult, error) {
	user := acct.Address()
	col, err := engine.Header(ctx, m.store, user, deviceID, c.CollectionID)
	if err != nil {
		return nil, storeErr(err)
	}
	role := engine.Classify(col, c.SyncKey)
	if role == engine.Unknown {
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
	role           engine.Role
	mailbox        string
	opts           mailconv.Options
}

func (j *syncJob) run(ctx context.Context, s *imap.Session) (*activesync.SyncResult, error) {
	if j.role == engine.Initial {
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
		return nil, engine.CommitErr(err)
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

// commit stores the answer's delta and picks the key it carries, by the
// engine's one key rule (engine.Commit). The mail meta is compared parsed
// first: an answer with nothing for the device and the same state writes
// nothing.
func (j *syncJob) commit(ctx context.Context, res *activesync.SyncResult, applied, pending *state.Delta, newMeta, oldMeta mailMeta) (*activesync.SyncResult, error) {
	if j.role == engine.Current && pending.Empty() && len(j.c.Commands) == 0 && newMeta == oldMeta {
		res.SyncKey = j.col.SyncKey
		return res, nil
	}
	key, err := engine.Commit(ctx, j.m.store, j.user, j.deviceID, j.c.CollectionID, j.col, j.role, engine.Answer{
		Applied: applied, Pending: pending, Meta: newMeta.encode(), Commands: len(j.c.Commands),
	})
	if err != nil {
		return nil, err
	}
	res.SyncKey = key
	return res, nil
}
