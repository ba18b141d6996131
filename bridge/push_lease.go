package bridge

import (
	"context"

	"github.com/idlebridge/idlebridge/bridge/state"
)

// Renewing the watch leases in batches. Each watched user's lease is
// renewed on the user's tick, every LeaseTTL/3; one Renew per user was a
// store round trip per user per tick, the bulk of an idle bridge's CPU on
// Redis at thousands of users. So the shared tick (push_wheel.go) renews
// the leases of every user due at it in one RenewMany, just before it
// kicks their passes, and each pass reads its outcome instead of calling
// Renew. The renewal happens at the same moment of the cadence as before
// (LeaseTTL/3, two chances before the TTL), so batching never lets a
// lease lapse. Acquire stays in the pass: it is rare.

// leaseRenewal is the batch's outcome for one user's lease: the token it
// renewed (a pass holding a newer one ignores it) and the result.
type leaseRenewal struct {
	token uint64
	err   error
}

// renewLeases renews the leases of the due users holding one (tokens[i]
// of due[i], 0 for none) in one call and records each outcome for the
// user's next pass. A failure of the call is recorded for every user:
// each warns and retries on its next tick, as a failed Renew did.
func (p *Push) renewLeases(due []*userWatch, tokens []uint64) {
	var (
		refs  []state.LeaseRef
		users []*userWatch
	)
	for i, uw := range due {
		if tokens[i] != 0 {
			refs = append(refs, state.LeaseRef{Name: "watch:" + uw.user, Token: tokens[i]})
			users = append(users, uw)
		}
	}
	if len(refs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(p.ctx, p.opts.LeaseTTL/3)
	res, err := p.leases.RenewMany(ctx, p.opts.Instance, p.opts.LeaseTTL, refs)
	cancel()
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, uw := range users {
		r := &leaseRenewal{token: refs[i].Token, err: err}
		if err == nil && i < len(res) {
			r.err = res[i]
		}
		uw.renewed = r
	}
}

// setLeaseToken tells the batch which token the user's pass holds (0:
// none), and forgets an outcome recorded for an older one.
func (uw *userWatch) setLeaseToken(token uint64) {
	uw.p.mu.Lock()
	uw.leaseToken = token
	uw.renewed = nil
	uw.p.mu.Unlock()
}

// takeRenewal returns the outcome of the batch renewal of token since the
// previous pass: nil when none was due (a pass kicked by an event, not by
// the tick) or it succeeded.
func (uw *userWatch) takeRenewal(token uint64) error {
	uw.p.mu.Lock()
	r := uw.renewed
	uw.renewed = nil
	uw.p.mu.Unlock()
	if r == nil || r.token != token {
		return nil
	}
	return r.err
}
