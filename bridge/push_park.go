package bridge

import (
	"context"
	"slices"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/state"
)

// The parking half of the push hub: parked requests per user, the user's
// dispatcher, re-checks, and answering.

// userParks is one user's parked requests on this instance and the one
// bus subscription that serves them all.
type userParks struct {
	user  string
	parks map[string]*park // by device
	ready chan struct{}    // closed once sub or err is set
	sub   state.Subscription
	err   error
	gone  bool   // no longer in Push.byUser: parks must not join it
	drain serial // reads sub when it calls back (state.Notifier)
}

// park is one Ping or hanging Sync waiting on this instance.
type park struct {
	acct    *Account
	user    string
	device  string
	folders []string // folder IDs, in request order
	start   time.Time
	done    func(changed []string, err error)

	// Guarded by Push.mu.
	up       *userParks // set once registered
	timer    *time.Timer
	finished bool
	checking bool      // a re-check runs; changes queue in pending
	pending  []string  // folders to re-check next
	wakeAt   time.Time // when the change under check was seen upstream
	first    bool      // the check on parking has not finished yet
}

// checkTimeout bounds one re-check of a folder for a parked device.
const checkTimeout = 30 * time.Second

// register parks pk in its user's set on this instance, subscribing to
// the user's changes when it is the first, and ends an older request of
// the same device. pk starts in the checking state.
func (p *Push) register(ctx context.Context, pk *park) error {
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return activesync.ErrUnavailable
		}
		up := p.byUser[pk.user]
		if up == nil {
			up = &userParks{user: pk.user, parks: map[string]*park{}, ready: make(chan struct{})}
			p.byUser[pk.user] = up
			p.mu.Unlock()
			p.subscribe(up)
		} else {
			p.mu.Unlock()
			select {
			case <-up.ready:
			case <-ctx.Done():
				return ctx.Err()
			}
		}

		p.mu.Lock()
		if up.err != nil {
			p.mu.Unlock()
			return up.err
		}
		if up.gone {
			// Its last request ended while we waited: start over.
			p.mu.Unlock()
			continue
		}
		old := up.parks[pk.device]
		up.parks[pk.device] = pk
		pk.up = up
		pk.checking = true
		if p.opts.OnParked != nil {
			p.opts.OnParked(1)
		}
		p.mu.Unlock()
		if old != nil {
			p.finish(old, nil, nil) // leaves pk in the set: it is no longer old's
		}
		return nil
	}
}

// subscribe opens up's bus subscription and starts its dispatcher.
func (p *Push) subscribe(up *userParks) {
	sub, err := p.bus.Subscribe(p.ctx, up.user)
	if err != nil {
		// Without a subscription the Ping could never be woken: the bus
		// is a dependency like the store, so the device is told to retry
		// (503 with Retry-After through the front's one error mapping).
		err = busErr(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err == nil && p.closed {
		_ = sub.Close()
		err = activesync.ErrUnavailable
	}
	up.sub, up.err = sub, err
	if err != nil {
		up.gone = true
		if p.byUser[up.user] == up {
			delete(p.byUser, up.user)
		}
	} else if n, ok := sub.(state.Notifier); ok {
		// No goroutine waits on the subscription: each delivery kicks a
		// short-lived one that drains it.
		n.Notify(func() { up.drain.kick(&p.wg, func() { p.drainSub(up) }) })
	} else {
		p.wg.Add(1)
		go p.dispatch(up)
	}
	close(up.ready)
}

// dispatch wakes up's parked requests on the user's changes until the
// subscription ends, for a bus whose subscriptions cannot call back.
func (p *Push) dispatch(up *userParks) {
	defer p.wg.Done()
	for {
		select {
		case ch, ok := <-up.sub.Changes():
			if !p.route(up, ch, ok) {
				return
			}
		case <-up.sub.Resync():
			p.recheckAll(up)
		}
	}
}

// drainSub routes whatever the subscription holds now and returns.
func (p *Push) drainSub(up *userParks) {
	for {
		select {
		case ch, ok := <-up.sub.Changes():
			if !p.route(up, ch, ok) {
				return
			}
		case <-up.sub.Resync():
			p.recheckAll(up)
		default:
			return
		}
	}
}

// route wakes up's parked requests on one change, and reports false once
// the subscription ended (ok false). A panic while routing is recovered
// and the event counts as lost: every parked request re-checks
// everything it watches, as after a Resync, so none sleeps through the
// change.
func (p *Push) route(up *userParks, ch state.Change, ok bool) bool {
	if !ok {
		p.endUser(up)
		return false
	}
	if p.guard(panicDispatch, p.log.With("user", up.user), func() { p.onChange(up, ch) }) {
		p.recheckAll(up)
	}
	return true
}

// recheckAll queues a re-check of every folder of every parked request
// of up.
func (p *Push) recheckAll(up *userParks) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log.Info("push: change events lost (bus reconnect, burst or a recovered panic); re-checking parked requests", "user", up.user, "parked", len(up.parks))
	for _, pk := range up.parks {
		// The lost events may have been hierarchy changes too.
		p.queueCheck(pk, append(slices.Clone(pk.folders), hierarchyCollection), time.Time{})
	}
}

// onChange routes one change to the user's parked requests.
func (p *Push) onChange(up *userParks, ch state.Change) {
	var ended []*park
	p.mu.Lock()
	for _, pk := range up.parks {
		switch {
		case ch.Collection == supersedeCollection:
			if ch.Source == pk.device && ch.At.After(pk.start) {
				ended = append(ended, pk) // a newer request of this device, maybe elsewhere
			}
		case ch.Collection == hierarchyCollection:
			// Even the device that made the change re-checks: its own
			// FolderSync state says whether it knows (push_hierarchy.go).
			p.queueCheck(pk, []string{hierarchyCollection}, ch.At)
		case ch.Source == pk.device:
			// The device's own change: no echo.
		case slices.Contains(pk.folders, ch.Collection):
			p.queueCheck(pk, []string{ch.Collection}, ch.At)
		}
	}
	p.mu.Unlock()
	for _, pk := range ended {
		p.finish(pk, nil, nil)
	}
}

// queueCheck re-checks folders for pk: at once on a new goroutine, or
// after the re-check already running. Called with p.mu held.
func (p *Push) queueCheck(pk *park, folders []string, at time.Time) {
	if pk.finished {
		return
	}
	if pk.wakeAt.IsZero() {
		pk.wakeAt = at
	}
	if pk.checking {
		for _, f := range folders {
			if !slices.Contains(pk.pending, f) {
				pk.pending = append(pk.pending, f)
			}
		}
		return
	}
	pk.checking = true
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.checkQueue(pk, folders)
	}()
}

