package davsync

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/internal/testenv"
	"github.com/idlebridge/idlebridge/upstream/dav"
)

// benchEvents is the calendar size the figures are for.
const benchEvents = 5000

// fill stores n events in coll, one every 3 hours back from now, in
// Europe/Berlin with an alarm (what a real calendar holds), by four
// parallel writers. Radicale slows down past a thousand PUTs into one
// collection (about 5 per second), so when IDLEBRIDGE_BENCH_RADICALE_DIR
// names the test Radicale's storage folder (.testenv/radicale/collections)
// the files are written there directly, as Radicale's multifilesystem
// storage keeps them; the bridge still reads everything over CalDAV.
func (e *env) fill(coll string, n int) {
	e.t.Helper()
	now := time.Now().UTC()
	dir := os.Getenv("IDLEBRIDGE_BENCH_RADICALE_DIR")
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				start := now.Add(-time.Duration(i) * 3 * time.Hour)
				ics := fmt.Sprintf("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\nBEGIN:VEVENT\r\nUID:bench-%d\r\nDTSTAMP:20260101T000000Z\r\n"+
					"DTSTART;TZID=Europe/Berlin:%s\r\nDURATION:PT1H\r\nSUMMARY:Event %d\r\nLOCATION:Room %d\r\nDESCRIPTION:Some notes for event %d\r\n"+
					"BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:x\r\nTRIGGER:-PT15M\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
					i, start.Format("20060102T150405"), i, i%40, i)
				name := fmt.Sprintf("b%05d.ics", i)
				if dir != "" {
					if err := os.WriteFile(filepath.Join(dir, "collection-root", strings.Trim(coll, "/"), name), []byte(ics), 0o644); err != nil {
						errs <- err
						return
					}
					continue
				}
				if _, err := e.other.Create(e.ctx, coll+name, "text/calendar", []byte(ics)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		e.t.Fatal(err)
	default:
	}
}

// peakHeap samples the live heap while f runs and returns the largest
// value seen (runtime/metrics, every 5 ms) after a GC before the start.
func peakHeap(f func()) uint64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	f()
	close(done)
	return peak.Load()
}

// BenchmarkCalendar5000 gives the closing note's figures for a calendar
// of 5 000 events: an initial sync of all of them (windows of 512, the
// most a device may ask for), an empty incremental Sync (upstream
// requests and bytes), and a two-week FilterType window.
//
// Radicale parses each new file once, slowly (minutes for 5 000 on a busy
// machine), and lists 5 000 objects in tens of seconds; with
// IDLEBRIDGE_BENCH_RADICALE_DIR set the calendar is the fixed user
// bench5000@example.test's, filled once and kept for later runs.
func BenchmarkCalendar5000(b *testing.B) {
	dir := os.Getenv("IDLEBRIDGE_BENCH_RADICALE_DIR")
	user := testenv.UniqueUser(b)
	if dir != "" {
		user = "bench5000@example.test"
	}
	e := newEnvUser(b, Options{Timeout: 15 * time.Minute}, user)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	e.ctx = ctx
	coll := e.home + "big/"
	other, err := dav.New(dav.Config{URL: testenv.DAVURL(b), Username: user, Password: "secret", Timeout: 15 * time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	fillStart := time.Now()
	if list, _, err := other.List(ctx, coll); err != nil || len(list) != benchEvents {
		if err == nil {
			b.Fatalf("%s holds %d objects, want %d", coll, len(list), benchEvents)
		}
		e.calendar("big", "Big", "VEVENT")
		e.fill(coll, benchEvents)
		if list, _, err := other.List(ctx, coll); err != nil || len(list) != benchEvents {
			b.Fatalf("warm-up listing: %d, %v", len(list), err)
		}
	}
	b.Logf("%d events ready in %v (with the server's first parse)", benchEvents, time.Since(fillStart))
	f := folderFor(engine.Ref{Kind: engine.KindCalendar, Path: coll})

	b.Run("initial", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			e.device = fmt.Sprintf("init%d-%d", i, time.Now().UnixNano())
			e.wire.reset()
			var n int
			start := time.Now()
			peak := peakHeap(func() {
				s := e.syncer(f, 161, 0)
				n = len(s.all(512))
			})
			el := time.Since(start)
			if n != benchEvents {
				b.Fatalf("initial sync brought %d items", n)
			}
			b.ReportMetric(el.Seconds(), "s")
			b.ReportMetric(float64(n)/el.Seconds(), "events/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(e.wire.requests.Load()), "upstream-requests")
			b.ReportMetric(float64(e.wire.got.Load())/(1<<20), "upstream-recv-MiB")
		}
	})
	b.Run("empty-incremental", func(b *testing.B) {
		e.device = fmt.Sprintf("steady-%d", time.Now().UnixNano())
		s := e.syncer(f, 161, 0)
		s.all(512)
		e.wire.reset()
		for b.Loop() {
			if res := s.run(nil, 100); len(res.Commands) != 0 {
				b.Fatalf("empty sync brought %d", len(res.Commands))
			}
		}
		time.Sleep(20 * time.Millisecond) // the write counter may trail the response
		n := float64(b.N)
		b.ReportMetric(float64(e.wire.requests.Load())/n, "upstream-requests/op")
		b.ReportMetric(float64(e.wire.sent.Load()+e.wire.got.Load())/n, "upstream-B/op")
	})
	b.Run("window-2-weeks", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			e.device = fmt.Sprintf("win%d-%d", i, time.Now().UnixNano())
			e.wire.reset()
			s := e.syncer(f, 161, 4)
			n := len(s.all(512))
			if n < 100 || n > 120 {
				b.Fatalf("two weeks of 3-hourly events: %d", n)
			}
			b.ReportMetric(float64(n), "events")
			b.ReportMetric(float64(e.wire.got.Load())/(1<<10), "upstream-recv-KiB")
		}
	})
}
