// Package quietmem returns the heap a burst of work left free to the
// operating system once the process has been quiet for a while.
//
// A bridge at rest allocates almost nothing: thousands of parked devices
// and their upstream connections wait without work. The set-up burst
// (logins, FolderSyncs, pool sessions that then close) leaves free pages
// the Go runtime keeps until a GC and its scavenger get to them, which at
// rest means Go's forced GC every two minutes and a slow scavenge after
// it: for minutes the process holds twice the memory it needs. After a
// quiet period — nothing parked, no upstream session opened or closed —
// one debug.FreeOSMemory returns them at once. It runs at most once per
// quiet period (a timer that only a new Touch re-arms), never in a loop,
// and holds no goroutine while waiting.
package quietmem

import (
	"log/slog"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
)

// Returner waits for quiet after each Touch.
type Returner struct {
	quiet    time.Duration
	log      *slog.Logger
	onReturn func() // counts each return (metrics); may be nil
	free     func() // debug.FreeOSMemory; tests count calls instead

	mu      sync.Mutex
	timer   *time.Timer
	stopped bool
}

// New returns a Returner that frees after quiet without a Touch. log and
// onReturn may be nil.
func New(quiet time.Duration, log *slog.Logger, onReturn func()) *Returner {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Returner{quiet: quiet, log: log, onReturn: onReturn, free: debug.FreeOSMemory}
}

// Touch says the process is busy: the quiet period starts again now.
func (r *Returner) Touch() {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	if r.timer == nil {
		r.timer = time.AfterFunc(r.quiet, r.fire)
		return
	}
	r.timer.Reset(r.quiet)
}

// Stop ends the Returner; a pending return does not run.
func (r *Returner) Stop() {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
	if r.timer != nil {
		r.timer.Stop()
	}
}

func (r *Returner) fire() {
	r.mu.Lock()
	stopped := r.stopped
	r.mu.Unlock()
	if stopped {
		return
	}
	before := released()
	start := time.Now()
	r.free()
	r.log.Debug("returned free heap to the OS after a quiet period",
		"quiet", r.quiet, "released_mib", float64(released()-before)/(1<<20), "took", time.Since(start).Round(time.Microsecond))
	if r.onReturn != nil {
		r.onReturn()
	}
}

// released is the heap the runtime has returned to the OS so far.
func released() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}
