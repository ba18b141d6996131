package activesync

import (
	"context"
	"errors"
	"time"
)

// Backend is what the protocol front needs from the bridge.
type Backend interface {
	// Login checks a device's credentials (HTTP Basic). It returns
	// ErrBadCredentials for any wrong user or password (never which part),
	// or an error wrapping ErrUnavailable when the provider or the store
	// cannot be reached (the device is then told to retry, not to ask the
	// user for a new password).
	Login(ctx context.Context, username, password string) (Account, error)

	// UpdateDevice atomically reads the device record (a new one with
	// FirstSeen zero when unknown), lets fn change it and stores it. When fn
	// returns an error nothing is stored.
	UpdateDevice(ctx context.Context, acct Account, deviceID string, fn func(*Device) error) (*Device, error)
}

// DeviceLogin is an optional Backend extension that lets the front tell a
// device that has logged in before from a stranger, so that a stranger
// guessing a user's password cannot lock the user's own phones out.
type DeviceLogin interface {
	// KnownDevice reports whether deviceID has authenticated as username
	// before (it has a device record). It is asked only under attack.
	KnownDevice(ctx context.Context, username, deviceID string) bool
	// LoginDevice is Login for a named device; known (memoised) answers
	// KnownDevice, for a Backend that rations provider logins. It may
	// return an error wrapping ErrThrottled (HTTP 429).
	LoginDevice(ctx context.Context, username, password, deviceID string, known func() bool) (Account, error)
	// Verified reports, without I/O, whether the password was verified
	// for username a moment ago (it is cached): such a login is not a
	// guess and skips the failed-login back-off.
	Verified(username, password string) bool
}

// Account is an authenticated user, as the Backend knows it. The front only
// reads the address; the value is handed back to the Backend's command
// methods, which keep whatever they need in it (upstream credentials).
type Account interface {
	Address() string     // canonical address, e.g. alice@example.com
	DisplayName() string // may be empty
}

// Device is the protocol's view of one device of one user.
type Device struct {
	ID              string
	Type            string
	UserAgent       string
	ProtocolVersion string
	Info            map[string]string // Settings DeviceInformation

	PolicyKey        uint32 // acknowledged key; 0 = not provisioned
	PendingPolicyKey uint32 // handed out in phase 1, not yet acknowledged
	PolicyHash       string // hash of the policy the device acknowledged

	Wipe          WipeStatus
	WipeRequested time.Time
	WipeAcked     time.Time

	FirstSeen time.Time
	LastSeen  time.Time
	// LastActive is the last request other than a Ping: the device's
	// user at work (or its app syncing), not just the phone waiting.
	LastActive time.Time

	// Meta keeps small per-device protocol state between requests: the
	// last full Sync request (for empty and partial Syncs), the last Ping's
	// folders and heartbeat.
	Meta map[string]string
}

// WipeStatus tracks a remote wipe from the admin's request to the device's
// acknowledgement (MS-ASPROV 3.2.5.1.2.2).
type WipeStatus int

const (
	WipeNone      WipeStatus = iota // nothing requested
	WipeRequested                   // an admin asked; the next request is told to wipe
	WipeSent                        // RemoteWipe sent, acknowledgement outstanding
	WipeDone                        // the device acknowledged
)

// Errors a Backend returns that the front maps to protocol answers.
var (
	// ErrBadCredentials: wrong user or password; HTTP 401.
	ErrBadCredentials = errors.New("activesync: bad credentials")
	// ErrUnavailable: a dependency (store, provider) is down; HTTP 503 with
	// Retry-After, or the command's "server error, retry" status.
	ErrUnavailable = errors.New("activesync: temporarily unavailable")
)
