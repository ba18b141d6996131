package dav

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/idlebridge/idlebridge/internal/testenv"
)

func TestDiscoverFromBaseURL(t *testing.T) {
	c, w, home := radicale(t)
	d, err := c.Discover(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("discovery %+v: %s", d, w)
	if d.Principal != home || d.CalendarHome != home || d.AddressBookHome != home {
		t.Fatalf("got %+v, want principal and homes %s", d, home)
	}
}

// TestDiscoverWellKnownToContextPath puts Radicale under /dav/ behind a
// reverse proxy (Radicale honours X-Script-Name) whose /.well-known/caldav
// and carddav redirect there, as RFC 6764 5 describes.
func TestDiscoverWellKnownToContextPath(t *testing.T) {
	target, err := url.Parse(testenv.DAVURL(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	var wellKnown atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/.well-known/"):
			wellKnown.Add(1)
			http.Redirect(w, r, "/dav/", http.StatusMovedPermanently)
		case strings.HasPrefix(r.URL.Path, "/dav/"):
			r.URL.Path = strings.TrimPrefix(r.URL.Path, "/dav")
			r.URL.RawPath = ""
			r.Header.Set("X-Script-Name", "/dav")
			proxy.ServeHTTP(w, r)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	user := testenv.UniqueUser(t)
	c, err := New(Config{URL: srv.URL, Username: user, Password: "x"})
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.Discover(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	want := "/dav/" + user + "/"
	if d.CalendarHome != want || d.AddressBookHome != want || wellKnown.Load() == 0 {
		t.Fatalf("got %+v after %d well-known requests, want homes %s", d, wellKnown.Load(), want)
	}
	// The home found is usable as is.
	if _, err := c.Calendars(ctxT(t), d.CalendarHome); err != nil {
		t.Fatal(err)
	}
}

// TestDiscoverRedirectToOtherHostNotFollowed: credentials go only to the
// configured host, so a well-known redirect elsewhere is not followed and
// discovery falls back to the base URL (which here is not DAV).
func TestDiscoverRedirectToOtherHostNotFollowed(t *testing.T) {
	var leaked atomic.Bool
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			leaked.Store(true)
		}
		w.WriteHeader(http.StatusMultiStatus)
	}))
	t.Cleanup(other.Close)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/.well-known/") {
			http.Redirect(w, r, other.URL+"/dav/", http.StatusMovedPermanently)
			return
		}
		w.WriteHeader(http.StatusNotFound)
	}))
	t.Cleanup(srv.Close)
	c, err := New(Config{URL: srv.URL, Username: "u", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Discover(ctxT(t))
	if err == nil || leaked.Load() {
		t.Fatalf("Discover = %v, credentials sent to the other host: %v", err, leaked.Load())
	}
	if !strings.Contains(err.Error(), "404") {
		t.Fatalf("want the base URL's 404, got %v", err)
	}
}

// TestDiscoverFromContextPath: a URL with a path of its own (as presets
// give, e.g. .../dav/) is asked directly, without the well-known step.
func TestDiscoverFromContextPath(t *testing.T) {
	user := testenv.UniqueUser(t)
	w := &wire{}
	c, err := New(Config{URL: testenv.DAVURL(t) + user + "/", Username: user, Password: "x",
		Transport: countRT{http.DefaultTransport, w}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.Discover(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	home := "/" + user + "/"
	if d.Principal != home || d.CalendarHome != home || d.AddressBookHome != home || w.requests.Load() != 2 {
		t.Fatalf("got %+v in %d requests, want homes %s in 2 (principal, home sets)", d, w.requests.Load(), home)
	}
}
