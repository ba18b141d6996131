package dav

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// Capabilities reads the DAV header's classes: the test Radicale's, and a
// server that schedules itself (RFC 6638), which the test servers are not.
func TestCapabilities(t *testing.T) {
	c, _, home := radicale(t)
	caps, err := c.Capabilities(ctxT(t), home)
	if err != nil {
		t.Fatal(err)
	}
	if !caps["calendar-access"] || caps["calendar-auto-schedule"] {
		t.Errorf("Radicale's classes %v: want calendar-access, and no auto-schedule", caps)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodOptions {
			t.Errorf("method %s", r.Method)
		}
		w.Header().Add("DAV", "1, 2, 3, calendar-access")
		w.Header().Add("DAV", "Calendar-Auto-Schedule , extended-mkcol")
	}))
	defer srv.Close()
	other, err := New(Config{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	caps, err = other.Capabilities(ctxT(t), "/home/")
	if err != nil {
		t.Fatal(err)
	}
	if !caps["calendar-auto-schedule"] || !caps["extended-mkcol"] || !caps["1"] {
		t.Errorf("classes %v", caps)
	}
}

// TestNoScheduleReply: the write option sends Schedule-Reply: F (RFC 6638
// 8.1) with the PUT's own condition; a plain write sends no such header.
func TestNoScheduleReply(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Method+" "+r.Header.Get("Schedule-Reply")+" "+r.Header.Get("If-Match")+r.Header.Get("If-None-Match"))
		w.Header().Set("ETag", `"2"`)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	c, err := New(Config{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	if _, err := c.Update(ctx, "/cal/a.ics", "1", ContentCalendar, []byte("x"), NoScheduleReply); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(ctx, "/cal/b.ics", ContentCalendar, []byte("x"), NoScheduleReply); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Update(ctx, "/cal/a.ics", "2", ContentCalendar, []byte("x")); err != nil {
		t.Fatal(err)
	}
	want := []string{`PUT F "1"`, "PUT F *", `PUT  "2"`}
	if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("requests %q, want %q", got, want)
	}
}
