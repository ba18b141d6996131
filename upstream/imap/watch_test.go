package imap

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestWatchFiresOnAppend(t *testing.T) {
	for _, mode := range []struct {
		name string
		opts WatchOptions
	}{
		{name: "idle", opts: WatchOptions{}},
		{name: "noop poll", opts: WatchOptions{NoIdle: true, PollInterval: 200 * time.Millisecond}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			cfg := plainConfig(t)
			writer := mustDial(t, cfg)
			ctx, cancel := context.WithCancel(testCtx(t))
			defer cancel()

			ready := make(chan Status, 1)
			fired := make(chan struct{}, 16)
			var calls atomic.Int32
			opts := mode.opts
			opts.OnReady = func(st Status) { ready <- st }
			done := make(chan error, 1)
			go func() {
				done <- WatchWith(ctx, cfg, "INBOX", opts, func() {
					calls.Add(1)
					fired <- struct{}{}
				})
			}()
			select {
			case st := <-ready:
				if st.Messages != 0 {
					t.Fatalf("ready status %+v, want an empty INBOX", st)
				}
			case err := <-done:
				t.Fatalf("Watch returned before ready: %v", err)
			case <-time.After(30 * time.Second):
				t.Fatal("Watch not ready")
			}
			if calls.Load() != 0 {
				t.Fatal("onChange fired before any change")
			}

			mustAppend(t, writer, "INBOX", simpleMessage("a@example.test", "b@example.test", "push", "x"))
			select {
			case <-fired:
			case <-time.After(30 * time.Second):
				t.Fatal("onChange did not fire after APPEND from another session")
			}

			// Flag changes by another session fire too.
			mustSelect(t, writer, "INBOX")
			drain(fired)
			if err := writer.Store(testCtx(t), AllUIDs(), StoreAdd, []string{`\Seen`}); err != nil {
				t.Fatalf("Store: %v", err)
			}
			select {
			case <-fired:
			case <-time.After(30 * time.Second):
				t.Fatal("onChange did not fire after a flag change from another session")
			}

			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Watch after cancel = %v, want nil", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Watch did not return after cancel")
			}
		})
	}
}

func drain(ch chan struct{}) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

func TestWatchMissingMailbox(t *testing.T) {
	cfg := plainConfig(t)
	err := Watch(testCtx(t), cfg, "No such folder", func() {})
	if err == nil {
		t.Fatal("Watch of a missing mailbox returned nil")
	}
}
