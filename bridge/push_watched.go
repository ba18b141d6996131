package bridge

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/bridge/state"
)

// The watched set across instances. One instance (the lease holder) runs
// a user's upstream watcher, but the user's devices may park anywhere: a
// tablet's Ping for "Work" on instance B must be woken by the watcher on
// A. So each instance writes, per user, the folders parked on it to the
// store (state.Watches), with a deadline it renews while they stay
// parked, and announces a change of its entry on the bus; the holder
// watches the union of every live entry and its own folders. An instance
// that dies stops renewing, and its entry lapses.
//
// Growing is immediate (a Ping waits on it); shrinking waits for the next
// pass of the user's watch manager, so a device that Pings again right after
// its answer costs no store write: watching a folder a little too long is
// harmless, not watching one a device waits on is lost mail.

// watchedCollection marks bus events that say "an instance's watched set
// for this user changed"; it is not a folder ID.
const watchedCollection = "~watched"

// watchedEntry is what this instance last wrote of one user's entry.
type watchedEntry struct {
	mu      sync.Mutex // serializes writes of the entry
	written []string
	until   time.Time
}

// entryTTL is how long an entry outlives its last renewal: long enough
// that renewals (every few lease ticks) are rare, short enough that a dead
// instance's folders are not watched for long.
func (p *Push) entryTTL() time.Duration { return 4 * p.opts.LeaseTTL }

