package state

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// This file holds the Bus contract, run against both engines (the Redis
// engine registers itself in redis_bus_test.go), plus the MemoryBus case.

// busPair is a publishing bus and a subscribing bus that share one
// backend: the same MemoryBus twice, or two RedisBus instances on one
// Redis (the multi-instance wake-up path).
type busPair struct {
	pub, sub Bus
	// subscribers reports how many subscriptions the backend holds for
	// user, or -1 when the engine cannot tell.
	subscribers func(t testing.TB, user string) int
}

type busEngine struct {
	name string
	open func(t testing.TB) busPair
	user func(t testing.TB) string // isolates tests sharing a backend
}

func memoryBusEngine() busEngine {
	return busEngine{
		name: "memory",
		open: func(t testing.TB) busPair {
			b := NewMemoryBus()
			t.Cleanup(func() { _ = b.Close() })
			return busPair{pub: b, sub: b, subscribers: func(t testing.TB, user string) int {
				b.mu.RLock()
				defer b.mu.RUnlock()
				return len(b.users[user])
			}}
		},
		user: func(t testing.TB) string { return "alice-" + t.Name() + "@example.test" },
	}
}

// busEngines lists the engines the contract runs against. The Redis engine
// skips its subtests when no test Redis is configured.
func busEngines() []busEngine {
	return []busEngine{memoryBusEngine(), redisBusEngine()}
}

// busRecv waits up to d for the next change on s.
func busRecv(s Subscription, d time.Duration) (Change, bool) {
	select {
	case c, ok := <-s.Changes():
		return c, ok
	case <-time.After(d):
		return Change{}, false
	}
}

// busClosedWithin reports whether s's Changes channel closes within d,
// draining anything still buffered.
func busClosedWithin(s Subscription, d time.Duration) bool {
	deadline := time.After(d)
	for {
		select {
		case _, ok := <-s.Changes():
			if !ok {
				return true
			}
		case <-deadline:
			return false
		}
	}
}

func busEventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestBusDeliversToUserSubscribersOnly(t *testing.T) {
	at := time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)
	cases := []struct {
		name   string
		change func(user string) Change
	}{
		{"upstream change", func(u string) Change { return Change{User: u, Collection: "7", At: at} }},
		{"device change", func(u string) Change { return Change{User: u, Collection: "7", Source: "androidc1234", At: at} }},
		{"hierarchy change", func(u string) Change { return Change{User: u, Collection: "", At: at} }},
	}
	for _, eng := range busEngines() {
		t.Run(eng.name, func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					p := eng.open(t)
					ctx := t.Context()
					alice, bob := eng.user(t), "bob-"+eng.user(t)
					a1, err := p.sub.Subscribe(ctx, alice)
					if err != nil {
						t.Fatal(err)
					}
					a2, err := p.sub.Subscribe(ctx, alice)
					if err != nil {
						t.Fatal(err)
					}
					b1, err := p.sub.Subscribe(ctx, bob)
					if err != nil {
						t.Fatal(err)
					}
					want := tc.change(alice)
					if err := p.pub.Publish(ctx, want); err != nil {
						t.Fatalf("Publish: %v", err)
					}
					for i, s := range []Subscription{a1, a2} {
						got, ok := busRecv(s, 5*time.Second)
						if !ok {
							t.Fatalf("subscriber %d of %s got nothing", i, alice)
						}
						if got.User != want.User || got.Collection != want.Collection ||
							got.Source != want.Source || !got.At.Equal(want.At) {
							t.Errorf("subscriber %d got %+v, want %+v", i, got, want)
						}
					}
					if got, ok := busRecv(b1, 200*time.Millisecond); ok {
						t.Errorf("subscriber of %s got %+v meant for %s", bob, got, alice)
					}
				})
			}
		})
	}
}

func TestBusSubscriptionEnds(t *testing.T) {
	cases := []struct {
		name string
		end  func(cancel context.CancelFunc, s Subscription, b Bus)
	}{
		{"Close", func(_ context.CancelFunc, s Subscription, _ Bus) { _ = s.Close() }},
		{"context ends", func(cancel context.CancelFunc, _ Subscription, _ Bus) { cancel() }},
		{"bus closes", func(_ context.CancelFunc, _ Subscription, b Bus) { _ = b.Close() }},
	}
	for _, eng := range busEngines() {
		t.Run(eng.name, func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					p := eng.open(t)
					user := eng.user(t)
					ctx, cancel := context.WithCancel(t.Context())
					defer cancel()
					s, err := p.sub.Subscribe(ctx, user)
					if err != nil {
						t.Fatal(err)
					}
					if n := p.subscribers(t, user); n == 0 {
						t.Fatalf("backend holds no subscription for %s after Subscribe", user)
					}
					tc.end(cancel, s, p.sub)
					if !busClosedWithin(s, 5*time.Second) {
						t.Fatal("Changes not closed after the subscription ended")
					}
					if err := s.Close(); err != nil {
						t.Errorf("second Close: %v", err)
					}
					busEventually(t, 5*time.Second, "backend still subscribed", func() bool {
						return p.subscribers(t, user) == 0
					})
					// Publishing to a user nobody listens to is fine.
					if tc.name != "bus closes" || p.pub != p.sub {
						if err := p.pub.Publish(t.Context(), Change{User: user, Collection: "1"}); err != nil {
							t.Errorf("Publish after unsubscribe: %v", err)
						}
					}
				})
			}
		})
	}
}

