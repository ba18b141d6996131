package mail

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/bridge/login"
	"github.com/idlebridge/idlebridge/bridge/mailconv"
	"github.com/idlebridge/idlebridge/bridge/mailid"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

// Mail as an engine.Source: the engine owns the keys, the window and the
// commit of a mail Sync; the job below does what only mail knows, on one
// pooled IMAP session per request:
//
//	Reset  = the STATUS that records the mailbox's identity (key 0)
//	Apply  = deviceCommands (flags, deletes, drafts)
//	Plan   = planMail (one SELECT when nothing moved)
//	Fetch  = flag changes from the plan, bodies by fetchItems, and the
//	         placeholder of a message given up
//	Finish = the collection's mail Meta, with the skipped-message book
//
// errUIDValidity is engine.ErrResync (Status 3) and a mailbox the server
// refuses is engine.ErrGone (Status 12). The job serves Sync only;
// GetItemEstimate, Ping's re-check and ItemOperations keep mail's own
// paths, which the round-trip tests pin.
type mailSource struct{ m *Engine }

// Open takes one IMAP session of the user from the pool.
func (src mailSource) Open(ctx context.Context, c *engine.Call) (engine.Job, error) {
	if c.Sync == nil {
		return nil, errors.New("bridge: the mail source serves Sync only")
	}
	m := src.m
	acct := &login.Account{Principal: c.Principal}
	s, release, err := m.up.Acquire(ctx, acct)
	if err != nil {
		return nil, err
	}
	j := &mailJob{
		syncJob: syncJob{
			m: m, user: c.User, deviceID: c.DeviceID, c: c.Sync, col: c.Header, role: c.Role,
			mailbox: c.Ref.Path, opts: convOptions(c.Sync.Version, c.Sync.Options),
		},
		s: s, release: release, before: s.Stats().Commands, acct: acct,
		applied: &state.Delta{Set: map[string]string{}},
	}
	if c.Header != nil {
		j.mm = parseMailMeta(c.Header.Meta)
	}
	return j, nil
}

// mailJob is one Sync of one mailbox.
type mailJob struct {
	syncJob
	acct    *login.Account
	s       *imap.Session
	release func(broken bool)
	before  int64

	mm      mailMeta     // the collection's state, updated by the device's commands
	applied *state.Delta // what the device's commands changed, for the plan
	plan    *mailPlan    // nil until Plan
	in      planInput
	changes map[string]flagChange // the plan's flag changes by item ID
	failed  map[uint32]bool       // messages of this window booked for a retry
	sent    map[uint32]bool       // messages of this window sent (placeholders too)
}

// mailErr gives the engine its two statuses (and logs them, as the
// request path always did).
func (j *mailJob) mailErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errUIDValidity):
		j.m.log.Info("sync: UIDVALIDITY changed, device must resync", "user", j.user, "device", j.deviceID, "collection", j.c.CollectionID)
		return fmt.Errorf("%w: %w", engine.ErrResync, err)
	case isServerNo(err):
		// The mailbox is in the map but the provider no longer has it:
		// the hierarchy changed under the device (FolderSync will tell).
		j.m.log.Info("sync: mailbox refused", "user", j.user, "device", j.deviceID, "collection", j.c.CollectionID, "err", err)
		return fmt.Errorf("%w: %w", engine.ErrGone, err)
	}
	return err
}

// Reset records the mailbox's identity for key "1". The device holds
// nothing, so any basis is exact: the window fill compares flags only
// from here on.
func (j *mailJob) Reset(ctx context.Context) (map[string]string, error) {
	st, err := j.s.Status(ctx, j.mailbox)
	if err != nil {
		return nil, j.mailErr(err)
	}
	mm := mailMeta{
		uidValidity: st.UIDValidity, uidNext: st.UIDNext, modSeq: st.HighestModSeq,
		messages: st.Messages, filter: j.c.Options.FilterType, full: true,
	}
	return mm.encode(), nil
}