// localWatched returns the folders parked on this instance for user,
// sorted. Called with p.mu held.
func (p *Push) localWatched(user string) []string {
	var out []string
	if up := p.byUser[user]; up != nil {
		for _, pk := range up.parks {
			out = append(out, pk.folders...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (p *Push) entry(user string) *watchedEntry {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.entries[user]
	if e == nil {
		e = &watchedEntry{}
		p.entries[user] = e
	}
	return e
}

// growEntry makes this instance's entry hold folders before a Ping on
// them parks.
func (p *Push) growEntry(ctx context.Context, user string, folders []string) error {
	e := p.entry(user)
	e.mu.Lock()
	defer e.mu.Unlock()
	fresh := time.Until(e.until) > p.entryTTL()/2
	if fresh && containsAll(e.written, folders) {
		return nil
	}
	p.mu.Lock()
	set := append(p.localWatched(user), e.written...)
	p.mu.Unlock()
	set = append(set, folders...)
	slices.Sort(set)
	return p.writeEntry(ctx, user, e, slices.Compact(set))
}

// syncEntry rewrites this instance's entry to what is parked here now
// (dropping folders no longer parked, removing it when none is) and
// renews it when half its time has passed.
func (p *Push) syncEntry(ctx context.Context, user string) error {
	p.mu.Lock()
	e := p.entries[user]
	local := p.localWatched(user)
	p.mu.Unlock()
	if e == nil {
		if len(local) == 0 {
			return nil
		}
		e = p.entry(user)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	write, renew := p.entryDue(local, e)
	if renew {
		// Only the deadline is due: renewed with the other users' in
		// one store write (push_renew.go).
		p.queueRenewal(user)
	}
	if !write {
		return nil
	}
	if err := p.writeEntry(ctx, user, e, local); err != nil {
		return err
	}
	if len(local) == 0 {
		p.mu.Lock()
		if p.entries[user] == e && len(p.localWatched(user)) == 0 {
			delete(p.entries, user)
		}
		p.mu.Unlock()
	}
	return nil
}

// entryDue says what the entry needs for local, the folders parked here
// now: a write (they differ from what it holds), or only a renewal of its
// deadline (half its time has passed). Called with e.mu held.
func (p *Push) entryDue(local []string, e *watchedEntry) (write, renew bool) {
	if !slices.Equal(local, e.written) {
		return true, false
	}
	return false, len(local) > 0 && time.Until(e.until) <= p.entryTTL()/2
}

// writeEntry stores set as this instance's entry and tells the lease
// holder when it changed. Called with e.mu held.
func (p *Push) writeEntry(ctx context.Context, user string, e *watchedEntry, set []string) error {
	until := time.Now().Add(p.entryTTL())
	if err := p.store.SetWatched(ctx, user, p.opts.Instance, set, until); err != nil {
		return err
	}
	changed := !slices.Equal(set, e.written)
	e.written, e.until = set, until
	if changed {
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		if err := p.bus.Publish(pctx, state.Change{User: user, Collection: watchedCollection, At: time.Now()}); err != nil {
			// The holder re-reads the set on its own ticks too.
			p.log.Warn("push: announcing the watched folders failed", "user", user, "err", err)
		}
	}
	return nil
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// remoteWatched resolves ids, the union of every instance's entry for the
// user as read from the store, in the folder map, without the folders
// already in local: mailboxes, and the refs of other kinds for their
// classes' watchers.
func (p *Push) remoteWatched(ctx context.Context, user string, ids []string, local map[string]string, localRefs map[string]engine.Ref) (map[string]string, map[string]engine.Ref, error) {
	out, refs := map[string]string{}, map[string]engine.Ref{}
	for _, id := range ids {
		if _, ok := local[id]; ok {
			continue
		}
		if _, ok := localRefs[id]; ok {
			continue
		}
		r, ok, err := p.check.refOf(ctx, user, id)
		if err != nil {
			return nil, nil, err
		}
		switch {
		case !ok:
		case r.Kind == engine.KindMail:
			out[id] = r.Path
		default:
			refs[id] = r
		}
	}
	return out, refs, nil
}

// follower is the lease holder's subscription to the user's bus events:
// another instance's watched set changed, or events were lost, and the
// union is read again on the manager's next pass, which it kicks. Most of
// the user's events are mail changes for the parked requests and are
// dropped here.
type follower struct {
	sub   state.Subscription
	drain serial
	ended atomic.Bool // the subscription closed underneath: subscribe anew
	// stopReader ends the goroutine that reads a subscription which
	// cannot call back (nil with a state.Notifier).
	stopReader context.CancelFunc
}

// followWatched subscribes the lease holder to the user's bus events. It
// ends with close.
func (uw *userWatch) followWatched(ctx context.Context) (*follower, error) {
	sub, err := uw.p.bus.Subscribe(ctx, uw.user)
	if err != nil {
		return nil, err
	}
	f := &follower{sub: sub}
	if n, ok := sub.(state.Notifier); ok {
		n.Notify(func() { f.drain.kick(&uw.p.wg, func() { f.read(uw, false) }) })
		return f, nil
	}
	rctx, cancel := context.WithCancel(ctx)
	f.stopReader = cancel
	uw.p.wg.Add(1)
	go func() {
		defer uw.p.wg.Done()
		for rctx.Err() == nil && f.read(uw, true) {
		}
	}()
	return f, nil
}

// read takes what the subscription holds (waiting for the next when
// block) and reports whether the subscription goes on.
func (f *follower) read(uw *userWatch, block bool) bool {
	if block {
		select {
		case ch, ok := <-f.sub.Changes():
			return f.take(uw, ch, ok)
		case <-f.sub.Resync():
			uw.setReread()
			uw.kick()
			return true
		}
	}
	for {
		select {
		case ch, ok := <-f.sub.Changes():
			if !f.take(uw, ch, ok) {
				return false
			}
		case <-f.sub.Resync():
			uw.setReread()
			uw.kick()
		default:
			return true
		}
	}
}

// take handles one event; false once the subscription ended.
func (f *follower) take(uw *userWatch, ch state.Change, ok bool) bool {
	if !ok {
		if !f.ended.Swap(true) {
			uw.setReread()
			uw.kick()
		}
		return false
	}
	if ch.Collection == watchedCollection {
		uw.setReread()
		uw.kick()
	}
	return true
}

func (f *follower) close() {
	if f.stopReader != nil {
		f.stopReader()
	}
	f.ended.Store(true)
	_ = f.sub.Close()
}
