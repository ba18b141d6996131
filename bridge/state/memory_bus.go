package state

import (
	"context"
	"errors"
	"sync"
)

// busSubscriberBuffer is how many undelivered changes one subscription
// holds before new ones are dropped and the subscriber is told to resync.
// A parked Ping reacts to the first change, so a handful would do; 16
// absorbs an ordinary burst, and a larger one (a mass move of mail) costs
// a resync — one re-check per folder — rather than memory held by every
// parked request (thousands wait at once).
const busSubscriberBuffer = 16

// errBusClosed is returned by a bus after Close.
var errBusClosed = errors.New("state: change bus closed")

// localSub is one Subscription on one node. Both buses use it for the
// last hop: a non-blocking hand-over into a bounded buffer.
type localSub struct {
	changes chan Change
	resync  chan struct{}

	mu      sync.Mutex // orders deliver against close of changes
	closed  bool
	stopCtx func() bool // detaches the ctx watcher; guarded by mu

	release func(*localSub) // removes the sub from its bus; set before it is shared
	notify  func()          // Notifier's callback; guarded by mu
}

var _ Notifier = (*localSub)(nil)

// Notify sets the callback told of every hand-over (see Notifier).
func (s *localSub) Notify(f func()) {
	s.mu.Lock()
	s.notify = f
	s.mu.Unlock()
	f()
}

// notified returns the callback to call once mu is released. Called with
// mu held.
func (s *localSub) notified() func() {
	if s.notify == nil {
		return func() {}
	}
	return s.notify
}

func newLocalSub() *localSub {
	return &localSub{
		changes: make(chan Change, busSubscriberBuffer),
		resync:  make(chan struct{}, 1),
	}
}

// watch ends the subscription when ctx ends.
func (s *localSub) watch(ctx context.Context) {
	stop := context.AfterFunc(ctx, func() { _ = s.Close() })
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		stop()
		return
	}
	s.stopCtx = stop
}

func (s *localSub) Changes() <-chan Change  { return s.changes }
func (s *localSub) Resync() <-chan struct{} { return s.resync }

// deliver hands c over without ever blocking: when the buffer is full the
// change is dropped and the subscriber is told to re-check instead.
func (s *localSub) deliver(c Change) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	select {
	case s.changes <- c:
	default:
		s.pushResync()
	}
	f := s.notified()
	s.mu.Unlock()
	f()
}

// signalResync tells the subscriber that events may have been lost.
func (s *localSub) signalResync() {
	s.mu.Lock()
	s.pushResync()
	f := s.notified()
	s.mu.Unlock()
	f()
}

// pushResync leaves at most one pending signal; more would say nothing
// new. Called with mu held.
func (s *localSub) pushResync() {
	select {
	case s.resync <- struct{}{}:
	default:
	}
}

// Close ends the subscription and closes Changes. Closing twice is fine.
func (s *localSub) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.changes)
	stop := s.stopCtx
	f := s.notified()
	s.mu.Unlock()
	if stop != nil {
		stop()
	}
	f()
	if s.release != nil {
		s.release(s)
	}
	return nil
}

// MemoryBus is the in-process Bus for a single node: Publish hands the
// change straight to the user's local subscribers.
type MemoryBus struct {
	mu     sync.RWMutex
	users  map[string]map[*localSub]struct{}
	closed bool
}

var _ Bus = (*MemoryBus)(nil)

// NewMemoryBus returns an empty in-process bus.
func NewMemoryBus() *MemoryBus {
	return &MemoryBus{users: make(map[string]map[*localSub]struct{})}
}

// Publish delivers c to every current subscriber of c.User. It never
// blocks: a subscriber with a full buffer loses c and gets a Resync.
func (b *MemoryBus) Publish(ctx context.Context, c Change) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return errBusClosed
	}
	for s := range b.users[c.User] {
		s.deliver(c)
	}
	return nil
}

// Subscribe listens to user's changes until ctx ends or the subscription
// is closed.
func (b *MemoryBus) Subscribe(ctx context.Context, user string) (Subscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := newLocalSub()
	s.release = func(s *localSub) { b.remove(user, s) }
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, errBusClosed
	}
	subs := b.users[user]
	if subs == nil {
		subs = make(map[*localSub]struct{})
		b.users[user] = subs
	}
	subs[s] = struct{}{}
	b.mu.Unlock()

	s.watch(ctx)
	return s, nil
}

func (b *MemoryBus) remove(user string, s *localSub) {
	b.mu.Lock()
	defer b.mu.Unlock()
	subs := b.users[user]
	delete(subs, s)
	if len(subs) == 0 {
		delete(b.users, user)
	}
}

// Close ends every subscription; Publish and Subscribe fail afterwards.
func (b *MemoryBus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	var all []*localSub
	for _, subs := range b.users {
		for s := range subs {
			all = append(all, s)
		}
	}
	b.mu.Unlock()
	for _, s := range all {
		_ = s.Close()
	}
	return nil
}
