package state

import (
	"context"
	"time"
)

// Change says that something in one collection of one user changed
// upstream (or was changed by one device). It carries no content: the
// receiver re-reads what it needs. Source is the device that caused the
// change, if any, so that device's own Ping is not woken by it (no echo).
type Change struct {
	User       string    `json:"u"`
	Collection string    `json:"c"`           // bridge collection ID; "" means the folder hierarchy
	Source     string    `json:"s,omitempty"` // device ID that made the change, "" for upstream
	At         time.Time `json:"t"`
}

// Bus carries change events between the watcher that saw them and every
// instance holding a parked Ping of that user. The in-process bus serves a
// single node; the Redis bus uses (sharded) pub/sub between instances.
//
// Delivery is at most once. A subscriber that falls behind drops events and
// is told so through Resync; a subscriber must then re-check everything it
// waits on, so a lost event never leaves a Ping sleeping forever.
type Bus interface {
	// Publish never blocks on subscribers.
	Publish(ctx context.Context, c Change) error
	// Subscribe delivers the user's changes until ctx ends or Close is
	// called on the subscription.
	Subscribe(ctx context.Context, user string) (Subscription, error)
	Close() error
}

// Subscription is one listener on one user's changes.
type Subscription interface {
	// Changes yields events; it is closed when the subscription ends.
	Changes() <-chan Change
	// Resync receives a value whenever events may have been lost (buffer
	// overflow, reconnect to Redis); the subscriber re-checks its state.
	Resync() <-chan struct{}
	Close() error
}

// Notifier is a Subscription that calls back when something arrives, so
// a subscriber with thousands of mostly idle subscriptions (the push hub:
// one per parked user) needs no goroutine blocked on each Changes
// channel. Both engines' subscriptions implement it.
type Notifier interface {
	// Notify sets f, called after every change or resync signal handed to
	// the subscription and once after Changes is closed; f must not block
	// (it schedules a drain of Changes and Resync elsewhere). Notify calls
	// f once itself, for whatever arrived before it was set. Calls of f
	// may overlap: the subscriber serialises its drains.
	Notify(f func())
}

// Leases make one instance at a time the owner of a named job (a user's
// upstream watcher). A lease held past its TTL without renewal lapses and
// another instance may take it.
type Leases interface {
	// Acquire takes the lease for owner if free or lapsed, or renews it if
	// owner already holds it. It reports whether owner holds it now, and a
	// fencing token that increases every time the lease changes hands.
	Acquire(ctx context.Context, name, owner string, ttl time.Duration) (held bool, token uint64, err error)
	// Renew extends a lease owner still holds; ErrNotFound when it lost it
	// (the owner must stop acting on it at once).
	Renew(ctx context.Context, name, owner string, token uint64, ttl time.Duration) error
	// RenewMany is Renew of many leases of one owner in one store call:
	// results[i] is nil when leases[i] was extended, ErrNotFound when it
	// was lost (lapsed, released, or fenced by a newer token), another
	// error for an invalid entry. err is a failure of the call as a whole
	// (the store is unreachable): then no result is known and results is
	// nil. An empty list is no call.
	RenewMany(ctx context.Context, owner string, ttl time.Duration, leases []LeaseRef) (results []error, err error)
	// Release gives the lease up if owner holds it; otherwise a no-op.
	Release(ctx context.Context, name, owner string, token uint64) error
}

// LeaseRef names one held lease for RenewMany: its name and the fencing
// token its holder got from Acquire.
type LeaseRef struct {
	Name  string
	Token uint64
}
