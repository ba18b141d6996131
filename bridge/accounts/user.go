// Package accounts is the users directory: one YAML file per user naming the
// provider endpoints and how the bridge logs in upstream, plus the
// Authenticator that turns a device's HTTP Basic credentials into a Principal.
package accounts

import (
	"net"
	"strconv"
)

// Security is how a connection to an upstream server is protected.
type Security string

// The accepted values of Security.
const (
	SecurityTLS      Security = "tls"      // implicit TLS from the first byte (IMAPS 993, submissions 465)
	SecurityStartTLS Security = "starttls" // plain connect, then STARTTLS before login (IMAP 143, submission 587)
	SecurityNone     Security = "none"     // cleartext; only for loopback hosts unless allow_insecure
)

func (s Security) valid() bool {
	switch s {
	case SecurityTLS, SecurityStartTLS, SecurityNone:
		return true
	}
	return false
}

// Endpoint is one upstream server.
type Endpoint struct {
	Host     string
	Port     int
	Security Security
}

// Addr is host:port, with IPv6 literals bracketed, ready for net.Dial.
func (e Endpoint) Addr() string { return net.JoinHostPort(e.Host, strconv.Itoa(e.Port)) }

// Login modes.
const (
	// ModePassthrough: the device password is the provider password; it is
	// checked by an upstream IMAP login and cached only as a salted hash.
	ModePassthrough = "passthrough"
	// ModeAppPassword: the device password is checked against a bcrypt hash
	// in the user file; the provider secret comes from the file or the env.
	ModeAppPassword = "app-password"
)

// Login says how the device authenticates and how the bridge logs in upstream.
type Login struct {
	Mode                 string // ModePassthrough or ModeAppPassword
	UpstreamUser         string // the provider login name; defaults to the address
	DevicePasswordBcrypt string // app-password only
	// UpstreamPassword is the provider secret for app-password mode, already
	// resolved from upstream_password_env when that was given.
	UpstreamPassword string
}

// User is one valid entry of the users directory.
type User struct {
	Address            string // lower-cased address taken from the file name
	File               string // path of the file it was read from
	Preset             string // preset name, "" when endpoints are explicit
	IMAP, SMTP         Endpoint
	CalDAV, CardDAV    string // base URLs; "" when the provider offers none
	SentCopyByProvider bool   // the provider files submitted mail in Sent itself, so the bridge must not append a copy
	Login              Login
	// GAL is the user's own gal: setting; zero when the file has none
	// (then the domain's, then the user's own address books).
	GAL GAL
	// Contacts are the contacts: settings (merge_books auto when the
	// file has none).
	Contacts Contacts
}

// FileError is why one user file was not loaded.
type FileError struct {
	File  string // path of the file
	Field string // dotted YAML path ("imap.port"), "" when the whole file is at fault
	Msg   string
}

func (e FileError) Error() string {
	if e.Field == "" {
		return e.File + ": " + e.Msg
	}
	return e.File + ": " + e.Field + ": " + e.Msg
}
