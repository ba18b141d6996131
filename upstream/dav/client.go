package dav

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// Client talks CalDAV and CardDAV to one user's server. It is safe for
// concurrent use.
type Client struct {
	cfg  Config
	base *url.URL
	http *http.Client
}

// New checks the configuration; it sends nothing.
func New(cfg Config) (*Client, error) {
	base, err := parseBase(cfg.URL)
	if err != nil {
		return nil, err
	}
	if base.Scheme == "http" && cfg.Username != "" && !cfg.AllowCleartext && !isLoopback(base.Hostname()) {
		return nil, fmt.Errorf("dav: refusing to send the password in clear text to %s (http, not loopback)", base.Host)
	}
	rt := cfg.Transport
	if rt == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = cfg.TLSConfig
		t.ResponseHeaderTimeout = cfg.timeout()
		rt = t
	}
	return &Client{
		cfg:  cfg,
		base: base,
		http: &http.Client{
			Transport: rt,
			// Redirects are followed only by discovery, by hand: net/http
			// would turn a PROPFIND into a GET on 301/302, and must not
			// carry credentials to another host unasked.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}, nil
}

// parseBase accepts a URL or a bare host name (https is assumed).
func parseBase(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("dav: no server URL configured")
	}
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("dav: server URL: %w", err)
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("dav: server URL %q: want an http or https URL with a host", u.Redacted())
	}
	u.User = nil // credentials come from the Config, never the URL
	if u.Path == "" {
		u.Path = "/"
	}
	return u, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// BaseURL is the configured URL (without credentials).
func (c *Client) BaseURL() string { return c.base.String() }

// resolve turns an href from the caller or the server into an absolute
// URL on the same server. Absolute hrefs to another host are refused.
func (c *Client) resolve(href string) (*url.URL, error) {
	ref, err := url.Parse(href)
	if err != nil {
		return nil, fmt.Errorf("dav: href %q: %w", href, err)
	}
	u := c.base.ResolveReference(ref)
	if u.Host != c.base.Host || u.Scheme != c.base.Scheme {
		return nil, fmt.Errorf("dav: href %q points outside %s", href, c.base.Host)
	}
	return u, nil
}

// reply is a whole (bounded) response.
type reply struct {
	code   int
	header http.Header
	body   []byte
}

// request describes one call.
type request struct {
	op     string // for errors and logs: "propfind", "put", ...
	method string
	href   string
	header map[string]string
	body   []byte
}

// do sends one request bounded by Config.Timeout and reads the answer up to
// Config.MaxResponseBytes. Every error it returns names the operation and
// href; HTTP error statuses come back as *StatusError, 3xx as the reply
// (only discovery follows them). Like upstream/imap's Session.do, it is the
// one place errors are sorted.
func (c *Client) do(ctx context.Context, r request) (*reply, error) {
	u, err := c.resolve(r.href)
	if err != nil {
		return nil, err
	}
	return c.doURL(ctx, r, u)
}

func (c *Client) doURL(ctx context.Context, r request, u *url.URL) (*reply, error) {
	href := escapedPath(u.Path) // the canonical form callers hold
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("dav %s %s: %w", r.op, href, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.timeout())
	defer cancel()
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("dav %s %s: %w", r.op, href, err)
	}
	c.decorate(req)
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	if r.body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", `application/xml; charset="utf-8"`)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("dav %s %s: %w", r.op, href, transportError(err))
	}
	defer resp.Body.Close()
	data, err := readBounded(resp.Body, c.cfg.maxResponse())
	if err != nil {
		return nil, fmt.Errorf("dav %s %s: %w", r.op, href, transportError(err))
	}
	rep := &reply{code: resp.StatusCode, header: resp.Header, body: data}
	if resp.StatusCode >= 400 {
		return nil, statusError(r.op, href, rep, time.Now())
	}
	return rep, nil
}

// decorate adds what every request carries.
func (c *Client) decorate(req *http.Request) {
	req.Header.Set("User-Agent", c.cfg.userAgent())
	if c.cfg.Username != "" {
		req.SetBasicAuth(c.cfg.Username, c.cfg.Password)
	}
}

// transportError keeps timeouts recognisable: a per-request deadline shows
// up as context.DeadlineExceeded whatever net/http wrapped it in.
func transportError(err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
	}
	return err
}

// readBounded reads all of r, failing with ErrResponseTooLarge past max.
func readBounded(r io.Reader, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%w (over %d bytes)", ErrResponseTooLarge, max)
	}
	return data, nil
}

// statusError builds the typed error for a 4xx/5xx answer, reading the
// DAV:error precondition element (RFC 4918 16) when the body has one.
func statusError(op, href string, rep *reply, now time.Time) error {
	se := &StatusError{Op: op, Href: href, Code: rep.code}
	if cond, ch, ok := parseDAVError(rep.body); ok {
		se.Precondition, se.ConflictHref = cond, ch
	}
	if rep.code == http.StatusTooManyRequests || rep.code == http.StatusServiceUnavailable {
		se.RetryAfter = parseRetryAfter(rep.header.Get("Retry-After"), now)
	}
	return se
}
