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
