package quietmem

import (
	"sync/atomic"
	"testing"
	"time"
)

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// One return per quiet period: none before the first Touch, one after
// it, none more while nothing touches (not a loop), one more after the
// next burst, and none after Stop.
func TestReturnsOncePerQuietPeriod(t *testing.T) {
	const quiet = 20 * time.Millisecond
	var freed, counted atomic.Int32
	r := New(quiet, nil, func() { counted.Add(1) })
	r.free = func() { freed.Add(1) }

	time.Sleep(5 * quiet)
	if n := freed.Load(); n != 0 {
		t.Fatalf("%d returns before anything happened, want 0", n)
	}
	for range 5 {
		r.Touch()
	}
	waitFor(t, "the first return", func() bool { return freed.Load() == 1 })
	time.Sleep(10 * quiet)
	if n := freed.Load(); n != 1 {
		t.Fatalf("%d returns after one quiet period, want 1", n)
	}
	r.Touch()
	waitFor(t, "the return after the second burst", func() bool { return freed.Load() == 2 })
	if n := counted.Load(); n != 2 {
		t.Fatalf("onReturn called %d times, want 2", n)
	}
	r.Touch()
	r.Stop()
	time.Sleep(10 * quiet)
	if n := freed.Load(); n != 2 {
		t.Fatalf("%d returns after Stop, want 2", n)
	}
}

// Touches that keep coming hold the return back: the quiet period is
// measured from the last one.
func TestBusyProcessDoesNotReturn(t *testing.T) {
	const quiet = 200 * time.Millisecond
	var freed atomic.Int32
	r := New(quiet, nil, nil)
	r.free = func() { freed.Add(1) }
	defer r.Stop()
	gapped := false // a loaded machine slept past quiet: a return is due then
	for range 20 {
		r.Touch()
		touched := time.Now()
		time.Sleep(quiet / 10)
		gapped = gapped || time.Since(touched) >= quiet
		if n := freed.Load(); n != 0 && !gapped {
			t.Fatalf("returned while touched every %v (quiet %v)", quiet/10, quiet)
		}
	}
	waitFor(t, "the return once touches stopped", func() bool { return freed.Load() == 1 })
}
