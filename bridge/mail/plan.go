package mail

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/bridge/mailid"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

// errUIDValidity: the mailbox was recreated upstream; every item ID the
// device holds for it is meaningless now (RFC 3501 2.3.1.1).
var errUIDValidity = errors.New("bridge: UIDVALIDITY changed")

// flagChange is a message whose flags differ from what the device holds.
type flagChange struct {
	uid   uint32
	flags []string
}

// mailPlan is what the next Sync of a folder would send, computed without
// fetching any message body.
type mailPlan struct {
	st          imap.Status // what the plan saw upstream
	unchanged   bool        // STATUS matched the stored state: nothing to do
	deletes     []uint32    // expunged upstream
	softDeletes []uint32    // still upstream, but out of the filter window
	changes     []flagChange
	adds        []uint32 // newest first
	basis       uint64   // the CHANGEDSINCE basis used (0: all flags compared)
}

func (p *mailPlan) count() int {
	return len(p.deletes) + len(p.softDeletes) + len(p.changes) + len(p.adds)
}

// planInput is what planning needs to know about the collection.
type planInput struct {
	user, deviceID string
	folderID       string
	mailbox        string
	col            *state.Collection
	role           engine.Role
	meta           mailMeta
	filter         int
	now            time.Time
	// shortcut allows answering "unchanged" from one STATUS.
	shortcut bool
	// applied is what this request already changed on the device's behalf
	// (its own Changes and Deletes), not yet committed.
	applied *state.Delta
}

// cheapEligible says whether the stored Meta is an exact basis for an
// incremental diff: the device holds everything up to it.
func (in planInput) cheapEligible(s *imap.Session) bool {
	return in.role == engine.Current && !in.meta.full && s.Caps().CondStore &&
		in.meta.modSeq > 0 && in.meta.filter == in.filter
}

// planMail computes the server's changes for a collection. The session is
// left with the mailbox selected (read-write).
func (m *Engine) planMail(ctx context.Context, s *imap.Session, in planInput) (*mailPlan, error) {
	// One SELECT answers "did anything change?" (UIDVALIDITY, UIDNEXT,
	// EXISTS, HIGHESTMODSEQ) and leaves the mailbox ready for the diff.
	// STATUS would be as cheap but Dovecot answers it for the selected
	// mailbox from the session's stale view, and pooled sessions usually
	// have the folder selected from the previous request.
	st, err := s.Select(ctx, in.mailbox, false)
	if err != nil {
		return nil, err
	}
	if in.meta.uidValidity != 0 && st.UIDValidity != in.meta.uidValidity {
		return nil, errUIDValidity
	}
	cheap := in.cheapEligible(s)
	if cheap && in.shortcut && in.meta.sameUpstream(st) {
		return &mailPlan{st: st, unchanged: true, basis: in.meta.modSeq}, nil
	}
	since := filterSince(in.filter, in.now)
	if cheap {
		p, ok, err := m.planIncremental(ctx, s, in, st, since)
		if err != nil || ok {
			return p, err
		}
	}
	return m.planWindow(ctx, s, in, st, since)
}

// planIncremental diffs from the stored basis: new UIDs above the old
// UIDNEXT and flags changed since the old HIGHESTMODSEQ, reading only
// those entries of the snapshot. ok is false when MESSAGES says something
// was expunged, which only a full comparison can place.
func (m *Engine) planIncremental(ctx context.Context, s *imap.Session, in planInput, st imap.Status, since time.Time) (*mailPlan, bool, error) {
	d, ok, err := fetchIncremental(ctx, s, in.meta, st, since)
	if err != nil || !ok {
		return nil, ok, err
	}
	p, err := m.applyIncremental(ctx, in, d)
	return p, err == nil, err
}

// incremental is the upstream half of an incremental plan: what moved in
// the mailbox since a basis, the same for every device holding that basis
// with that filter (recheck_shared.go shares it between them).
type incremental struct {
	st    imap.Status
	fresh []imap.FlagInfo // above the basis UIDNEXT, in the filter window, sorted
	old   []imap.FlagInfo // at or below it, flags changed since the basis MODSEQ
}

// fetchIncremental asks the provider what moved since basis (the mailbox
// selected, st its SELECT). ok is false when MESSAGES says something was
// expunged.
func fetchIncremental(ctx context.Context, s *imap.Session, basis mailMeta, st imap.Status, since time.Time) (*incremental, bool, error) {
	infos, err := s.FetchFlags(ctx, imap.AllUIDs(), basis.modSeq)
	if err != nil {
		return nil, false, err
	}
	d := &incremental{st: st}
	for _, f := range infos {
		switch {
		case f.UID >= st.UIDNext:
			// Arrived after our SELECT: the next pass takes it.
		case f.UID >= basis.uidNext:
			d.fresh = append(d.fresh, f)
		default:
			d.old = append(d.old, f)
		}
	}
	if st.Messages != basis.messages+uint32(len(d.fresh)) {
		return nil, false, nil
	}
	if !since.IsZero() && len(d.fresh) > 0 {
		// Only the new arrivals' range: on a big folder the answer stays
		// a few UIDs instead of the whole filter window. fresh is sorted.
		inWin, err := s.SearchUIDRange(ctx, d.fresh[0].UID, d.fresh[len(d.fresh)-1].UID, since)
		if err != nil {
			return nil, false, err
		}
		d.fresh = slices.DeleteFunc(d.fresh, func(f imap.FlagInfo) bool {
			_, found := slices.BinarySearch(inWin, f.UID)
			return !found
		})
	}
	return d, true, nil
}

