// Package imappools is the registry of per-user IMAP pools the request
// path borrows sessions from (the mail engine, the send engine, moves and
// searches), and how a provider's refusal of a login is told to the front
// and the operator.
package imappools

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/login"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

// Options bound the IMAP connections the request path keeps per
// user. The push watchers hold their own connections outside this budget.
type Options struct {
	// MaxConnsPerUser bounds the sessions one user's requests use at once;
	// 0 means 4. Requests beyond it wait (bounded by their context).
	MaxConnsPerUser int
	// SessionIdle is how long an unused session stays logged in; 0: 5 min.
	SessionIdle time.Duration
	// PoolIdle is how long a user's pool survives without any request
	// before it is closed and forgotten; 0: 15 min.
	PoolIdle time.Duration
	// TLS is the base TLS configuration (root CAs); nil: system roots.
	TLS *tls.Config
	// DialTimeout and CommandTimeout bound upstream I/O; 0: imap defaults.
	DialTimeout    time.Duration
	CommandTimeout time.Duration
	// OnConn is told +1/-1 as upstream sessions open and close (metrics).
	OnConn func(delta int)
	// OnRefused is told each time the provider refuses a stored app
	// password (metrics).
	OnRefused func()
}

func (o Options) withDefaults() Options {
	if o.MaxConnsPerUser <= 0 {
		o.MaxConnsPerUser = 4
	}
	if o.SessionIdle <= 0 {
		o.SessionIdle = 5 * time.Minute
	}
	if o.PoolIdle <= 0 {
		o.PoolIdle = 15 * time.Minute
	}
	return o
}

// Registry is the registry of per-user IMAP pools used by requests. A
// pool is keyed by the user's address and remembers a hash of the
// credentials and endpoint it was made with, so a changed password (the
// device's new one in passthrough mode) replaces the pool instead of
// failing on stale logins.
type Registry struct {
	opts Options
	log  *slog.Logger

	mu    sync.Mutex
	pools map[string]*userPool
	// refused holds the users whose stored app password the provider
	// refused, until it works again (bounded by the users directory).
	refused map[string]bool
	closed  bool
	done    chan struct{}
	wg      sync.WaitGroup
}

type userPool struct {
	pool     *imap.Pool
	identity [sha256.Size]byte // endpoint + credentials it logs in with
	lastUsed time.Time
	inUse    int
}

// New starts the registry and its janitor; Close stops both.
func New(opts Options, log *slog.Logger) *Registry {
	if log == nil {
		log = slog.Default()
	}
	u := &Registry{
		opts:    opts.withDefaults(),
		log:     log,
		pools:   map[string]*userPool{},
		refused: map[string]bool{},
		done:    make(chan struct{}),
	}
	u.wg.Add(1)
	go u.janitor()
	return u
}

// errUpstreamRejected is returned when the provider refused the stored or
// passed-through credentials mid-session (the password changed upstream).
var errUpstreamRejected = errors.New("bridge: provider rejected the login")

// Acquire lends one IMAP session of acct's user. release must be called
// exactly once; pass broken=true when the session misbehaved.
func (u *Registry) Acquire(ctx context.Context, acct *login.Account) (*imap.Session, func(broken bool), error) {
	up, err := u.poolFor(acct)
	if err != nil {
		return nil, nil, err
	}
	s, release, err := up.pool.Acquire(ctx)
	if err != nil {
		u.done1(up)
		switch {
		case errors.Is(err, imap.ErrLoginRejected):
			return nil, nil, u.refusedLogin(acct, err)
		case errors.Is(err, imap.ErrPoolClosed):
			// Replaced by a newer password between poolFor and Acquire.
			return nil, nil, fmt.Errorf("%w: %w", activesync.ErrUnavailable, err)
		default:
			return nil, nil, fmt.Errorf("%w: imap: %w", activesync.ErrUnavailable, err)
		}
	}
	u.loginWorked(acct)
	return s, func(broken bool) { release(broken); u.done1(up) }, nil
}

// poolFor returns the user's pool, making or replacing it as needed.
func (u *Registry) poolFor(acct *login.Account) (*userPool, error) {
	if acct == nil || acct.Principal == nil || acct.Principal.User == nil {
		return nil, errors.New("bridge: account without a user")
	}
	user := acct.Principal.User
	cfg := login.IMAPConfig(user.IMAP, u.opts.TLS, acct.Principal.Upstream.Username, acct.Principal.Upstream.Password, u.opts.DialTimeout)
	cfg.OnConn = u.opts.OnConn
	cfg.CommandTimeout = u.opts.CommandTimeout
	id := poolIdentity(cfg)

	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return nil, fmt.Errorf("%w: %w", activesync.ErrUnavailable, imap.ErrPoolClosed)
	}
	up := u.pools[user.Address]
	if up != nil && up.identity != id {
		// Credentials or endpoint changed: sessions lent out finish with
		// the old pool, which closes them on release.
		go up.pool.Close()
		up = nil
	}
	if up == nil {
		up = &userPool{
			pool:     imap.NewPool(cfg, u.opts.MaxConnsPerUser, u.opts.SessionIdle, u.log.With("user", user.Address)),
			identity: id,
		}
		u.pools[user.Address] = up
	}
	up.inUse++
	up.lastUsed = time.Now()
	return up, nil
}

func (u *Registry) done1(up *userPool) {
	u.mu.Lock()
	up.inUse--
	up.lastUsed = time.Now()
	u.mu.Unlock()
}

// poolIdentity hashes what a pool logs in with, so the registry can tell a
// changed password without keeping a second copy of it.
func poolIdentity(cfg imap.Config) [sha256.Size]byte {
	h := sha256.New()
	for _, s := range []string{cfg.Addr, cfg.Security, cfg.Username, cfg.Password} {
		fmt.Fprintf(h, "%d:%s;", len(s), s)
	}
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

// janitor closes pools nobody used for PoolIdle.
func (u *Registry) janitor() {
	defer u.wg.Done()
	tick := time.NewTicker(max(u.opts.PoolIdle/4, 50*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-u.done:
			return
		case <-tick.C:
		}
		var idle []*imap.Pool
		u.mu.Lock()
		for addr, up := range u.pools {
			if up.inUse == 0 && time.Since(up.lastUsed) > u.opts.PoolIdle {
				idle = append(idle, up.pool)
				delete(u.pools, addr)
			}
		}
		u.mu.Unlock()
		for _, p := range idle {
			p.Close()
		}
	}
}

// Users returns the number of users with an open pool (tests, metrics).
func (u *Registry) Users() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.pools)
}

// Close closes every pool; Acquire fails afterwards.
func (u *Registry) Close() {
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		return
	}
	u.closed = true
	pools := u.pools
	u.pools = map[string]*userPool{}
	close(u.done)
	u.mu.Unlock()
	u.wg.Wait()
	for _, up := range pools {
		up.pool.Close()
	}
}
