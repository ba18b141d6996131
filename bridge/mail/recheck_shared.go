package mail

import (
	"context"
	"sync"
	"time"

	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/bridge/login"
	"github.com/idlebridge/idlebridge/bridge/outage"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

// RecheckByShared is Options.OnRecheck's outcome for a re-check answered
// from another device's upstream fetch of the same data.
const RecheckByShared = "shared"

// sharedLife is how long a finished shared fetch answers later re-checks
// of the same key: long enough for every device woken by one change to
// be re-checked, short enough that the map stays small. Correctness does
// not hang on it: the key holds the record, so a newer record or a stale
// mark (which hides the record) never finds the entry.
const sharedLife = 3 * time.Second

// sharedWait bounds how long a re-check waits for another's fetch before
// it asks the provider itself, well inside the push hub's check timeout.
const sharedWait = 5 * time.Second

// sharedKey is exactly what a re-check's upstream data depends on: the
// mailbox, the device's basis and filter, and the version record the
// re-check was started for (its time too, so a re-observation of the same
// status is a new key).
type sharedKey struct {
	user, mailbox        string
	uidValidity, uidNext uint32
	modSeq               uint64
	messages             uint32
	filter               int
	rec                  state.UpstreamVersion
	recAt                int64
}

// sharedFetch is one upstream fetch for a sharedKey and its outcome.
type sharedFetch struct {
	done    chan struct{}
	d       *incremental // nil: not usable, each device asks the provider itself
	expires time.Time
}

// sharedRechecks holds the fetches in flight and the recent ones.
type sharedRechecks struct {
	mu sync.Mutex
	m  map[sharedKey]*sharedFetch
	// Test seams: life replaces sharedLife when set; afterFetch runs
	// between the upstream fetch and the record's second read.
	life       time.Duration
	afterFetch func()
}

// forget drops the entries of a mailbox the bridge is about to change.
func (r *sharedRechecks) forget(user string, mailboxes []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k := range r.m {
		if k.user != user {
			continue
		}
		for _, mb := range mailboxes {
			if k.mailbox == mb {
				delete(r.m, k)
			}
		}
	}
}

// recheckShared answers a woken device's re-check from one upstream fetch
// shared by every device of the user with the same basis, filter and
// record: when the watcher records a delivery, all of the user's parked
// devices differ from the record by the same thing, and one SELECT +
// FETCH CHANGEDSINCE (+ the filter's SEARCH) tells each of them what
// moved; each then compares it with its own snapshot (applyIncremental),
// so the no-echo rule and the filter stay per device.
//
// used is false when the shared path cannot answer (not an exact
// incremental basis, an expunge, no CONDSTORE, UIDVALIDITY changed, the
// fetch failed, or the record changed or went stale while it ran): the
// caller then asks the provider for this device alone, as before. A Ping's
// first check never shares (its changes are older than any fetch in
// flight could promise to cover).
func (m *Engine) recheckShared(ctx context.Context, acct *login.Account, deviceID, collectionID, mailbox string, col *state.Collection, mm mailMeta, rec state.UpstreamVersion) (n int, used bool, err error) {
	if mm.full || mm.modSeq == 0 || mm.uidValidity == 0 || engine.Classify(col, col.SyncKey) != engine.Current {
		return 0, false, nil
	}
	user := acct.Address()
	key := sharedKey{
		user: user, mailbox: mailbox, uidValidity: mm.uidValidity, uidNext: mm.uidNext, modSeq: mm.modSeq,
		messages: mm.messages, filter: mm.filter, rec: rec, recAt: rec.At.UnixNano(),
	}
	key.rec.At = time.Time{}
	f, leader := m.shared.join(key, time.Now())
	if leader {
		func() {
			// Finished whatever happens, or the devices waiting on it
			// would wait out their checks' timeout and miss the change.
			defer m.shared.finish(f)
			f.d = m.fetchShared(ctx, acct, mailbox, mm, rec)
		}()
	} else {
		wait := time.NewTimer(sharedWait)
		defer wait.Stop()
		select {
		case <-f.done:
		case <-wait.C:
			return 0, false, nil // a slow leader: ask for this device alone
		case <-ctx.Done():
			return 0, false, ctx.Err()
		}
	}
	if f.d == nil {
		return 0, false, nil
	}
	if leader {
		m.rechecked(RecheckByUpstream)
	} else {
		m.rechecked(RecheckByShared)
	}
	in := planInput{
		user: user, deviceID: deviceID, folderID: collectionID, mailbox: mailbox,
		col: col, role: engine.Current, meta: mm, filter: mm.filter,
	}
	if mm.sameUpstream(f.d.st) {
		return 0, true, nil
	}
	p, err := m.applyIncremental(ctx, in, f.d)
	if err != nil {
		return 0, true, outage.Store(err)
	}
	return p.count(), true, nil
}

// join returns the fetch for key, starting one (leader) when none is in
// flight or fresh.
func (r *sharedRechecks) join(key sharedKey, now time.Time) (*sharedFetch, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if f, ok := r.m[key]; ok && (f.expires.IsZero() || now.Before(f.expires)) {
		return f, false
	}
	if r.m == nil {
		r.m = map[sharedKey]*sharedFetch{}
	}
	for k, f := range r.m {
		if !f.expires.IsZero() && !now.Before(f.expires) {
			delete(r.m, k)
		}
	}
	f := &sharedFetch{done: make(chan struct{})}
	r.m[key] = f
	return f, true
}

// finish publishes f's outcome. An unusable one is kept too: it only
// sends the key's later re-checks upstream on their own, without a second
// fetch that would come to the same (an expunge stays an expunge).
func (r *sharedRechecks) finish(f *sharedFetch) {
	r.mu.Lock()
	life := sharedLife
	if r.life > 0 {
		life = r.life
	}
	f.expires = time.Now().Add(life)
	r.mu.Unlock()
	close(f.done)
}

// fetchShared is the upstream half, or nil when it cannot serve the key.
// The record is read again after the fetch: if it moved or was marked
// stale meanwhile, the fetch may predate a change the record knows of,
// so nobody is answered from it.
func (m *Engine) fetchShared(ctx context.Context, acct *login.Account, mailbox string, basis mailMeta, rec state.UpstreamVersion) *incremental {
	var d *incremental
	err := m.withSession(ctx, acct, "GetItemEstimate", func(s *imap.Session) error {
		if !s.Caps().CondStore {
			return nil
		}
		st, err := s.Select(ctx, mailbox, false)
		if err != nil || st.UIDValidity != basis.uidValidity || !covers(st, rec) {
			return err
		}
		if basis.sameUpstream(st) {
			d = &incremental{st: st}
			return nil
		}
		got, ok, err := fetchIncremental(ctx, s, basis, st, filterSince(basis.filter, time.Now()))
		if ok {
			d = got
		}
		return err
	})
	if err != nil || d == nil {
		return nil
	}
	if m.shared.afterFetch != nil {
		m.shared.afterFetch()
	}
	v, ok, err := m.store.GetVersion(ctx, acct.Address(), mailbox, time.Now())
	if err != nil || !ok || !sameRecord(v, rec) {
		return nil
	}
	return d
}

// covers reports whether a SELECT saw at least what the record says. One
// that did not (a view older than the watcher's notice, or a record from
// elsewhere) would tell every device sharing it "unchanged" for a change
// the record announced and nothing would announce again: each device
// asks for itself instead.
func covers(st imap.Status, rec state.UpstreamVersion) bool {
	return st.UIDValidity == rec.UIDValidity && st.UIDNext >= rec.UIDNext && st.HighestModSeq >= rec.ModSeq
}

// sameRecord reports whether two reads of a version record saw the same
// observation.
func sameRecord(a, b state.UpstreamVersion) bool {
	return a.UIDValidity == b.UIDValidity && a.UIDNext == b.UIDNext && a.ModSeq == b.ModSeq &&
		a.Messages == b.Messages && a.Live == b.Live && a.At.Equal(b.At)
}
