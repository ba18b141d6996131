package accounts

import (
	"sync"
	"time"
)

// Upstream login budget: a provider that sees many failed logins for one
// account may lock that account or ban the bridge's address for every
// user, so whatever reaches the bridge, the provider sees at most
// budgetBurst unverified logins per user at once and then one more per
// budgetEvery. A login that succeeds gives its token back, so only
// failures (and logins still running) use the budget up.
const (
	budgetBurst = 5
	budgetEvery = time.Minute
)

// loginBudget is a token bucket per (user, class). Devices that have
// logged in before (class known) draw on a bucket of their own, so a
// stranger guessing passwords cannot use up the budget a user's own phone
// needs when its cached verification expires.
type loginBudget struct {
	burst int
	every time.Duration
	now   func() time.Time

	mu      sync.Mutex
	buckets map[budgetKey]*bucket // bounded: known users × 2 classes
}

type budgetKey struct {
	user  string
	known bool
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLoginBudget(burst int, every time.Duration, now func() time.Time) *loginBudget {
	return &loginBudget{burst: burst, every: every, now: now, buckets: map[budgetKey]*bucket{}}
}

// refill brings b up to date and returns it (created full).
func (l *loginBudget) refillLocked(k budgetKey, now time.Time) *bucket {
	b := l.buckets[k]
	if b == nil {
		b = &bucket{tokens: float64(l.burst), at: now}
		l.buckets[k] = b
	}
	if el := now.Sub(b.at); el > 0 {
		b.tokens = min(float64(l.burst), b.tokens+float64(el)/float64(l.every))
	}
	b.at = now
	return b
}

// take spends one token of user's class, or says how long until one is
// available.
func (l *loginBudget) take(user string, known bool) (ok bool, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.refillLocked(budgetKey{user, known}, l.now())
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) * float64(l.every))
}

// refund gives a token back: the login it paid for did not fail.
func (l *loginBudget) refund(user string, known bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.refillLocked(budgetKey{user, known}, l.now())
	b.tokens = min(float64(l.burst), b.tokens+1)
}
