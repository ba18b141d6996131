package bridge

import (
	"context"
	"log/slog"
	"runtime/debug"
)

// The push hub's work outside requests (routing a user's bus events, the
// re-check queue, the watch managers' passes, the upstream watchers)
// serves every parked request of the instance: a panic there, without a
// recovery point, ends the process and with it every parked Ping. Each gets the same treatment as a
// request on the front (activesync.Server.run): the panic is logged with
// its stack, counted (OnPanic, label = where), and the work goes on in the
// most conservative way for that place — see the callers.

// Places a push goroutine can recover at; bounded metric labels.
const (
	panicDispatch = "dispatch" // routing a bus event to parked requests
	panicCheck    = "check"    // re-checking a folder for a parked device
	panicWatcher  = "watcher"  // a user's watch manager or one of its loops
	panicRenew    = "renew"    // renewing the watched-set entries in a batch
)

// guard runs f and reports whether it panicked; a panic is logged and
// counted, never propagated.
func (p *Push) guard(where string, log *slog.Logger, f func()) (panicked bool) {
	defer func() {
		if v := recover(); v != nil {
			panicked = true
			log.Error("push: panic recovered", "where", where, "panic", v, "stack", string(debug.Stack()))
			if p.opts.OnPanic != nil {
				p.opts.OnPanic(where)
			}
		}
	}()
	if p.fault != nil {
		p.fault(where)
	}
	f()
	return false
}

// supervise runs loop until it returns without panicking or ctx ends;
// after a panic it starts loop again after a backoff, so a bug hit on
// every run does not spin. (The watch managers, which are not loops,
// recover the same way in userWatch.step.)
func (p *Push) supervise(ctx context.Context, log *slog.Logger, loop func(ctx context.Context)) {
	for n := 0; ctx.Err() == nil; n++ {
		if !p.guard(panicWatcher, log, func() { loop(ctx) }) {
			return
		}
		if !sleepCtx(ctx, backoff(n)) {
			return
		}
		log.Info("push: restarting a watcher after a panic")
	}
}
