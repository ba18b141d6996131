package imap

import (
	"crypto/tls"
	"errors"
	"time"
)

// Connection security modes for Config.Security.
const (
	SecurityTLS      = "tls"      // implicit TLS (port 993)
	SecurityStartTLS = "starttls" // plain connect, then STARTTLS (port 143)
	SecurityNone     = "none"     // no encryption; loopback tests only
)

// Defaults used when a Config leaves a duration zero.
const (
	DefaultDialTimeout    = 20 * time.Second
	DefaultCommandTimeout = 60 * time.Second
	// tcpKeepAlive makes a dead peer visible even while we wait in IDLE,
	// since go-imap has no read timeout of its own there.
	tcpKeepAlive = 30 * time.Second
)

// ErrLoginRejected is wrapped by errors from Dial and CheckLogin when the
// server refused the credentials (a tagged NO to LOGIN/AUTHENTICATE that is
// not a "try later" code). Network, TLS and temporary failures do not wrap it.
var ErrLoginRejected = errors.New("imap: login rejected")

// ErrNoMailbox is returned by message commands called before Select.
var ErrNoMailbox = errors.New("imap: no mailbox selected")

// Config says how to reach and log in to one user's IMAP server.
type Config struct {
	Addr           string      // host:port
	Security       string      // SecurityTLS, SecurityStartTLS or SecurityNone; "" means tls
	TLSConfig      *tls.Config // nil: system roots, ServerName from Addr
	Username       string
	Password       string
	DialTimeout    time.Duration // connect + TLS + greeting + login; 0: DefaultDialTimeout
	CommandTimeout time.Duration // bound on each command; 0: DefaultCommandTimeout
	// OnConn, if set, is told +1 when a session is established (logged in)
	// and -1 when it is closed: the caller's count of open connections.
	OnConn func(delta int)
}

func (c Config) dialTimeout() time.Duration {
	if c.DialTimeout > 0 {
		return c.DialTimeout
	}
	return DefaultDialTimeout
}

func (c Config) commandTimeout() time.Duration {
	if c.CommandTimeout > 0 {
		return c.CommandTimeout
	}
	return DefaultCommandTimeout
}
