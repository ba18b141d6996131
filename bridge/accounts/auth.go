package accounts

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Credentials are what the bridge logs in upstream with.
type Credentials struct {
	Username, Password string
}

// Principal is an authenticated device user. Upstream carries the plaintext
// provider secret of this request only; it is never kept by the Authenticator.
type Principal struct {
	User     *User
	Upstream Credentials
}

// LoginChecker verifies credentials by logging in to the provider's IMAP
// server. It must wrap ErrLoginRejected when the server refused the login
// (tagged NO / AUTHENTICATIONFAILED) and return any other error for a server
// that could not be asked (network, TLS, timeout).
type LoginChecker interface {
	CheckIMAPLogin(ctx context.Context, ep Endpoint, username, password string) error
}

var (
	// ErrBadCredentials is the only error a wrong address or password yields;
	// it never tells which of the two was wrong. The front answers 401.
	ErrBadCredentials = errors.New("accounts: bad credentials")
	// ErrUpstreamUnavailable means the provider could not be asked; the
	// front answers 503 so the device retries instead of asking the user
	// for a new password.
	ErrUpstreamUnavailable = errors.New("accounts: upstream unavailable")
	// ErrLoginRejected is what a LoginChecker wraps when the provider
	// answered and said no.
	ErrLoginRejected = errors.New("accounts: upstream rejected the login")
	// ErrThrottled means the password is neither known good nor known
	// bad and the user's budget of upstream logins is spent (see
	// loginBudget): it is not tried now. The front answers 429 with
	// Retry-After; the error wraps a *ThrottledError with the wait.
	ErrThrottled = errors.New("accounts: too many failed upstream logins")
)

// ThrottledError says how long until the provider may be asked again.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("%v (retry after %v)", ErrThrottled, e.RetryAfter.Round(time.Second))
}

func (e *ThrottledError) Unwrap() error { return ErrThrottled }

// Wait is how long until the provider may be asked again.
func (e *ThrottledError) Wait() time.Duration { return e.RetryAfter }

// rejectedTTL is how long a password the provider refused is refused
// locally without asking again: long enough to absorb a stale phone's
// retries and a guesser's repeats, short enough that a password changed
// upstream to one tried earlier works again soon.
const rejectedTTL = 10 * time.Minute

// dummyHash is compared against for unknown addresses, so that they cost
// about as much as a known app-password user and timing does not reveal which
// addresses exist. Cost 10 is bcrypt.DefaultCost, what htpasswd -B makes; no
// password matches it in practice.
const dummyHash = "$2a$10$BDWH2.hIjIFzLr3QPw58PumgHUPSXCD7NCGrVW7fsOzqXflfgqrOW"

// upstreamCheckTimeout bounds one upstream login, which runs detached from
// the request that started it because concurrent requests share its result.
const upstreamCheckTimeout = 30 * time.Second

// Authenticator checks a device's HTTP Basic credentials against the users
// directory. Successful verifications, of either login mode, are remembered
// for cacheTTL as salted hashes (see verifiedCache), so that the phone's
// stream of requests costs neither an upstream login nor a bcrypt each.
type Authenticator struct {
	dir      *Directory
	checker  LoginChecker
	cache    *verifiedCache
	rejected *verifiedCache // passwords the provider refused (negative cache)
	budget   *loginBudget
	timing   rejectTiming
	now      func() time.Time
	// sleep holds a refusal until the refusal floor (a test seam).
	sleep func(ctx context.Context, d time.Duration)

	mu       sync.Mutex
	inflight map[string]*upstreamCheck // by flightKey
}

// upstreamCheck is one upstream login shared by every concurrent request
// presenting the same address and password.
type upstreamCheck struct {
	done    chan struct{}
	err     error
	waiters int // requests that joined it (guarded by Authenticator.mu), for tests and debugging
}

// NewAuthenticator returns an Authenticator over dir. now is the clock for
// cache expiry (time.Now in production). A cacheTTL of 0 disables the cache.
func NewAuthenticator(dir *Directory, checker LoginChecker, cacheTTL time.Duration, now func() time.Time) *Authenticator {
	if now == nil {
		now = time.Now
	}
	return &Authenticator{
		dir:      dir,
		checker:  checker,
		cache:    newVerifiedCache(cacheTTL, maxVerifiedPerUser, now),
		rejected: newVerifiedCache(rejectedTTL, maxRejectedPerUser, now),
		budget:   newLoginBudget(budgetBurst, budgetEvery, now),
		now:      now,
		sleep:    sleepCtx,
		inflight: map[string]*upstreamCheck{},
	}
}

// Authenticate returns the Principal for address and password, or
// ErrBadCredentials, ErrThrottled, ErrUpstreamUnavailable (wrapping the
// cause) or the context's error.
func (a *Authenticator) Authenticate(ctx context.Context, address, password string) (*Principal, error) {
	return a.AuthenticateDevice(ctx, address, password, nil)
}

