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
)

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
	dir     *Directory
	checker LoginChecker
	cache   *verifiedCache

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
		cache:    newVerifiedCache(cacheTTL, now),
		inflight: map[string]*upstreamCheck{},
	}
}

// Authenticate returns the Principal for address and password, or
// ErrBadCredentials, ErrUpstreamUnavailable (wrapping the cause) or the
// context's error.
func (a *Authenticator) Authenticate(ctx context.Context, address, password string) (*Principal, error) {
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
		return a.passthrough(ctx, u, password)
	}
	// Unreachable for users from ParseUserFile; refuse rather than guess.
	return nil, ErrBadCredentials
}

func (a *Authenticator) appPassword(u *User, password string) (*Principal, error) {
	p := &Principal{User: u, Upstream: Credentials{Username: u.Login.UpstreamUser, Password: u.Login.UpstreamPassword}}
	if a.cache.verified(u, password) {
		return p, nil
	}
	if bcrypt.CompareHashAndPassword([]byte(u.Login.DevicePasswordBcrypt), []byte(password)) != nil {
		return nil, ErrBadCredentials
	}
	a.cache.remember(u, password)
	return p, nil
}

func (a *Authenticator) passthrough(ctx context.Context, u *User, password string) (*Principal, error) {
	p := &Principal{User: u, Upstream: Credentials{Username: u.Login.UpstreamUser, Password: password}}
	if a.cache.verified(u, password) {
		return p, nil
	}
	c := a.startCheck(u, password)
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
// password, or starts one. The login runs detached from any one request so
// that a caller giving up does not fail the others waiting on it.
func (a *Authenticator) startCheck(u *User, password string) *upstreamCheck {
	key := a.cache.flightKey(u, password)
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.inflight[key]; ok {
		c.waiters++
		return c
	}
	c := &upstreamCheck{done: make(chan struct{}), waiters: 1}
	a.inflight[key] = c
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), upstreamCheckTimeout)
		defer cancel()
		err := a.checker.CheckIMAPLogin(ctx, u.IMAP, u.Login.UpstreamUser, password)
		if err == nil {
			// Remember before leaving the flight, so a request arriving
			// just after finds the cache instead of starting another login.
			a.cache.remember(u, password)
		}
		a.mu.Lock()
		delete(a.inflight, key)
		a.mu.Unlock()
		c.err = err
		close(c.done)
	}()
	return c
}
