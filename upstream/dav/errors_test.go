package dav

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// canned answers every request with one status, headers and body: for the
// statuses Radicale cannot be made to send (429, 503, 507, a 409 naming
// the existing href).
func canned(t *testing.T, code int, header map[string]string, body string) *Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(code)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	c, err := New(Config{URL: srv.URL, Username: "u", Password: "p", MaxResponseBytes: 4096, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestStatusErrorsTyped(t *testing.T) {
	xmlCT := map[string]string{"Content-Type": "application/xml; charset=utf-8"}
	tests := []struct {
		name   string
		code   int
		header map[string]string
		body   string
		want   error
		check  func(*StatusError) bool
	}{
		{"412", 412, nil, "", ErrPrecondition, nil},
		{"409 with href", 409, xmlCT, `<?xml version="1.0"?><D:error xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><C:no-uid-conflict><D:href>/cal/other%40x.ics</D:href></C:no-uid-conflict></D:error>`,
			ErrConflict, func(se *StatusError) bool {
				return se.Precondition == "no-uid-conflict" && se.ConflictHref == "/cal/other@x.ics"
			}},
		{"403", 403, nil, "no", ErrForbidden, nil},
		{"404", 404, nil, "", ErrNotFound, nil},
		{"507", 507, nil, "", ErrInsufficientStorage, nil},
		{"429 seconds", 429, map[string]string{"Retry-After": "120"}, "", ErrRateLimited,
			func(se *StatusError) bool { return se.RetryAfter == 2*time.Minute && se.Temporary() }},
		{"503 date", 503, map[string]string{"Retry-After": time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)}, "", ErrUnavailable,
			func(se *StatusError) bool { return se.RetryAfter > 58*time.Minute && se.RetryAfter <= time.Hour }},
		{"503 garbage", 503, map[string]string{"Retry-After": "soon"}, "", ErrUnavailable,
			func(se *StatusError) bool { return se.RetryAfter == 0 }},
		{"403 sync token", 403, xmlCT, `<error xmlns="DAV:"><valid-sync-token/></error>`, ErrInvalidSyncToken,
			func(se *StatusError) bool { return !errors.Is(se, ErrForbidden) }},
		{"409 sync token", 409, xmlCT, `<error xmlns="DAV:"><valid-sync-token/></error>`, ErrInvalidSyncToken,
			func(se *StatusError) bool { return !errors.Is(se, ErrConflict) }},
		{"401", 401, nil, "", ErrUnauthorized, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := canned(t, tc.code, tc.header, tc.body)
			_, err := c.Create(context.Background(), "/cal/x.ics", ContentCalendar, []byte("x"))
			var se *StatusError
			if !errors.Is(err, tc.want) || !errors.As(err, &se) || se.Code != tc.code {
				t.Fatalf("err %v, want %v with code %d", err, tc.want, tc.code)
			}
			if tc.check != nil && !tc.check(se) {
				t.Fatalf("StatusError %+v", se)
			}
		})
	}
}

func TestResponseSizeBound(t *testing.T) {
	c := canned(t, 207, nil, `<multistatus xmlns="DAV:">`+strings.Repeat("<response><href>/x</href></response>", 500)+`</multistatus>`)
	_, err := c.Calendars(context.Background(), "/home/")
	if !errors.Is(err, ErrResponseTooLarge) {
		t.Fatalf("Calendars of a 17 KB answer with a 4 KB bound: %v", err)
	}
}

func TestRequestBounded(t *testing.T) {
	stall := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(207)
		w.(http.Flusher).Flush()
		select { // headers sent, body never finishes
		case <-stall:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(stall); srv.Close() })
	c, err := New(Config{URL: srv.URL, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Calendars(context.Background(), "/home/")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("stalled body: %v, want context.DeadlineExceeded", err)
	}
}

func TestRequestHeaders(t *testing.T) {
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		w.Header().Set("ETag", `"e2"`)
		w.WriteHeader(204)
	}))
	t.Cleanup(srv.Close)
	c, err := New(Config{URL: srv.URL, Username: "alice", Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	etag, err := c.Update(context.Background(), "/cal/x.ics", "e1", ContentCalendar, []byte("x"))
	if err != nil || etag != `"e2"` {
		t.Fatalf("update: %q %v", etag, err)
	}
	u, p, ok := (&http.Request{Header: got}).BasicAuth()
	if !ok || u != "alice" || p != "pw" || got.Get("User-Agent") != DefaultUserAgent || got.Get("If-Match") != `"e1"` || got.Get("If-None-Match") != "" {
		t.Fatalf("headers %v", got)
	}
}

func TestHrefOutsideServerRefused(t *testing.T) {
	c := canned(t, 204, nil, "")
	if err := c.Delete(context.Background(), "https://evil.example/x.ics", ""); err == nil {
		t.Fatal("DELETE to another host was sent")
	}
}

func TestTLSConfigUsed(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(207)
		_, _ = w.Write([]byte(`<multistatus xmlns="DAV:" xmlns:cs="http://calendarserver.org/ns/"><response><href>/home/</href><propstat><prop><cs:getctag>7</cs:getctag></prop><status>HTTP/1.1 200 OK</status></propstat></response></multistatus>`))
	}))
	t.Cleanup(srv.Close)
	plain, err := New(Config{URL: srv.URL, Username: "u", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.Calendars(context.Background(), "/home/"); err == nil {
		t.Fatal("an unknown CA was accepted")
	}
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	c, err := New(Config{URL: srv.URL, Username: "u", Password: "p", TLSConfig: &tls.Config{RootCAs: pool}})
	if err != nil {
		t.Fatal(err)
	}
	if cals, err := c.Calendars(context.Background(), "/home/"); err != nil || len(cals) != 0 {
		t.Fatalf("calendars %v, %v", cals, err)
	}
}

func TestCleartextRefused(t *testing.T) {
	if _, err := New(Config{URL: "http://dav.example.com/", Username: "u", Password: "p"}); err == nil {
		t.Fatal("Basic over http to a remote host accepted")
	}
	for _, cfg := range []Config{
		{URL: "http://dav.example.com/", Username: "u", Password: "p", AllowCleartext: true},
		{URL: "http://127.0.0.1:8080/", Username: "u", Password: "p"},
		{URL: "dav.example.com"}, // bare host: https
	} {
		if _, err := New(cfg); err != nil {
			t.Errorf("%s: %v", cfg.URL, err)
		}
	}
}

func TestStatusErrorHrefCanonical(t *testing.T) {
	c := canned(t, 412, nil, "")
	_, err := c.Update(context.Background(), "/cal/a%20b.ics", "e", ContentCalendar, []byte("x"))
	var se *StatusError
	if !errors.As(err, &se) || se.Href != "/cal/a%20b.ics" {
		t.Fatalf("err %v, want Href /cal/a%%20b.ics", err)
	}
}
