package activesync

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"time"
)

// LoginLimiter slows down password guessing without letting a stranger
// lock a user out. It counts failed logins in a row under three keys:
//
//   - the (user, client address) pair: Allowance failures, then a back-off
//     doubling from 1 s up to MaxDelay. This is what stops a guesser, and
//     it is his own address that waits.
//   - the user, from any address: UserAllowance failures (a higher ceiling,
//     against guessing spread over many addresses);
//   - the client address, for any user: four times Allowance (NAT puts
//     families behind one address), against spraying many users.
//
// A device that has logged in before (KnownDevice) is held only by its
// pair: the real phone keeps working from its own address while strangers
// guess from theirs. An attempt takes its place in the counts before its
// password is checked (Begin), so that 500 concurrent attempts are counted
// as 500 and not as none; Succeeded, Release or nothing (a failure) settles
// it afterwards. An attempt that comes early waits out the rest before the
// password is even checked (or, if that is long, is refused with
// Retry-After).
type LoginLimiter struct {
	// Allowance is how many failures in a row go unpunished per (user,
	// address).
	Allowance int
	// UserAllowance is the ceiling per user from all addresses together;
	// devices that logged in before are exempt.
	UserAllowance int
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

// NewLoginLimiter returns a limiter with sensible defaults for zero values:
// 5 failures per (user, address), ten times that per user, 30 s at most.
func NewLoginLimiter(allowance int, maxDelay time.Duration) *LoginLimiter {
	if allowance <= 0 {
		allowance = 5
	}
	if maxDelay <= 0 {
		maxDelay = 30 * time.Second
	}
	return &LoginLimiter{Allowance: allowance, UserAllowance: 10 * allowance, MaxDelay: maxDelay,
		Forget: 15 * time.Minute, entries: map[string]*failures{}}
}

func pairKey(user string, addr netip.Addr) string { return "p:" + addr.String() + " " + user }
func userKey(user string) string                  { return "u:" + user }
func addrKey(addr netip.Addr) string              { return "a:" + addr.String() }
func (l *LoginLimiter) addrAllowance() int        { return 4 * l.Allowance }

func (l *LoginLimiter) userAllowance() int {
	if l.UserAllowance > 0 {
		return l.UserAllowance
	}
	return 10 * l.Allowance
}

// Delay is how long an attempt for user from addr by a device never seen
// before must wait now.
func (l *LoginLimiter) Delay(user string, addr netip.Addr, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	own, shared := l.delaysLocked(user, addr, now)
	return max(own, shared)
}

// delaysLocked returns the pair's delay and that of the keys a known
// device is exempt from.
func (l *LoginLimiter) delaysLocked(user string, addr netip.Addr, now time.Time) (own, shared time.Duration) {
	shared = l.delayLocked(userKey(user), l.userAllowance(), now)
	if addr.IsValid() {
		own = l.delayLocked(pairKey(user, addr), l.Allowance, now)
		shared = max(shared, l.delayLocked(addrKey(addr), l.addrAllowance(), now))
	}
	return own, shared
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

// ErrThrottled is returned by Wait and Begin when the delay is longer than
// an attempt is held: the caller refuses the attempt without checking the
// password. A Backend's Login wraps it when it refuses to ask the provider
// now (HTTP 429 with Retry-After either way).
var ErrThrottled = errors.New("activesync: too many failed logins")

// Wait sleeps for the current delay of a device never seen before; it
// returns early with ctx's error, or at once with ErrThrottled when the
// delay exceeds maxSleep. It does not count the attempt (see Begin).
func (l *LoginLimiter) Wait(ctx context.Context, user string, addr netip.Addr) (time.Duration, error) {
	d := l.Delay(user, addr, time.Now())
	return d, l.sleep(ctx, d)
}

// Begin waits as Wait does and counts the attempt as a failure until it is
// settled: Succeeded clears the counts, Release takes the attempt back
// (the password could not be checked), and a wrong password needs nothing
// more. known, if not nil, is asked (only when it matters) whether the
// device logged in before; such a device waits for its pair's back-off
// only. A refused attempt (ErrThrottled) is not counted.
func (l *LoginLimiter) Begin(ctx context.Context, user string, addr netip.Addr, known func() bool) (time.Duration, error) {
	now := time.Now()
	l.mu.Lock()
	own, shared := l.delaysLocked(user, addr, now)
	if shared > own && known != nil {
		// The device lookup may do I/O: not under the lock.
		l.mu.Unlock()
		isKnown := known()
		l.mu.Lock()
		if own, shared = l.delaysLocked(user, addr, now); isKnown {
			shared = 0
		}
	}
	d := max(own, shared)
	if d <= maxSleep {
		// Counted as made when it will be: the next concurrent attempt
		// backs off from there.
		l.bumpAllLocked(user, addr, now.Add(d))
	}
	l.mu.Unlock()
	return d, l.sleep(ctx, d)
}

// sleep waits d unless it is beyond maxSleep (ErrThrottled) or ctx ends.
func (l *LoginLimiter) sleep(ctx context.Context, d time.Duration) error {
	if d == 0 {
		return nil
	}
	if d > maxSleep {
		return ErrThrottled
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Failed records a failed attempt that did not go through Begin.
func (l *LoginLimiter) Failed(user string, addr netip.Addr, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.bumpAllLocked(user, addr, now)
}

func (l *LoginLimiter) bumpAllLocked(user string, addr netip.Addr, at time.Time) {
	if len(l.entries) >= maxLimiterEntries {
		l.pruneLocked(at)
	}
	l.bump(userKey(user), at)
	if addr.IsValid() {
		l.bump(pairKey(user, addr), at)
		l.bump(addrKey(addr), at)
	}
}

func (l *LoginLimiter) bump(key string, at time.Time) {
	f := l.entries[key]
	if f == nil || at.Sub(f.last) > l.Forget {
		f = &failures{}
		l.entries[key] = f
	}
	f.n++
	if at.After(f.last) {
		f.last = at
	}
}

// Release takes back an attempt counted by Begin whose password could not
// be checked (the provider was unreachable, the client went away).
func (l *LoginLimiter) Release(user string, addr netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	keys := []string{userKey(user)}
	if addr.IsValid() {
		keys = append(keys, pairKey(user, addr), addrKey(addr))
	}
	for _, k := range keys {
		if f := l.entries[k]; f != nil && f.n > 0 {
			f.n--
		}
	}
}

// Succeeded settles an attempt counted by Begin that logged in: it clears
// the counts of user and of the (user, addr) pair. The address's own count
// only loses this attempt: one good account must not let its holder wipe
// the traces of guessing other users' passwords.
func (l *LoginLimiter) Succeeded(user string, addr netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.entries, userKey(user))
	if addr.IsValid() {
		delete(l.entries, pairKey(user, addr))
		if f := l.entries[addrKey(addr)]; f != nil && f.n > 0 {
			f.n--
		}
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