// A subscriber that never reads must cost only its own events: Publish
// stays fast, the overflow turns into a Resync, and a reading subscriber
// of the same user still receives everything.
func TestBusOverflowSignalsResync(t *testing.T) {
	const published = busSubscriberBuffer + 20
	for _, eng := range busEngines() {
		t.Run(eng.name, func(t *testing.T) {
			p := eng.open(t)
			ctx := t.Context()
			user := eng.user(t)
			stuck, err := p.sub.Subscribe(ctx, user)
			if err != nil {
				t.Fatal(err)
			}
			reader, err := p.sub.Subscribe(ctx, user)
			if err != nil {
				t.Fatal(err)
			}
			// The reader takes each change before the next is published, so
			// only the stuck subscriber can fall behind.
			var publishing time.Duration
			for i := range published {
				start := time.Now()
				if err := p.pub.Publish(ctx, Change{User: user, Collection: fmt.Sprint(i)}); err != nil {
					t.Fatalf("Publish %d: %v", i, err)
				}
				publishing += time.Since(start)
				c, ok := busRecv(reader, 5*time.Second)
				if !ok || c.Collection != fmt.Sprint(i) {
					t.Fatalf("reading subscriber: change %d: got %+v, %v", i, c, ok)
				}
			}
			if publishing > 2*time.Second {
				t.Errorf("%d publishes with a stuck subscriber took %v", published, publishing)
			}

			select {
			case <-stuck.Resync():
			case <-time.After(5 * time.Second):
				t.Fatal("no Resync after the buffer overflowed")
			}
			if n := len(stuck.Changes()); n != busSubscriberBuffer {
				t.Errorf("stuck subscriber buffered %d changes, want %d", n, busSubscriberBuffer)
			}
			select {
			case <-reader.Resync():
				t.Error("reading subscriber was told to resync")
			default:
			}
		})
	}
}

// A Ping ends and the next one subscribes again at once, over and over;
// that churn must neither lose changes nor raise false Resyncs (each one
// would make every parked Ping of the user re-check for nothing).
func TestBusResubscribeChurnIsQuiet(t *testing.T) {
	for _, eng := range busEngines() {
		t.Run(eng.name, func(t *testing.T) {
			p := eng.open(t)
			ctx := t.Context()
			user := eng.user(t)
			var subs []Subscription
			for i := range 20 {
				s, err := p.sub.Subscribe(ctx, user)
				if err != nil {
					t.Fatalf("Subscribe %d: %v", i, err)
				}
				subs = append(subs, s)
				if err := p.pub.Publish(ctx, Change{User: user, Collection: fmt.Sprint(i)}); err != nil {
					t.Fatal(err)
				}
				if c, ok := busRecv(s, 5*time.Second); !ok || c.Collection != fmt.Sprint(i) {
					t.Fatalf("round %d: got %+v, %v", i, c, ok)
				}
				if i < 19 {
					_ = s.Close()
				}
			}
			time.Sleep(200 * time.Millisecond) // let stray confirmations arrive
			for i, s := range subs {
				select {
				case <-s.Resync():
					t.Errorf("subscription %d got a Resync", i)
				default:
				}
			}
		})
	}
}

func TestMemoryBusRejectsUseAfterClose(t *testing.T) {
	b := NewMemoryBus()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := b.Subscribe(t.Context(), "a@example.test"); err == nil {
		t.Error("Subscribe after Close succeeded")
	}
	if err := b.Publish(t.Context(), Change{User: "a@example.test"}); err == nil {
		t.Error("Publish after Close succeeded")
	}
}

// BenchmarkBusLatency measures one change from Publish on one bus to its
// arrival at a subscriber of another (for memory: the same) bus.
func BenchmarkBusLatency(b *testing.B) {
	for _, eng := range busEngines() {
		b.Run(eng.name, func(b *testing.B) {
			p := eng.open(b)
			user := eng.user(b)
			s, err := p.sub.Subscribe(b.Context(), user)
			if err != nil {
				b.Fatal(err)
			}
			c := Change{User: user, Collection: "7", At: time.Now()}
			for b.Loop() {
				if err := p.pub.Publish(b.Context(), c); err != nil {
					b.Fatal(err)
				}
				if _, ok := busRecv(s, 5*time.Second); !ok {
					b.Fatal("change not received")
				}
			}
		})
	}
}
