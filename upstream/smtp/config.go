package smtp

import (
	"crypto/tls"
	"time"
)

// Connection security modes for Config.Security (the same words the users
// directory and upstream/imap use).
const (
	SecurityTLS      = "tls"      // implicit TLS from the first byte (submissions, 465)
	SecurityStartTLS = "starttls" // plain connect, then STARTTLS before AUTH (submission, 587)
	SecurityNone     = "none"     // cleartext; AUTH only to a loopback address
)

// DefaultTimeout bounds the connection set-up and each command when
// Config.Timeout is zero. The final reply to DATA gets DataTimeout.
const (
	DefaultTimeout = 60 * time.Second
	// DataTimeout is how long the server may take to accept the message
	// after the final dot (RFC 5321 4.5.3.2.6 recommends 10 minutes).
	DataTimeout = 10 * time.Minute
)

// Config says how to reach and log in to one user's submission server.
type Config struct {
	Addr      string      // host:port
	Security  string      // SecurityTLS, SecurityStartTLS or SecurityNone; "" means tls
	TLSConfig *tls.Config // nil: system roots; ServerName defaults to the host of Addr
	Username  string      // "" sends without AUTH
	Password  string
	Timeout   time.Duration // connect + TLS + greeting, and each command; 0: DefaultTimeout
	HelloName string        // EHLO name; "" means "localhost"
}

func (c Config) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

func (c Config) security() string {
	if c.Security == "" {
		return SecurityTLS
	}
	return c.Security
}
