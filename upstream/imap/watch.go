package imap

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
)

// Default watch timings. RFC 2177 says servers may drop an IDLE after 30
// minutes; re-issuing it earlier keeps the connection alive.
const (
	DefaultIdleRestart  = 25 * time.Minute
	DefaultPollInterval = 60 * time.Second
)

// WatchOptions tune WatchWith. Zero fields take the defaults.
type WatchOptions struct {
	IdleRestart  time.Duration // re-issue IDLE this often (at most 25 min is sensible)
	PollInterval time.Duration // NOOP period when the server lacks IDLE
	// OnReady, if set, is called once the mailbox is examined and the
	// watch is listening, with the mailbox status at that moment. Changes
	// before it are not reported by onChange: compare this status with
	// what you last synced.
	OnReady func(Status)
	// NoIdle forces the NOOP polling fallback (tests).
	NoIdle bool
}

// Watch is WatchWith with default options.
func Watch(ctx context.Context, cfg Config, mailbox string, onChange func()) error {
	return WatchWith(ctx, cfg, mailbox, WatchOptions{}, onChange)
}

// WatchWith opens its own connection (never a pool one), EXAMINEs mailbox
// and waits for the server to report changes, with IDLE when offered or
// by sending NOOP every PollInterval otherwise.
//
// onChange fires after the watch is ready (see OnReady) whenever the
// server reports, unilaterally: a new message count (EXISTS), an EXPUNGE,
// or a FETCH (flag changes made by other sessions). Bursts are coalesced:
// calls are made from a single goroutine, never concurrently, and one call
// may stand for several updates; while onChange runs, further updates
// queue one more call. onChange is never called after WatchWith returns.
//
// It returns when ctx ends (nil error) or the connection fails (error);
// the caller reconnects with backoff. QRESYNC is never enabled, so no
// VANISHED responses arrive.
func WatchWith(ctx context.Context, cfg Config, mailbox string, opts WatchOptions, onChange func()) error {
	if opts.IdleRestart <= 0 {
		opts.IdleRestart = DefaultIdleRestart
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	changed := make(chan struct{}, 1)
	signal := func() {
		select {
		case changed <- struct{}{}:
		default: // a call is already queued
		}
	}
	handler := &imapclient.UnilateralDataHandler{
		Expunge: func(uint32) { signal() },
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				signal()
			}
		},
		Fetch: func(msg *imapclient.FetchMessageData) {
			// Must be drained: the reader goroutine waits on it.
			_, _ = msg.Collect()
			signal()
		},
	}

	s, err := dial(ctx, cfg, handler)
	if err != nil {
		return err
	}
	defer s.Close()
	st, err := s.Select(ctx, mailbox, true)
	if err != nil {
		return err
	}
	// Updates that arrived with the EXAMINE answer belong to the state
	// OnReady reports, not to a change after it.
	select {
	case <-changed:
	default:
	}

	notifyDone := make(chan struct{})
	stopNotify := make(chan struct{})
	go func() {
		defer close(notifyDone)
		for {
			select {
			case <-stopNotify:
				return
			case <-changed:
				onChange()
			}
		}
	}()
	defer func() { close(stopNotify); <-notifyDone }()

	if opts.OnReady != nil {
		opts.OnReady(st)
	}
	if s.caps.Idle && !opts.NoIdle {
		err = s.idleLoop(ctx, opts.IdleRestart)
	} else {
		err = s.pollLoop(ctx, opts.PollInterval)
	}
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// idleLoop holds IDLE, re-issuing it every restart, until ctx ends or the
// connection dies. go-imap restarts IDLE itself only after 28 minutes;
// stopping ours earlier keeps that timer from ever firing.
func (s *Session) idleLoop(ctx context.Context, restart time.Duration) error {
	for {
		var idle *imapclient.IdleCommand
		err := s.do(ctx, "idle", 1, func() error {
			var err error
			idle, err = s.client.Idle()
			return err
		})
		if err != nil {
			return err
		}
		timer := time.NewTimer(restart)
		var waitErr error
		select {
		case <-ctx.Done():
		case <-timer.C:
		case <-s.client.Closed():
			waitErr = fmt.Errorf("imap idle: %w", ErrBroken)
		}
		timer.Stop()
		if waitErr != nil {
			return waitErr
		}
		if ctx.Err() != nil {
			// Leave politely but do not wait long: Close follows anyway.
			stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			_ = s.stopIdle(stopCtx, idle)
			cancel()
			return nil
		}
		if err := s.stopIdle(ctx, idle); err != nil {
			return err
		}
	}
}

func (s *Session) stopIdle(ctx context.Context, idle *imapclient.IdleCommand) error {
	return s.do(ctx, "idle done", 0, func() error {
		if err := idle.Close(); err != nil {
			return err
		}
		return idle.Wait()
	})
}

// pollLoop sends NOOP every interval; the server answers with any pending
// EXISTS/EXPUNGE/FETCH updates, which reach the unilateral handler.
func (s *Session) pollLoop(ctx context.Context, interval time.Duration) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.client.Closed():
			return fmt.Errorf("imap poll: %w", ErrBroken)
		case <-tick.C:
		}
		if err := s.Noop(ctx); err != nil {
			if errors.Is(err, context.Canceled) && ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}