// applyIncremental is the device's half: d against the device's own
// snapshot, so its own changes are no news to it (no echo).
func (m *Engine) applyIncremental(ctx context.Context, in planInput, d *incremental) (*mailPlan, error) {
	ids := make([]string, 0, len(d.fresh)+len(d.old))
	for _, f := range d.fresh {
		ids = append(ids, mailid.Item(in.folderID, f.UID))
	}
	for _, f := range d.old {
		ids = append(ids, mailid.Item(in.folderID, f.UID))
	}
	view, err := m.partialView(ctx, in, ids)
	if err != nil {
		return nil, err
	}
	p := &mailPlan{st: d.st, basis: in.meta.modSeq}
	for _, f := range d.old {
		if sig, ok := view[mailid.Item(in.folderID, f.UID)]; ok && sig != flagSignature(f.Flags) {
			p.changes = append(p.changes, flagChange{uid: f.UID, flags: f.Flags})
		}
	}
	for i := len(d.fresh) - 1; i >= 0; i-- {
		if _, ok := view[mailid.Item(in.folderID, d.fresh[i].UID)]; !ok {
			p.adds = append(p.adds, d.fresh[i].UID)
		}
	}
	return p, nil
}

// planWindow compares the whole filter window with the device's snapshot:
// initial fill, a window that did not fit one answer, expunges, a changed
// filter, a resent key, servers without CONDSTORE. Still O(1) commands:
// one SEARCH, one FETCH of flags (CHANGEDSINCE when the basis allows),
// and a second SEARCH only when items left a filter window.
func (m *Engine) planWindow(ctx context.Context, s *imap.Session, in planInput, st imap.Status, since time.Time) (*mailPlan, error) {
	window, err := s.SearchUIDs(ctx, since)
	if err != nil {
		return nil, err
	}
	window = slices.DeleteFunc(window, func(u uint32) bool { return u >= st.UIDNext })
	view, err := m.fullView(ctx, in)
	if err != nil {
		return nil, err
	}
	p := &mailPlan{st: st}
	if in.role == engine.Current && s.Caps().CondStore {
		p.basis = in.meta.modSeq
	}
	inWindow := func(u uint32) bool { _, ok := slices.BinarySearch(window, u); return ok }

	onDevice := make([]uint32, 0, len(view))
	for id := range view {
		f, uid, ok := mailid.ParseItem(id)
		if !ok || f != in.folderID {
			continue
		}
		onDevice = append(onDevice, uid)
	}
	slices.Sort(onDevice)
	var everything []uint32
	for _, uid := range onDevice {
		if inWindow(uid) {
			continue
		}
		if since.IsZero() {
			p.deletes = append(p.deletes, uid)
			continue
		}
		if everything == nil {
			if everything, err = s.SearchUIDs(ctx, time.Time{}); err != nil {
				return nil, err
			}
		}
		if _, exists := slices.BinarySearch(everything, uid); exists {
			p.softDeletes = append(p.softDeletes, uid)
		} else {
			p.deletes = append(p.deletes, uid)
		}
	}
	if len(onDevice) > 0 {
		infos, err := s.FetchFlags(ctx, imap.AllUIDs(), p.basis)
		if err != nil {
			return nil, err
		}
		for _, f := range infos {
			if f.UID >= st.UIDNext || !inWindow(f.UID) {
				continue
			}
			if sig, ok := view[mailid.Item(in.folderID, f.UID)]; ok && sig != flagSignature(f.Flags) {
				p.changes = append(p.changes, flagChange{uid: f.UID, flags: f.Flags})
			}
		}
	}
	for i := len(window) - 1; i >= 0; i-- {
		if _, ok := view[mailid.Item(in.folderID, window[i])]; !ok {
			p.adds = append(p.adds, window[i])
		}
	}
	return p, nil
}

// fullView is the device's whole snapshot as this request sees it.
func (m *Engine) fullView(ctx context.Context, in planInput) (map[string]string, error) {
	view, err := engine.DeviceView(ctx, m.store, in.user, in.deviceID, in.folderID, in.col, in.role)
	if err != nil {
		return nil, err
	}
	engine.FoldDelta(view, in.applied)
	return view, nil
}

// partialView is the device's snapshot restricted to ids, with this
// request's own changes over it.
func (m *Engine) partialView(ctx context.Context, in planInput, ids []string) (map[string]string, error) {
	view, err := engine.DeviceViewOf(ctx, m.store, in.user, in.deviceID, in.folderID, in.col, in.role, ids)
	if err != nil {
		return nil, err
	}
	engine.FoldDeltaOf(view, in.applied, ids)
	return view, nil
}