// Apply carries out the device's commands other than Fetch.
func (j *mailJob) Apply(ctx context.Context, cmds []activesync.SyncCommand) ([]activesync.SyncItemResponse, *state.Delta, error) {
	res := &activesync.SyncResult{}
	if edits(cmds) {
		if err := j.m.markChanging(ctx, j.user, j.mailbox); err != nil {
			return nil, nil, err
		}
	}
	removed, err := j.deviceCommands(ctx, j.s, cmds, &j.mm, res, j.applied)
	if err != nil {
		return nil, nil, j.mailErr(err)
	}
	j.mm.messages -= min(j.mm.messages, removed)
	return res.Responses, j.applied, nil
}

// Plan is planMail. It reads the device's view itself, through the same
// engine helpers the engine's View uses, so that the incremental diff
// reads only the snapshot entries it needs.
func (j *mailJob) Plan(ctx context.Context, _ engine.View) (*engine.Plan, error) {
	j.in = planInput{
		user: j.user, deviceID: j.deviceID, folderID: j.c.CollectionID, mailbox: j.mailbox,
		col: j.col, role: j.role, meta: j.mm, filter: j.c.Options.FilterType, now: time.Now(),
		shortcut: len(j.c.Commands) == 0, applied: j.applied,
	}
	p, err := j.m.planMail(ctx, j.s, j.in)
	if err != nil {
		return nil, j.mailErr(err)
	}
	j.plan = p
	out := &engine.Plan{Unchanged: p.unchanged, Versions: map[string]string{}}
	if p.unchanged {
		return out, nil
	}
	folder := j.c.CollectionID
	for _, uid := range p.deletes {
		out.Deletes = append(out.Deletes, mailid.Item(folder, uid))
	}
	for _, uid := range p.softDeletes {
		out.SoftDeletes = append(out.SoftDeletes, mailid.Item(folder, uid))
	}
	j.changes = make(map[string]flagChange, len(p.changes))
	for _, ch := range p.changes {
		id := mailid.Item(folder, ch.uid)
		j.changes[id] = ch
		out.Changes = append(out.Changes, id)
		out.Versions[id] = flagSignature(ch.flags)
	}
	for _, uid := range p.adds {
		out.Adds = append(out.Adds, mailid.Item(folder, uid))
	}
	return out, nil
}

// Fetch returns the window's items: flag changes (no body needed), then
// the new messages within the byte budget, then the placeholders of
// messages given up. Before Plan it answers the device's Fetch commands,
// one message each, as mail always did.
func (j *mailJob) Fetch(ctx context.Context, ids []string, b engine.Budget) ([]engine.Item, []string, bool, error) {
	if j.plan == nil {
		return j.fetchCommands(ctx, ids)
	}
	var items []engine.Item
	var skipped []string
	var adds []uint32
	for _, id := range ids {
		if ch, ok := j.changes[id]; ok {
			items = append(items, engine.Item{ServerID: id, Version: flagSignature(ch.flags), Data: mailconv.ChangeData(ch.flags, j.opts)})
			continue
		}
		if f, uid, ok := mailid.ParseItem(id); ok && f == j.c.CollectionID {
			adds = append(adds, uid)
		} else {
			skipped = append(skipped, id)
		}
	}
	fr, err := j.m.fetchItems(ctx, j.s, j.c.CollectionID, adds, j.opts, b.MaxBytes, b.FirstItemFree)
	if err != nil {
		return nil, nil, false, j.mailErr(err)
	}
	j.sent, j.failed = map[uint32]bool{}, map[uint32]bool{}
	for _, it := range fr.items {
		j.sent[it.uid] = true
		items = append(items, engine.Item{ServerID: it.id, Version: it.sig, Data: it.data})
		if it.cancel != nil && j.m.onCancel != nil {
			j.m.onCancel(ctx, j.acct, it.cancel)
		}
	}
	book := parseSkipBook(j.mm.skipped)
	for _, sum := range fr.failed {
		n := book[sum.UID] + 1
		id := mailid.Item(j.c.CollectionID, sum.UID)
		if n < j.m.opts.MaxFetchAttempts {
			j.failed[sum.UID] = true
			skipped = append(skipped, id)
			j.m.log.Warn("sync: message skipped, a later Sync tries again", "user", j.user, "device", j.deviceID,
				"folder", j.mailbox, "uid", sum.UID, "attempt", n)
			j.m.skipped(SkipRetry)
			continue
		}
		it := j.m.placeholder(j.c.CollectionID, sum, n, j.opts)
		j.sent[sum.UID] = true
		items = append(items, engine.Item{ServerID: id, Version: it.sig, Data: it.data})
		j.m.log.Error("sync: message given up after repeated fetch failures, the device gets a placeholder", "user", j.user,
			"device", j.deviceID, "folder", j.mailbox, "uid", sum.UID, "attempts", n)
		j.m.skipped(SkipGivenUp)
	}
	return items, skipped, fr.cut, nil
}

