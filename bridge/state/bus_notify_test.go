package state

import (
	"fmt"
	"testing"
	"time"
)

// The Notifier contract, on both engines: a subscriber that reads Changes
// only when called back misses nothing — a change, a Resync after an
// overflow, and the end of the subscription each call it.
func TestBusNotifierCallsBack(t *testing.T) {
	for _, eng := range busEngines() {
		t.Run(eng.name, func(t *testing.T) {
			p := eng.open(t)
			ctx := t.Context()
			user := eng.user(t)
			sub, err := p.sub.Subscribe(ctx, user)
			if err != nil {
				t.Fatal(err)
			}
			n, ok := sub.(Notifier)
			if !ok {
				t.Fatalf("%T is not a Notifier", sub)
			}
			calls := make(chan struct{}, 4*busSubscriberBuffer)
			n.Notify(func() {
				select {
				case calls <- struct{}{}:
				default:
				}
			})
			waitCall := func(what string) {
				t.Helper()
				select {
				case <-calls:
				case <-time.After(5 * time.Second):
					t.Fatalf("no callback for %s", what)
				}
			}
			waitCall("Notify itself")

			if err := p.pub.Publish(ctx, Change{User: user, Collection: "7"}); err != nil {
				t.Fatal(err)
			}
			waitCall("a change")
			select {
			case c := <-sub.Changes():
				if c.Collection != "7" {
					t.Errorf("got %+v, want collection 7", c)
				}
			default:
				t.Fatal("called back with nothing in Changes")
			}

			// Overflow without reading: the callback keeps coming and a
			// Resync is pending once the buffer is full.
			for i := range busSubscriberBuffer + 4 {
				if err := p.pub.Publish(ctx, Change{User: user, Collection: fmt.Sprint(i)}); err != nil {
					t.Fatal(err)
				}
			}
			busEventually(t, 5*time.Second, "a Resync after the overflow", func() bool {
				select {
				case <-sub.Resync():
					return true
				default:
					return false
				}
			})
			for len(calls) > 0 {
				<-calls
			}

			if err := sub.Close(); err != nil {
				t.Fatal(err)
			}
			waitCall("the end of the subscription")
			if !busClosedWithin(sub, time.Second) {
				t.Fatal("Changes not closed after Close")
			}
		})
	}
}
