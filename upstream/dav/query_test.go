package dav

import (
	"maps"
	"testing"
	"time"
)

func TestListRange(t *testing.T) {
	c, _, home := radicale(t)
	ctx := ctxT(t)
	cal := newCalendar(t, c, home, "cal")
	put := func(name, ics string) string {
		t.Helper()
		e, err := c.Create(ctx, cal+name, ContentCalendar, []byte(ics))
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	jan := put("jan.ics", string(event("r-jan", "January"))) // 2026-01-05
	put("jun.ics", "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:r-jun\r\nDTSTAMP:20260101T000000Z\r\n"+
		"DTSTART:20260605T090000Z\r\nDTEND:20260605T100000Z\r\nSUMMARY:June\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
	// A weekly series from 2025 with instances inside the window.
	series := put("series.ics", "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:r-series\r\nDTSTAMP:20250101T000000Z\r\n"+
		"DTSTART:20250106T080000Z\r\nDTEND:20250106T083000Z\r\nRRULE:FREQ=WEEKLY\r\nSUMMARY:Weekly\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
	put("task.ics", "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VTODO\r\nUID:r-task\r\nDTSTAMP:20260101T000000Z\r\n"+
		"DUE:20260110T000000Z\r\nSUMMARY:Task\r\nEND:VTODO\r\nEND:VCALENDAR\r\n")

	got, err := c.ListRange(ctx, cal, "VEVENT", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{cal + "jan.ics": jan, cal + "series.ics": series}
	if !maps.Equal(got, want) {
		t.Fatalf("January VEVENTs = %v, want %v", got, want)
	}
	all, err := c.ListRange(ctx, cal, "VEVENT", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{})
	if err != nil || len(all) != 3 {
		t.Fatalf("VEVENTs from January on = %v, %v; want jan, jun, series", all, err)
	}
}
