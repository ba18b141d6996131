package bridge

import "time"

// The hub's one clock. Each watched user's manager used to sleep on a
// ticker of its own (a goroutine per user, woken every LeaseTTL/3 to renew
// its lease and entry); now one goroutine per hub ticks every wheelEvery
// and steps the managers whose time has come, each LeaseTTL/3 after its
// previous tick. Users keep the phase they arrived with, so the passes
// (entry renewals queued for the batch, the idle check) spread over the
// period instead of arriving together; the leases of the users due at a
// tick are renewed together in one store call (push_lease.go). The same clock
// writes the queued entry renewals in one batch every renewEvery
// (push_renew.go). It stops when nothing is left to tick for.

// wheelEvery is the shared tick: fine enough that a user is stepped
// within a thirtieth of the lease TTL of its due time.
func (p *Push) wheelEvery() time.Duration {
	return min(max(p.opts.LeaseTTL/30, 10*time.Millisecond), time.Second)
}

// startWheel starts the shared tick unless it runs. Called with p.mu held.
func (p *Push) startWheel() {
	if p.wheeling || p.closed {
		return
	}
	p.wheeling = true
	p.wg.Add(1)
	go p.wheel()
}

func (p *Push) wheel() {
	defer p.wg.Done()
	t := time.NewTicker(p.wheelEvery())
	defer t.Stop()
	nextRenew := time.Now().Add(p.renewEvery())
	for {
		select {
		case <-p.ctx.Done():
			return
		case now := <-t.C:
			if !p.stepDue(now) {
				return
			}
			if !now.Before(nextRenew) {
				nextRenew = now.Add(p.renewEvery())
				p.renewRun.kick(&p.wg, func() { p.guard(panicRenew, p.log, p.renewQueued) })
			}
		}
	}
}

// stepDue kicks the managers due at now. It reports false (and the wheel
// stops) when no manager and no queued renewal is left.
func (p *Push) stepDue(now time.Time) bool {
	p.mu.Lock()
	if len(p.users) == 0 && len(p.renewals) == 0 {
		p.wheeling = false
		p.mu.Unlock()
		return false
	}
	var (
		due, reread []*userWatch
		tokens      []uint64
	)
	for _, uw := range p.users {
		if !now.Before(uw.nextTick) {
			uw.nextTick = now.Add(p.opts.LeaseTTL / 3)
			uw.ticks++
			due = append(due, uw)
			tokens = append(tokens, uw.leaseToken)
			if uw.leaseToken != 0 && uw.ticks%rereadEvery == 0 {
				reread = append(reread, uw)
			}
		}
	}
	p.mu.Unlock()
	// Their leases and watched unions first, one call each, so each pass
	// finds its outcome; a pass runs only where there is something to
	// do (push_rest.go).
	p.renewLeases(due, tokens)
	p.rereadWatched(reread)
	for _, uw := range due {
		if !uw.atRest() {
			uw.kick()
		}
	}
	return true
}
