package dav

import (
	"fmt"
	"testing"
)

// benchObjects is the calendar size for the poll benchmarks: big enough
// that a listing's cost per object shows, small enough to fill quickly.
const benchObjects = 1000

func benchCalendar(b *testing.B) (*Client, *wire, string) {
	c, w, home := radicale(b)
	cal := newCalendar(b, c, home, "big")
	for i := range benchObjects {
		if _, err := c.Create(ctxT(b), fmt.Sprintf("%se%04d.ics", cal, i), ContentCalendar, event(fmt.Sprintf("b-%d", i), "bench")); err != nil {
			b.Fatal(err)
		}
	}
	return c, w, cal
}

func report(b *testing.B, w *wire) {
	n := float64(b.N)
	b.ReportMetric(float64(w.requests.Load())/n, "requests/op")
	b.ReportMetric(float64(w.sent.Load())/n, "sent-B/op")
	b.ReportMetric(float64(w.got.Load())/n, "recv-B/op")
}

// BenchmarkPollUnchanged: the cost of a poll that finds nothing, on each
// rung, for a calendar of benchObjects events.
func BenchmarkPollUnchanged(b *testing.B) {
	c, w, cal := benchCalendar(b)
	list, cur, err := c.List(ctxT(b), cal)
	if err != nil || len(list) != benchObjects {
		b.Fatalf("listing %d, %v", len(list), err)
	}
	for _, rung := range []struct {
		name string
		cur  Cursor
	}{
		{"sync-collection", Cursor{SyncToken: cur.SyncToken}},
		{"getctag", Cursor{CTag: cur.CTag}},
		{"etag-listing", Cursor{}},
	} {
		b.Run(rung.name, func(b *testing.B) {
			w.reset()
			for b.Loop() {
				ch, err := c.Poll(ctxT(b), cal, rung.cur, list)
				if err != nil || !ch.Empty() {
					b.Fatalf("poll: %+v, %v", ch, err)
				}
			}
			report(b, w)
		})
	}
}
