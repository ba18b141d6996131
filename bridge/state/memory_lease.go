package state

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// MemoryLeases are Leases within one process: enough for a single node,
// where the only contenders are goroutines of the same binary.
type MemoryLeases struct {
	now func() time.Time

	mu     sync.Mutex
	held   map[string]memoryLease
	fences map[string]uint64 // last token handed out per name; outlives the lease
}

type memoryLease struct {
	owner   string
	token   uint64
	expires time.Time
}

var _ Leases = (*MemoryLeases)(nil)

// NewMemoryLeases returns an empty lease table.
func NewMemoryLeases() *MemoryLeases {
	return &MemoryLeases{
		now:    time.Now,
		held:   make(map[string]memoryLease),
		fences: make(map[string]uint64),
	}
}

// current returns the live lease of name, forgetting a lapsed one.
func (l *MemoryLeases) current(name string, now time.Time) (memoryLease, bool) {
	cur, ok := l.held[name]
	if ok && !now.Before(cur.expires) {
		delete(l.held, name)
		return memoryLease{}, false
	}
	return cur, ok
}

// Acquire takes name for owner if free or lapsed, renews it if owner holds
// it already (same token), and reports false if someone else holds it.
func (l *MemoryLeases) Acquire(ctx context.Context, name, owner string, ttl time.Duration) (bool, uint64, error) {
	if err := checkLeaseArgs(name, owner, ttl); err != nil {
		return false, 0, err
	}
	if err := ctx.Err(); err != nil {
		return false, 0, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if cur, ok := l.current(name, now); ok {
		if cur.owner != owner {
			return false, 0, nil
		}
		cur.expires = now.Add(ttl)
		l.held[name] = cur
		return true, cur.token, nil
	}
	l.fences[name]++
	tok := l.fences[name]
	l.held[name] = memoryLease{owner: owner, token: tok, expires: now.Add(ttl)}
	return true, tok, nil
}

// Renew extends the lease if owner still holds it with token; otherwise
// ErrNotFound (lapsed, released or taken over).
func (l *MemoryLeases) Renew(ctx context.Context, name, owner string, token uint64, ttl time.Duration) error {
	if err := checkLeaseArgs(name, owner, ttl); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	cur, ok := l.current(name, now)
	if !ok || cur.owner != owner || cur.token != token {
		return fmt.Errorf("lease %q is no longer held: %w", name, ErrNotFound)
	}
	cur.expires = now.Add(ttl)
	l.held[name] = cur
	return nil
}

// RenewMany renews each lease as Renew would, under one lock.
func (l *MemoryLeases) RenewMany(ctx context.Context, owner string, ttl time.Duration, leases []LeaseRef) ([]error, error) {
	if len(leases) == 0 {
		return nil, nil
	}
	if err := checkLeaseArgs("many", owner, ttl); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res := make([]error, len(leases))
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for i, lr := range leases {
		if lr.Name == "" {
			res[i] = checkLeaseArgs(lr.Name, owner, ttl)
			continue
		}
		cur, ok := l.current(lr.Name, now)
		if !ok || cur.owner != owner || cur.token != lr.Token {
			res[i] = fmt.Errorf("lease %q is no longer held: %w", lr.Name, ErrNotFound)
			continue
		}
		cur.expires = now.Add(ttl)
		l.held[lr.Name] = cur
	}
	return res, nil
}

// Release frees the lease if owner holds it with token; otherwise nothing.
func (l *MemoryLeases) Release(ctx context.Context, name, owner string, token uint64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if cur, ok := l.current(name, l.now()); ok && cur.owner == owner && cur.token == token {
		delete(l.held, name)
	}
	return nil
}

// checkLeaseArgs rejects calls that could only be programming errors: an
// empty name or owner would let unrelated callers share a lease, and a
// non-positive TTL would grant a lease that is already over.
func checkLeaseArgs(name, owner string, ttl time.Duration) error {
	switch {
	case name == "":
		return fmt.Errorf("state: lease name is empty")
	case owner == "":
		return fmt.Errorf("state: lease %q: owner is empty", name)
	case ttl <= 0:
		return fmt.Errorf("state: lease %q: ttl %v is not positive", name, ttl)
	}
	return nil
}