// fetchCommands answers the device's Fetch commands.
func (j *mailJob) fetchCommands(ctx context.Context, ids []string) ([]engine.Item, []string, bool, error) {
	if j.s.Selected() != j.mailbox {
		st, err := j.s.Select(ctx, j.mailbox, false)
		if err != nil {
			return nil, nil, false, j.mailErr(err)
		}
		if j.mm.uidValidity != 0 && st.UIDValidity != j.mm.uidValidity {
			return nil, nil, false, j.mailErr(errUIDValidity)
		}
	}
	var items []engine.Item
	var skipped []string
	for _, id := range ids {
		f, uid, ok := mailid.ParseItem(id)
		if !ok || f != j.c.CollectionID {
			skipped = append(skipped, id)
			continue
		}
		fr, err := j.m.fetchItems(ctx, j.s, f, []uint32{uid}, j.opts, 0, true)
		if err != nil {
			return nil, nil, false, j.mailErr(err)
		}
		if len(fr.items) == 0 {
			skipped = append(skipped, id)
			continue
		}
		items = append(items, engine.Item{ServerID: id, Version: fr.items[0].sig, Data: fr.items[0].data})
	}
	return items, skipped, false, nil
}

// Finish is the mail Meta the answer leaves: the plan's upstream state,
// "full" when the next pass must compare the whole window (the window was
// cut, or messages were booked), the skip book, and the basis kept when
// the window ended before the flag changes did (they are still owed).
func (j *mailJob) Finish(_ context.Context, o engine.Outcome) map[string]string {
	p := j.plan
	if o.Plan == nil || p == nil || p.unchanged {
		return j.mm.encode()
	}
	old := parseSkipBook(j.mm.skipped)
	book := skipBook{}
	for uid := range j.failed {
		book[uid] = old[uid] + 1
	}
	for _, uid := range p.adds {
		if n, ok := old[uid]; ok && !j.sent[uid] && !j.failed[uid] {
			book[uid] = n // not reached this time: carried over
		}
	}
	mm := mailMeta{
		uidValidity: p.st.UIDValidity, uidNext: p.st.UIDNext, modSeq: p.st.HighestModSeq,
		messages: p.st.Messages, filter: j.in.filter, full: o.More || len(book) > 0, skipped: book.encode(),
		drafts: j.mm.drafts,
	}
	if len(p.deletes)+len(p.softDeletes)+len(p.changes) > max(j.c.WindowSize, 1) {
		// Changes since the old basis are still owed: keep it.
		mm.modSeq = p.basis
	}
	return mm.encode()
}

// Close returns the session to the pool (a broken one is dropped) and
// reports what the request cost.
func (j *mailJob) Close(err error) {
	if j.m.opts.OnIMAP != nil {
		j.m.opts.OnIMAP("Sync", j.s.Stats().Commands-j.before)
	}
	j.release(errors.Is(err, imap.ErrBroken) || j.s.Broken())
}

var (
	_ engine.Source   = mailSource{}
	_ engine.Finisher = (*mailJob)(nil)
)

// edits says whether cmds change the mailbox upstream (anything but Fetch).
func edits(cmds []activesync.SyncCommand) bool {
	for _, c := range cmds {
		if c.Kind != "Fetch" {
			return true
		}
	}
	return false
}
