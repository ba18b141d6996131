package activesync

import (
	"context"
	"sync"
)

// byteBudget is a counting semaphore over bytes: the request bodies the
// server holds in memory at once. Waiters are served in arrival order, so
// a large body is not starved by a stream of small ones.
type byteBudget struct {
	capacity int64
	mu       sync.Mutex
	used     int64
	waiters  []*budgetWaiter
}

type budgetWaiter struct {
	n     int64
	ready chan struct{}
}

func newByteBudget(capacity int64) *byteBudget { return &byteBudget{capacity: capacity} }

// acquire takes n bytes (at most capacity), waiting until they are free or
// ctx ends.
func (b *byteBudget) acquire(ctx context.Context, n int64) error {
	b.mu.Lock()
	if len(b.waiters) == 0 && b.used+n <= b.capacity {
		b.used += n
		b.mu.Unlock()
		return nil
	}
	w := &budgetWaiter{n: n, ready: make(chan struct{})}
	b.waiters = append(b.waiters, w)
	b.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		b.mu.Lock()
		defer b.mu.Unlock()
		select {
		case <-w.ready: // granted meanwhile: give it back
			b.used -= n
			b.grant()
		default:
			for i, x := range b.waiters {
				if x == w {
					b.waiters = append(b.waiters[:i], b.waiters[i+1:]...)
					break
				}
			}
			b.grant() // the head may have changed
		}
		return ctx.Err()
	}
}

// release gives back n bytes.
func (b *byteBudget) release(n int64) {
	b.mu.Lock()
	b.used -= n
	b.grant()
	b.mu.Unlock()
}

// grant wakes waiters in order while they fit; b.mu is held.
func (b *byteBudget) grant() {
	for len(b.waiters) > 0 && b.used+b.waiters[0].n <= b.capacity {
		w := b.waiters[0]
		b.waiters = b.waiters[1:]
		b.used += w.n
		close(w.ready)
	}
}

// bodyBudget is the server's budget, made on first use from
// MaxBodyBytesInFlight.
func (s *Server) bodyBudget() *byteBudget {
	s.budgetOnce.Do(func() {
		n := s.MaxBodyBytesInFlight
		if n <= 0 {
			n = defaultMaxBodyBytesInFlight
		}
		s.budget = newByteBudget(n)
	})
	return s.budget
}
