package dav

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/emersion/go-webdav/caldav"
	"github.com/emersion/go-webdav/carddav"
)

// Discovery is what a user's server says about where their data lives.
type Discovery struct {
	Principal       string // href of the current-user-principal
	CalendarHome    string // calendar-home-set href; "" when the server has no CalDAV
	AddressBookHome string // addressbook-home-set href; "" when it has no CardDAV
}

// maxRedirects bounds the well-known redirect chain (RFC 6764 5 expects one).
const maxRedirects = 5

// LookupSRV finds the context URL of a bare domain from its _caldavs._tcp
// or _carddavs._tcp SRV and TXT records (RFC 6764 3, 4; via go-webdav, TLS
// records only). service is "caldav" or "carddav". The caller builds a
// Client on the URL it returns.
func LookupSRV(ctx context.Context, service, domain string) (string, error) {
	switch service {
	case "caldav":
		return caldav.DiscoverContextURL(ctx, domain)
	case "carddav":
		return carddav.DiscoverContextURL(ctx, domain)
	}
	return "", fmt.Errorf("dav: unknown service %q", service)
}

// Discover finds the principal and the calendar and address book homes
// (RFC 6764 6 steps 4-5, RFC 4791 6.2.1, RFC 6352 7.1.1). When the
// configured URL is a bare host ("/" path) it asks /.well-known/caldav and
// /.well-known/carddav first (RFC 6764 5) and falls back to the URL itself.
func (c *Client) Discover(ctx context.Context) (*Discovery, error) {
	var d Discovery
	var firstErr error
	seen := map[string]bool{}
	for _, service := range []string{"caldav", "carddav"} {
		if d.CalendarHome != "" && d.AddressBookHome != "" {
			break // one principal had both homes (Radicale, Nextcloud)
		}
		principal, err := c.principal(ctx, c.contextURL(ctx, service))
		if err == nil && !seen[principal] {
			seen[principal] = true
			var cal, book string
			if cal, book, err = c.homes(ctx, principal); err == nil {
				d.Principal = cmp.Or(d.Principal, principal)
				d.CalendarHome = cmp.Or(d.CalendarHome, cal)
				d.AddressBookHome = cmp.Or(d.AddressBookHome, book)
			}
		}
		if err != nil && firstErr == nil {
			firstErr = err // a server may offer only one of the two
		}
		if ctx.Err() != nil {
			break
		}
	}
	if d.Principal == "" && firstErr != nil {
		return nil, firstErr
	}
	if d.CalendarHome == "" && d.AddressBookHome == "" {
		return nil, fmt.Errorf("%w: principal %s has neither calendar-home-set nor addressbook-home-set", ErrNotDAV, d.Principal)
	}
	return &d, nil
}

// contextURL follows /.well-known/<service> when the base URL has no path
// of its own; on any failure it returns the base URL, which is where a
// server without well-known support (or a configured context path) answers.
func (c *Client) contextURL(ctx context.Context, service string) *url.URL {
	if c.base.Path != "/" {
		return c.base
	}
	u := c.base.ResolveReference(&url.URL{Path: "/.well-known/" + service})
	for range maxRedirects {
		rep, err := c.doURL(ctx, request{op: "well-known", method: "PROPFIND",
			header: map[string]string{"Depth": "0"}, body: []byte(principalPropfind)}, u)
		if err != nil {
			return c.base
		}
		if rep.code == http.StatusMultiStatus {
			return u
		}
		loc := rep.header.Get("Location")
		if rep.code/100 != 3 || loc == "" {
			return c.base
		}
		next, err := u.Parse(loc)
		// Radicale 3.1.8 answers 301 "Location: /" for both well-known
		// names. Credentials are only sent to the configured host, and
		// never downgraded from https.
		if err != nil || next.Host != c.base.Host || c.base.Scheme == "https" && next.Scheme != "https" {
			return c.base
		}
		u = next
	}
	return c.base
}

const principalPropfind = `<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:current-user-principal/></d:prop></d:propfind>`

// principal asks ctxURL for the current-user-principal (RFC 5397), through
// go-webdav.
func (c *Client) principal(ctx context.Context, ctxURL *url.URL) (string, error) {
	wc, err := c.webdavClient("principal", ctxURL)
	if err != nil {
		return "", err
	}
	p, err := wc.FindCurrentUserPrincipal(ctx)
	if err != nil {
		var se *StatusError
		if errors.As(err, &se) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return "", err
		}
		return "", fmt.Errorf("%w: current-user-principal at %s: %w", ErrNotDAV, ctxURL.Path, err)
	}
	if p == "" {
		return "", fmt.Errorf("%w: no current-user-principal at %s", ErrNotDAV, ctxURL.Path)
	}
	return escapedPath(p), nil
}

// homes reads both home sets of the principal in one PROPFIND; a missing
// one is "" (the server does not offer that service).
func (c *Client) homes(ctx context.Context, principal string) (cal, book string, err error) {
	const body = `<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:a="urn:ietf:params:xml:ns:carddav">
<d:prop><c:calendar-home-set/><a:addressbook-home-set/></d:prop></d:propfind>`
	ms, err := c.propfind(ctx, "home-set", principal, "0", body)
	if err != nil {
		return "", "", err
	}
	for _, r := range ms.Responses {
		p := r.found()
		if p.CalendarHome != nil && len(p.CalendarHome.Hrefs) > 0 {
			cal = normHref(p.CalendarHome.Hrefs[0])
		}
		if p.AddressHome != nil && len(p.AddressHome.Hrefs) > 0 {
			book = normHref(p.AddressHome.Hrefs[0])
		}
	}
	return cal, book, nil
}

// propfind sends a PROPFIND and parses the 207.
func (c *Client) propfind(ctx context.Context, op, href, depth, body string) (*multistatus, error) {
	return c.report(ctx, op, "PROPFIND", href, depth, body)
}

// report sends an XML request that must answer 207 Multi-Status.
func (c *Client) report(ctx context.Context, op, method, href, depth, body string) (*multistatus, error) {
	h := map[string]string{}
	if depth != "" {
		h["Depth"] = depth
	}
	rep, err := c.do(ctx, request{op: op, method: method, href: href, header: h, body: []byte(body)})
	if err != nil {
		return nil, err
	}
	if rep.code != http.StatusMultiStatus {
		return nil, fmt.Errorf("dav %s %s: %w: HTTP %d, want 207", op, href, ErrNotDAV, rep.code)
	}
	ms, err := parseMultistatus(rep.body)
	if err != nil {
		return nil, fmt.Errorf("dav %s %s: %w", op, href, err)
	}
	return ms, nil
}