// AuthenticateDevice is Authenticate for a device that may have logged in
// before: known, when not nil, is asked (only when the user's budget of
// upstream logins is spent) whether it has, and a known device then draws
// on a budget strangers cannot exhaust.
func (a *Authenticator) AuthenticateDevice(ctx context.Context, address, password string, known func() bool) (*Principal, error) {
	start := a.now()
	p, err := a.authenticate(ctx, address, password, known)
	if errors.Is(err, ErrBadCredentials) {
		if wait := a.timing.floor() - a.now().Sub(start); wait > 0 {
			a.sleep(ctx, wait)
		}
	}
	return p, err
}

// Verified reports whether password was verified for address within the
// cache's lifetime: a cheap check (an HMAC per remembered password), no
// I/O, no bcrypt.
func (a *Authenticator) Verified(address, password string) bool {
	u, ok := a.dir.Lookup(address)
	return ok && password != "" && a.cache.verified(u, password)
}

func (a *Authenticator) authenticate(ctx context.Context, address, password string, known func() bool) (*Principal, error) {
	u, ok := a.dir.Lookup(address)
	if !ok || password == "" {
		// The same cost for both, so an empty password does not reveal
		// whether the address exists.
		_ = bcrypt.CompareHashAndPassword([]byte(dummyHash), []byte(password))
		return nil, ErrBadCredentials
	}
	switch u.Login.Mode {
	case ModeAppPassword:
		return a.appPassword(u, password)
	case ModePassthrough:
		return a.passthrough(ctx, u, password, known)
	}
	// Unreachable for users from ParseUserFile; refuse rather than guess.
	return nil, ErrBadCredentials
}

func (a *Authenticator) appPassword(u *User, password string) (*Principal, error) {
	p := &Principal{User: u, Upstream: Credentials{Username: u.Login.UpstreamUser, Password: u.Login.UpstreamPassword}}
	if a.cache.verified(u, password) {
		return p, nil
	}
	start := a.now()
	if bcrypt.CompareHashAndPassword([]byte(u.Login.DevicePasswordBcrypt), []byte(password)) != nil {
		a.timing.observe(false, a.now().Sub(start))
		return nil, ErrBadCredentials
	}
	a.cache.remember(u, password)
	return p, nil
}

func (a *Authenticator) passthrough(ctx context.Context, u *User, password string, known func() bool) (*Principal, error) {
	p := &Principal{User: u, Upstream: Credentials{Username: u.Login.UpstreamUser, Password: password}}
	if a.cache.verified(u, password) {
		return p, nil
	}
	// A password the provider refused a moment ago is refused again
	// without asking: repeated wrong passwords (a stale phone, a guesser
	// replaying) never reach the provider twice.
	if a.rejected.verified(u, password) {
		return nil, ErrBadCredentials
	}
	c, err := a.startCheck(u, password, known)
	if err != nil {
		return nil, err
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.done:
	}
	switch {
	case c.err == nil:
		return p, nil
	case errors.Is(c.err, ErrLoginRejected):
		return nil, ErrBadCredentials
	default:
		return nil, fmt.Errorf("%w: %w", ErrUpstreamUnavailable, c.err)
	}
}

// startCheck joins the upstream login already running for this user and
// password, or starts one if the user's login budget allows. The login
// runs detached from any one request so that a caller giving up does not
// fail the others waiting on it.
func (a *Authenticator) startCheck(u *User, password string, known func() bool) (*upstreamCheck, error) {
	key := a.cache.flightKey(u, password)
	if c := a.join(key); c != nil {
		return c, nil
	}
	cls := false
	ok, wait := a.budget.take(u.Address, false)
	if !ok && known != nil && known() {
		cls = true
		ok, wait = a.budget.take(u.Address, true)
	}
	if !ok {
		return nil, &ThrottledError{RetryAfter: wait}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.inflight[key]; ok {
		// Another request started the same login meanwhile.
		c.waiters++
		a.budget.refund(u.Address, cls)
		return c, nil
	}
	c := &upstreamCheck{done: make(chan struct{}), waiters: 1}
	a.inflight[key] = c
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), upstreamCheckTimeout)
		defer cancel()
		start := a.now()
		err := a.checker.CheckIMAPLogin(ctx, u.IMAP, u.Login.UpstreamUser, password)
		switch {
		case err == nil:
			// Remember before leaving the flight, so a request arriving
			// just after finds the cache instead of starting another login.
			a.cache.remember(u, password)
			a.budget.refund(u.Address, cls)
		case errors.Is(err, ErrLoginRejected):
			a.rejected.remember(u, password)
			a.timing.observe(true, a.now().Sub(start))
		default:
			a.budget.refund(u.Address, cls) // the provider was not asked
		}
		a.mu.Lock()
		delete(a.inflight, key)
		a.mu.Unlock()
		c.err = err
		close(c.done)
	}()
	return c, nil
}

// join returns the running check for key, counting the caller in, or nil.
func (a *Authenticator) join(key string) *upstreamCheck {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := a.inflight[key]
	if !ok {
		return nil
	}
	c.waiters++
	return c
}
