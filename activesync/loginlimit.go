package activesync

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"time"
)

// LoginLimiter slows down password guessing. It counts consecutive failed
// logins per user and per client address; past the allowance the next
// attempt may come only a back-off after the last failure, doubling with
// each failure up to MaxDelay. An attempt that comes early waits out the
// rest before the password is even checked (or, if that is long, is
// refused with Retry-After). A success clears the user's and the
// address's count.
type LoginLimiter struct {
	// Allowance is how many failures in a row go unpunished (per user;
	// addresses get four times as many, since NAT puts families behind one).
	Allowance int
	// MaxDelay caps the wait.
	MaxDelay time.Duration
	// Forget is how long a failure is remembered.
	Forget time.Duration

	mu      sync.Mutex
	entries map[string]*failures
}

type failures struct {
	n    int
	last time.Time
}

// maxLimiterEntries bounds memory under a spray of user names.
const maxLimiterEntries = 100_000

// NewLoginLimiter returns a limiter with sensible defaults for zero values.
func NewLoginLimiter(allowance int, maxDelay time.Duration) *LoginLimiter {
	if allowance <= 0 {
		allowance = 5
	}
	if maxDelay <= 0 {
		maxDelay = 30 * time.Second
	}
	return &LoginLimiter{Allowance: allowance, MaxDelay: maxDelay, Forget: 15 * time.Minute, entries: map[string]*failures{}}
}

func userKey(user string) string           { return "u:" + user }
func addrKey(addr netip.Addr) string       { return "a:" + addr.String() }
func (l *LoginLimiter) addrAllowance() int { return 4 * l.Allowance }

// Delay is how long an attempt for user from addr must wait now.
func (l *LoginLimiter) Delay(user string, addr netip.Addr, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := l.delayLocked(userKey(user), l.Allowance, now)
	if addr.IsValid() {
		d = max(d, l.delayLocked(addrKey(addr), l.addrAllowance(), now))
	}
	return d
}

// delayLocked is how long, from now, an attempt must wait: the back-off
// for the key's failure count, counted from its last failure.
func (l *LoginLimiter) delayLocked(key string, allowance int, now time.Time) time.Duration {
	f := l.entries[key]
	if f == nil || now.Sub(f.last) > l.Forget {
		return 0
	}
	over := f.n - allowance
	if over < 0 {
		return 0
	}
	d := min(time.Second<<min(over, 20), l.MaxDelay)
	return max(f.last.Add(d).Sub(now), 0)
}

// maxSleep is the longest an attempt is held before its password is
// checked; beyond it the attempt is refused outright with Retry-After
// (ErrThrottled), so a long back-off does not pin connections.
const maxSleep = 30 * time.Second

// ErrThrottled is returned by Wait when the delay is longer than an attempt
// is held: the caller refuses the attempt without checking the password.
var ErrThrottled = errors.New("activesync: too many failed logins")

// Wait sleeps for the current delay; it returns early with ctx's error, or
// at once with ErrThrottled when the delay exceeds maxSleep.
func (l *LoginLimiter) Wait(ctx context.Context, user string, addr netip.Addr) (time.Duration, error) {
	d := l.Delay(user, addr, time.Now())
	if d == 0 {
		return 0, nil
	}
	if d > maxSleep {
		return d, ErrThrottled
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return d, nil
	case <-ctx.Done():
		return d, ctx.Err()
	}
}

// Failed records a failed attempt.
func (l *LoginLimiter) Failed(user string, addr netip.Addr, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.entries) >= maxLimiterEntries {
		l.pruneLocked(now)
	}
	l.bump(userKey(user), now)
	if addr.IsValid() {
		l.bump(addrKey(addr), now)
	}
}

func (l *LoginLimiter) bump(key string, now time.Time) {
	f := l.entries[key]
	if f == nil || now.Sub(f.last) > l.Forget {
		f = &failures{}
		l.entries[key] = f
	}
	f.n++
	f.last = now
}

// Succeeded clears the counts of user and addr.
func (l *LoginLimiter) Succeeded(user string, addr netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.entries, userKey(user))
	if addr.IsValid() {
		delete(l.entries, addrKey(addr))
	}
}

// pruneLocked drops forgotten entries, and if that is not enough, all of
// them: under a flood, forgetting is better than growing without bound.
func (l *LoginLimiter) pruneLocked(now time.Time) {
	for k, f := range l.entries {
		if now.Sub(f.last) > l.Forget {
			delete(l.entries, k)
		}
	}
	if len(l.entries) >= maxLimiterEntries {
		clear(l.entries)
	}
}
