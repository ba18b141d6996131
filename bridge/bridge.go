// Package bridge is where ActiveSync meets the provider: it implements
// activesync.Backend on top of the users directory, the state store and
// the upstream clients. Protocol details stay in activesync/, provider
// details in upstream/; this package maps between them.
package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/accounts"
	"github.com/idlebridge/idlebridge/bridge/state"
)

// Authenticator checks device credentials; *accounts.Authenticator is the
// real one.
type Authenticator interface {
	Authenticate(ctx context.Context, address, password string) (*accounts.Principal, error)
}

// DeviceAuthenticator is an Authenticator that gives devices seen before
// a share of the provider logins strangers cannot use up.
type DeviceAuthenticator interface {
	AuthenticateDevice(ctx context.Context, address, password string, known func() bool) (*accounts.Principal, error)
	// Verified reports whether the password is in the verified cache.
	Verified(address, password string) bool
}

// Bridge implements activesync.Backend and, through the engines it
// embeds, the optional command interfaces: *Mail serves folders and mail,
// *Push serves Ping and hanging Sync, *Sender serves SendMail, SmartReply
// and SmartForward. All must be set before serving: their methods are
// promoted whether or not the pointers are nil.
type Bridge struct {
	Store state.Store
	Auth  Authenticator
	Log   *slog.Logger
	// MaxDevicesPerUser bounds the devices kept per user (the longest idle
	// is evicted); 0 means DefaultMaxDevicesPerUser.
	MaxDevicesPerUser int
	*Mail
	*Push
	*Sender
}

// New returns a Bridge; log may be nil. Set Mail, Push and Sender before
// serving.
func New(store state.Store, auth Authenticator, log *slog.Logger) *Bridge {
	if log == nil {
		log = slog.Default()
	}
	return &Bridge{Store: store, Auth: auth, Log: log}
}

var (
	_ activesync.Backend         = (*Bridge)(nil)
	_ activesync.Syncer          = (*Bridge)(nil)
	_ activesync.Pinger          = (*Bridge)(nil)
	_ activesync.RequestObserver = (*Bridge)(nil)
	_ activesync.Sender          = (*Bridge)(nil)
	_ activesync.DeviceLogin     = (*Bridge)(nil)
)

// Account is an authenticated user with the upstream credentials of the
// request that authenticated it.
type Account struct {
	Principal *accounts.Principal
}

// Address is the user's canonical address.
func (a *Account) Address() string { return a.Principal.User.Address }

// DisplayName is empty: the users directory does not hold names.
func (a *Account) DisplayName() string { return "" }

// Login authenticates a device's credentials.
func (b *Bridge) Login(ctx context.Context, username, password string) (activesync.Account, error) {
	return b.LoginDevice(ctx, username, password, "", nil)
}

// LoginDevice implements activesync.DeviceLogin.
func (b *Bridge) LoginDevice(ctx context.Context, username, password, deviceID string, known func() bool) (activesync.Account, error) {
	var p *accounts.Principal
	var err error
	if da, ok := b.Auth.(DeviceAuthenticator); ok {
		p, err = da.AuthenticateDevice(ctx, username, password, known)
	} else {
		p, err = b.Auth.Authenticate(ctx, username, password)
	}
	switch {
	case err == nil:
		return &Account{Principal: p}, nil
	case errors.Is(err, accounts.ErrBadCredentials):
		return nil, activesync.ErrBadCredentials
	case errors.Is(err, accounts.ErrThrottled):
		return nil, fmt.Errorf("%w: %w", activesync.ErrThrottled, err)
	case errors.Is(err, accounts.ErrUpstreamUnavailable):
		return nil, fmt.Errorf("%w: %w", activesync.ErrUnavailable, err)
	default:
		return nil, err
	}
}

// Verified implements activesync.DeviceLogin.
func (b *Bridge) Verified(username, password string) bool {
	da, ok := b.Auth.(DeviceAuthenticator)
	return ok && da.Verified(username, password)
}

// KnownDevice implements activesync.DeviceLogin: a device has a record
// only once it has authenticated (the front records it after login).
func (b *Bridge) KnownDevice(ctx context.Context, username, deviceID string) bool {
	if deviceID == "" || strings.ContainsRune(deviceID, '~') {
		return false
	}
	d, err := b.Store.GetDevice(ctx, strings.ToLower(username), deviceID)
	return err == nil && !d.FirstSeen.IsZero()
}

// storeErr marks store outages as retryable for the front.
func storeErr(err error) error {
	if errors.Is(err, state.ErrUnavailable) {
		return fmt.Errorf("%w: %w", activesync.ErrUnavailable, err)
	}
	return err
}

// busErr marks a change-bus failure as retryable for the front: whatever
// the engine's reason (Redis down, subscription not confirmed in time), a
// Ping cannot park without the bus, and trying again later is right.
func busErr(err error) error {
	if err == nil || errors.Is(err, activesync.ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: change bus: %w", activesync.ErrUnavailable, err)
}
