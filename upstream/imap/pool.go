package imap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// staleAfter is how long a session may sit idle before the pool NOOPs it
// before handing it out: servers and NATs drop quiet connections.
const staleAfter = time.Minute

// spareIdle is how long sessions beyond the most recently used one stay
// logged in unused. A burst (several devices syncing at once) opens up to
// maxConns sessions; afterwards one is enough to answer the next Sync
// quickly, and providers cap connections per account (15 at Gmail,
// counting the phone's others and the push watcher's).
const spareIdle = 30 * time.Second

// ErrPoolClosed is returned by Acquire after Close.
var ErrPoolClosed = errors.New("imap: pool closed")

// Pool holds up to maxConns logged-in sessions of one user and lends them
// out one holder at a time. Sessions come back in whatever mailbox was
// selected; holders Select before message commands.
type Pool struct {
	cfg         Config
	idleTimeout time.Duration // for the most recently used idle session
	spareIdle   time.Duration // for the others
	log         *slog.Logger

	slots chan struct{} // one token per session in use or being dialed

	mu     sync.Mutex
	idle   []*Session // most recently released last
	closed bool
	done   chan struct{}
	// reaper logs out expired idle sessions; armed only while there are
	// idle sessions, so a pool with none holds no timer and no goroutine
	// (a parked user's pool usually has none).
	reaper *time.Timer
	reaps  sync.WaitGroup // reap passes running
}

// NewPool makes a pool for one user. The most recently used idle session
// is logged out after idleTimeout, the others after 30 s (or idleTimeout
// if shorter). log may be nil.
func NewPool(cfg Config, maxConns int, idleTimeout time.Duration, log *slog.Logger) *Pool {
	return newPool(cfg, maxConns, idleTimeout, spareIdle, log)
}

func newPool(cfg Config, maxConns int, idleTimeout, spare time.Duration, log *slog.Logger) *Pool {
	if maxConns < 1 {
		maxConns = 1
	}
	if idleTimeout <= 0 {
		idleTimeout = 5 * time.Minute
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Pool{
		cfg:         cfg,
		idleTimeout: idleTimeout,
		spareIdle:   min(idleTimeout, spare),
		log:         log.With("imap_user", cfg.Username),
		slots:       make(chan struct{}, maxConns),
		done:        make(chan struct{}),
	}
	return p
}

// reapEvery is how often expired idle sessions are looked for.
func (p *Pool) reapEvery() time.Duration {
	return max(min(p.idleTimeout/4, p.spareIdle/2), 50*time.Millisecond)
}

// armReaperLocked makes sure a reap pass is due while sessions are idle.
func (p *Pool) armReaperLocked() {
	if p.reaper == nil && !p.closed && len(p.idle) > 0 {
		p.reaper = time.AfterFunc(p.reapEvery(), p.reapIdle)
	}
}

// Acquire lends a session, waiting (bounded by ctx) while all maxConns are
// in use. The caller must call release exactly once, with broken=true if it
// saw the connection misbehave; broken sessions are closed, healthy ones
// kept for reuse. A login refusal wraps ErrLoginRejected.
func (p *Pool) Acquire(ctx context.Context) (*Session, func(broken bool), error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, fmt.Errorf("imap pool: waiting for a connection: %w", ctx.Err())
	case <-p.done:
		return nil, nil, ErrPoolClosed
	}
	s, err := p.take(ctx)
	if err != nil {
		<-p.slots
		return nil, nil, err
	}
	var once sync.Once
	release := func(broken bool) {
		once.Do(func() { p.put(s, broken); <-p.slots })
	}
	return s, release, nil
}

// take returns a healthy idle session or dials a new one.
func (p *Pool) take(ctx context.Context) (*Session, error) {
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, ErrPoolClosed
		}
		n := len(p.idle)
		if n == 0 {
			p.mu.Unlock()
			break
		}
		s := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()

		if s.Broken() {
			_ = s.Close()
			continue
		}
		if time.Since(s.lastUsed) > staleAfter {
			if err := s.Noop(ctx); err != nil {
				p.log.Debug("imap pool: dropping stale session", "err", err)
				_ = s.Close()
				if ctx.Err() != nil {
					return nil, fmt.Errorf("imap pool: %w", ctx.Err())
				}
				continue
			}
		}
		return s, nil
	}
	s, err := Dial(ctx, p.cfg)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (p *Pool) put(s *Session, broken bool) {
	p.mu.Lock()
	if broken || p.closed || s.Broken() {
		p.mu.Unlock()
		_ = s.Close()
		return
	}
	s.lastUsed = time.Now()
	p.idle = append(p.idle, s)
	p.armReaperLocked()
	p.mu.Unlock()
}

// reapIdle logs out the most recently used idle session after
// idleTimeout and the others after spareIdle, and re-arms itself while
// sessions are left.
func (p *Pool) reapIdle() {
	var expired []*Session
	p.mu.Lock()
	p.reaper = nil
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.reaps.Add(1)
	defer p.reaps.Done()
	kept := p.idle[:0]
	for i, s := range p.idle {
		limit := p.spareIdle
		if i == len(p.idle)-1 {
			limit = p.idleTimeout // the one handed out next
		}
		if time.Since(s.lastUsed) > limit {
			expired = append(expired, s)
		} else {
			kept = append(kept, s)
		}
	}
	clear(p.idle[len(kept):])
	p.idle = kept
	p.armReaperLocked()
	p.mu.Unlock()
	for _, s := range expired {
		p.logout(s)
	}
}

func (p *Pool) logout(s *Session) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.Logout(ctx)
}

// Idle returns the number of idle sessions (for tests and metrics).
func (p *Pool) Idle() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}

// Close logs out idle sessions and makes Acquire fail. Sessions still lent
// out are closed when released.
func (p *Pool) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	idle := p.idle
	p.idle = nil
	close(p.done)
	if p.reaper != nil {
		p.reaper.Stop()
		p.reaper = nil
	}
	p.mu.Unlock()
	p.reaps.Wait()
	for _, s := range idle {
		p.logout(s)
	}
}
