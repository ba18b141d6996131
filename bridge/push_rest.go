package bridge

import (
	"context"
	"slices"
	"time"
)

// A watched user at rest costs the shared tick almost nothing. Every tick
// (LeaseTTL/3) used to run a pass of the user's manager on a goroutine of
// its own, and every third pass re-read the user's watched union from the
// store: at 10 000 users on Redis that was a thousand goroutines and over
// three hundred round trips a second, most of an idle bridge's CPU, to
// find that nothing had changed. Now the tick renews the due users'
// leases in one call (push_lease.go), re-reads the due users' unions in
// one call (WatchedMany), and kicks a pass only for a user where
// something is, or may be, different:
//
//   - its last pass did not settle (the lease not held, a store call or
//     the bus subscription failed);
//   - the lease renewal failed or was fenced;
//   - the re-read union differs from the one the last pass applied;
//   - this instance's entry no longer matches what is parked here
//     (syncEntry has a write to do; a renewal of its deadline alone is
//     queued for the batch here, as syncEntry would);
//   - nothing of the user is parked here (the pass decides whether the
//     user went quiet);
//   - every fullPassEvery-th tick regardless, so a condition missed here
//     costs at most that long.
//
// Everything else a pass reacts to arrives as an event that kicks it
// directly: a request's new folders or credentials (update), another
// instance's entry (the follower), the connection's mode (mailWatch).

// rereadEvery is how many ticks apart the tick re-reads a user's union
// (a lapsed entry, a lost event), as the passes did before.
const rereadEvery = 3

// fullPassEvery is how many ticks apart a user at rest gets a pass anyway.
const fullPassEvery = 6

// watchedRead is the tick's re-read of one user's union, for the next pass.
type watchedRead struct {
	ids []string
	err error
}

// rereadWatched reads the unions of users in one store call and leaves
// each outcome for the user's next pass.
func (p *Push) rereadWatched(users []*userWatch) {
	if len(users) == 0 {
		return
	}
	names := make([]string, len(users))
	for i, uw := range users {
		names[i] = uw.user
	}
	ctx, cancel := context.WithTimeout(p.ctx, p.opts.LeaseTTL/3)
	sets, err := p.store.WatchedMany(ctx, names, time.Now())
	cancel()
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, uw := range users {
		r := &watchedRead{err: err}
		if err == nil && i < len(sets) {
			r.ids = sets[i]
		}
		uw.watchedRead = r
	}
}

// takeWatchedRead returns the tick's re-read since the last pass, if any.
func (uw *userWatch) takeWatchedRead() *watchedRead {
	uw.p.mu.Lock()
	defer uw.p.mu.Unlock()
	r := uw.watchedRead
	uw.watchedRead = nil
	return r
}

func (uw *userWatch) setWatchedIDs(ids []string) {
	uw.p.mu.Lock()
	uw.watchedIDs = ids
	uw.p.mu.Unlock()
}

func (uw *userWatch) setSettled(v bool) {
	uw.p.mu.Lock()
	uw.settled = v
	uw.p.mu.Unlock()
}

// atRest reports whether the tick just taken brings the user's manager
// nothing to do, so no pass is needed; the tick's outcomes it consumed
// (a successful renewal, an unchanged union) are dropped.
func (uw *userWatch) atRest() bool {
	p := uw.p
	p.mu.Lock()
	rest := uw.settled && !uw.stopping && uw.ticks%fullPassEvery != 0 && uw.leaseToken != 0 &&
		(uw.renewed == nil || uw.renewed.token == uw.leaseToken && uw.renewed.err == nil) &&
		(uw.watchedRead == nil || uw.watchedRead.err == nil && slices.Equal(uw.watchedRead.ids, uw.watchedIDs)) &&
		p.parkedFor(uw.user)
	var local []string
	e := p.entries[uw.user]
	if rest {
		local = p.localWatched(uw.user)
	}
	p.mu.Unlock()
	if !rest || e == nil || !e.mu.TryLock() {
		return false
	}
	// What syncEntry would find: nothing to write, at most a renewal of
	// the deadline to queue, which is done here as it would.
	write, renew := p.entryDue(local, e)
	e.mu.Unlock()
	if write {
		return false
	}
	if renew {
		p.queueRenewal(uw.user)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !uw.settled {
		return false // a pass ran meanwhile and did not settle
	}
	uw.renewed, uw.watchedRead = nil, nil
	return true
}
