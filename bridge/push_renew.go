package bridge

import (
	"context"
	"slices"
	"time"

	"github.com/idlebridge/idlebridge/bridge/state"
)

// Renewing the watched-set entries in batches. An entry whose folders did
// not change only needs its deadline pushed out, about once a minute per
// parked user; written one by one that is a store commit (and, on the
// embedded store, an fdatasync) per user per minute, the bulk of an idle
// bridge's CPU at thousands of users. So the users' watch managers only
// queue such renewals, and the hub's shared tick (push_wheel.go) writes
// all queued ones in a single SetWatchedBatch every renewEvery. A renewal is queued when half
// of entryTTL is left, so waiting renewEvery more (a third of the lease
// TTL, an eighth of entryTTL) leaves the entry valid throughout.

// renewEvery is how often queued renewals are written.
func (p *Push) renewEvery() time.Duration { return p.opts.LeaseTTL / 3 }

// queueRenewal asks the renewer to push out user's entry deadline.
func (p *Push) queueRenewal(user string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	if p.renewals == nil {
		p.renewals = map[string]struct{}{}
	}
	p.renewals[user] = struct{}{}
	p.startWheel()
}

// renewQueued writes every queued renewal still wanted in one batch. Each
// entry's lock is held from the check to the write, so a concurrent
// growEntry cannot be overwritten by the older set.
func (p *Push) renewQueued() {
	p.mu.Lock()
	users := make([]string, 0, len(p.renewals))
	for u := range p.renewals {
		users = append(users, u)
	}
	clear(p.renewals)
	p.mu.Unlock()
	if len(users) == 0 {
		return
	}
	slices.Sort(users)
	until := time.Now().Add(p.entryTTL())
	var (
		batch  []state.WatchedEntry
		locked []*watchedEntry
	)
	defer func() {
		for _, e := range locked {
			e.mu.Unlock()
		}
	}()
	for _, u := range users {
		p.mu.Lock()
		e := p.entries[u]
		p.mu.Unlock()
		if e == nil {
			continue // its last request ended and the entry went
		}
		e.mu.Lock()
		p.mu.Lock()
		local := p.localWatched(u)
		p.mu.Unlock()
		if len(local) == 0 || !slices.Equal(local, e.written) || time.Until(e.until) > p.entryTTL()/2 {
			// Changed or renewed since: the watch manager writes it itself.
			e.mu.Unlock()
			continue
		}
		locked = append(locked, e)
		batch = append(batch, state.WatchedEntry{User: u, Folders: local, Until: until})
	}
	if len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(p.ctx, p.renewEvery())
	defer cancel()
	if err := p.store.SetWatchedBatch(ctx, p.opts.Instance, batch); err != nil {
		// The users' next ticks queue them again; the entries stay valid
		// for half of entryTTL after queueing.
		p.log.Warn("push: renewing the watched folders failed", "users", len(batch), "err", err)
		return
	}
	for _, e := range locked {
		e.until = until
	}
}
