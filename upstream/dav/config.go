package dav

import (
	"crypto/tls"
	"net/http"
	"time"
)

// Defaults used when the matching Config field is zero.
const (
	DefaultTimeout          = 30 * time.Second
	DefaultMaxResponseBytes = 32 << 20 // a multiget batch of 50 large events fits; a runaway server does not
	DefaultUserAgent        = "idlebridge (CalDAV/CardDAV)"
	// DefaultBatch is how many hrefs one multiget REPORT asks for.
	DefaultBatch = 50
)

// Config says how to reach one user's CalDAV/CardDAV server.
type Config struct {
	// URL is the server's base or context URL (https://dav.example.com/ or
	// .../remote.php/dav/). Discover starts here.
	URL      string
	Username string // sent with Basic authentication; "" sends none
	Password string
	// TLSConfig for https; nil means the system roots.
	TLSConfig *tls.Config
	// Timeout bounds each request from sending to the last byte read.
	Timeout time.Duration
	// MaxResponseBytes bounds each response body.
	MaxResponseBytes int64
	UserAgent        string
	// Batch is the number of hrefs per multiget; 0 means DefaultBatch.
	Batch int
	// AllowCleartext permits Basic credentials over http to a host that
	// is not loopback (the user file's allow_insecure); otherwise New
	// refuses such a URL.
	AllowCleartext bool
	// Transport replaces the HTTP transport (tests count bytes with it);
	// nil builds one from TLSConfig.
	Transport http.RoundTripper
}

func (c Config) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

func (c Config) maxResponse() int64 {
	if c.MaxResponseBytes > 0 {
		return c.MaxResponseBytes
	}
	return DefaultMaxResponseBytes
}

func (c Config) userAgent() string {
	if c.UserAgent != "" {
		return c.UserAgent
	}
	return DefaultUserAgent
}