// checkQueue runs pk's re-checks under a recovery point. A panic outside
// the per-folder checks (those are guarded in checkAll) answers pk with
// every folder it watches as changed: the device Syncs them, on the
// request path with its own recovery point, rather than sleeping through a
// change (a missed push is worse than an extra Sync).
func (p *Push) checkQueue(pk *park, folders []string) {
	log := p.log.With("user", pk.user, "device", pk.device)
	if p.guard(panicCheck, log, func() { p.runChecks(pk, folders) }) {
		p.finish(pk, slices.Clone(pk.folders), nil)
	}
}

// runChecks checks folders, then whatever queued meanwhile, until pk has
// changes (it is answered) or nothing is left to check.
func (p *Push) runChecks(pk *park, folders []string) {
	for {
		changed := p.checkAll(pk, folders)
		p.mu.Lock()
		pk.first = false
		if pk.finished {
			p.mu.Unlock()
			return
		}
		more := pk.pending
		pk.pending = nil
		if len(changed) == 0 {
			if len(more) == 0 {
				pk.checking = false
				pk.wakeAt = time.Time{}
				p.mu.Unlock()
				return
			}
			p.mu.Unlock()
			folders = more
			continue
		}
		wakeAt := pk.wakeAt
		p.mu.Unlock()
		if slices.Contains(changed, hierarchyCollection) {
			// Status 7 outranks Status 2: after its FolderSync the device
			// Pings again and its folders' changes answer at once.
			p.finish(pk, nil, pingFolderSync())
			return
		}
		// Folders whose changes queued meanwhile go in the same answer.
		for _, id := range more {
			if !slices.Contains(changed, id) && len(p.checkAll(pk, []string{id})) > 0 {
				changed = append(changed, id)
			}
		}
		if p.opts.OnWake != nil && !wakeAt.IsZero() {
			p.opts.OnWake(time.Since(wakeAt))
		}
		p.finish(pk, changed, nil)
		return
	}
}

// checkAll returns the folders with changes for the parked device.
func (p *Push) checkAll(pk *park, ids []string) []string {
	p.mu.Lock()
	first := pk.first
	p.mu.Unlock()
	var changed []string
	for _, id := range ids {
		var ok bool
		var err error
		// A panic while checking one folder counts as a change there:
		// the device's Sync will tell (see checkQueue).
		if p.guard(panicCheck, p.log.With("user", pk.user, "device", pk.device, "folder", id), func() {
			ctx, cancel := context.WithTimeout(p.ctx, checkTimeout)
			defer cancel()
			if id == hierarchyCollection {
				ok, err = p.check.hierarchyChanged(ctx, pk.acct, pk.device)
			} else {
				ok, err = p.check.hasChanges(ctx, pk.acct, pk.device, id, first)
			}
		}) {
			ok, err = true, nil
		}
		if err != nil {
			if p.ctx.Err() == nil {
				p.log.Warn("ping: checking a folder failed", "user", pk.user, "device", pk.device, "folder", id, "err", err)
			}
			continue
		}
		if ok {
			changed = append(changed, id)
		}
	}
	return changed
}

// finish answers pk once: with changes, or with none (heartbeat, newer
// request, shutdown). The user's subscription closes with its last park.
func (p *Push) finish(pk *park, changed []string, err error) {
	var closeSub state.Subscription
	p.mu.Lock()
	if pk.finished {
		p.mu.Unlock()
		return
	}
	pk.finished = true
	if pk.timer != nil {
		pk.timer.Stop()
	}
	if p.opts.OnParked != nil {
		p.opts.OnParked(-1)
	}
	if up := pk.up; up != nil && up.parks[pk.device] == pk {
		delete(up.parks, pk.device)
		if len(up.parks) == 0 && !up.gone {
			up.gone = true
			if p.byUser[up.user] == up {
				delete(p.byUser, up.user)
			}
			closeSub = up.sub
		}
	}
	p.mu.Unlock()
	if closeSub != nil {
		_ = closeSub.Close()
	}
	pk.done(changed, err)
}

// endUser answers what is still parked on a subscription that ended
// underneath (bus closed): the devices Ping again and subscribe anew.
func (p *Push) endUser(up *userParks) {
	p.mu.Lock()
	parks := make([]*park, 0, len(up.parks))
	for _, pk := range up.parks {
		parks = append(parks, pk)
	}
	up.gone = true
	if p.byUser[up.user] == up {
		delete(p.byUser, up.user)
	}
	p.mu.Unlock()
	for _, pk := range parks {
		p.finish(pk, nil, nil)
	}
}

// parkedFor reports whether the user has parked requests here. Called
// with p.mu held.
func (p *Push) parkedFor(user string) bool {
	up := p.byUser[user]
	return up != nil && len(up.parks) > 0
}
