package mail

import (
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// heapPeak samples the live heap until stop is called and returns the
// peak, so a benchmark can report what one sync costs in memory.
func heapPeak() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return func() uint64 { close(done); <-finished; return peak.Load() }
}

func (r *mailRig) totalCommands() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total
}

const benchMessages = 10000

// BenchmarkInitialSync10k: a device syncs a 10 000-message INBOX from key 0
// in windows of 100. Reports IMAP commands and peak heap per full sync.
func BenchmarkInitialSync10k(b *testing.B) {
	r := newRig(b, embeddedStore(b))
	r.seed("INBOX", benchMessages)
	inbox := r.folderID("INBOX")
	runtime.GC()
	n := 0
	var cmds int64
	var peak uint64
	for b.Loop() {
		n++
		r.device = "bench" + strconv.Itoa(n)
		start := r.totalCommands()
		stop := heapPeak()
		_, items := r.drain(inbox, r.primed(inbox, syncOpts{}), syncOpts{window: 100})
		peak = max(peak, stop())
		cmds = r.totalCommands() - start
		if len(items) != benchMessages {
			b.Fatalf("%d items", len(items))
		}
	}
	b.ReportMetric(float64(cmds), "imap-cmds/op")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}

// BenchmarkEmptySync10k: an incremental Sync with nothing new on a
// 10 000-message INBOX the device holds entirely.
func BenchmarkEmptySync10k(b *testing.B) {
	r := newRig(b, embeddedStore(b))
	r.seed("INBOX", benchMessages)
	inbox := r.folderID("INBOX")
	key, _ := r.drain(inbox, r.primed(inbox, syncOpts{}), syncOpts{window: 512})
	runtime.GC()
	stop := heapPeak()
	var cmds int64
	for b.Loop() {
		res := r.sync(inbox, key, syncOpts{})
		if len(res.Commands) != 0 {
			b.Fatalf("%d commands", len(res.Commands))
		}
		cmds = r.lastCommands("Sync")
	}
	peak := stop()
	b.ReportMetric(float64(cmds), "imap-cmds/op")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}
