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
	"github.com/idlebridge/idlebridge/bridge/directory"
	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/bridge/foldermap"
	"github.com/idlebridge/idlebridge/bridge/imappools"
	"github.com/idlebridge/idlebridge/bridge/login"
	"github.com/idlebridge/idlebridge/bridge/mail"
	"github.com/idlebridge/idlebridge/bridge/outage"
	"github.com/idlebridge/idlebridge/bridge/send"
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

// Bridge implements activesync.Backend and every optional command
// interface with explicit methods (asserted below), each routing by the
// kind of the collection it names: mail to *Mail, every other kind to the
// engine.Class plugged in for it, run by engine.Engine. Push serves Ping
// and hanging Sync, Sender serves SendMail, SmartReply and SmartForward.
// No engine is embedded: with two engines offering a method of the same
// name, Go would drop the promoted method silently and with it a command.
type Bridge struct {
	Store state.Store
	Auth  Authenticator
	Log   *slog.Logger
	// MaxDevicesPerUser bounds the devices kept per user (the longest idle
	// is evicted); 0 means DefaultMaxDevicesPerUser.
	MaxDevicesPerUser int
	Mail              *Mail
	Push              *Push
	Sender            *send.Sender
	// Meetings serves MeetingResponse (meetings.go); nil answers status 4.
	Meetings *Meetings

	directory  *directory.Service
	domains    func(domain string) (*accounts.Domain, bool)
	davClients davClientCache

	engine  engine.Engine
	classes []engine.Class
	byKind  map[engine.Kind]*engine.Class
	closers []func()
}

// Config is everything the bridge is built from; serve and the test
// harness build it the same way.
type Config struct {
	Store state.Store
	Auth  Authenticator
	Log   *slog.Logger // nil: slog.Default()
	// Upstreams is the request path's IMAP pools; nil: a default set,
	// closed by Close.
	Upstreams *imappools.Registry
	// Bus and Leases are the change bus and the watch lease; nil: the
	// in-process ones (a single instance).
	Bus    state.Bus
	Leases state.Leases

	MailOptions   mail.Options
	PushOptions   PushOptions
	SenderOptions send.Options
	// Classes are the item classes served beside mail (calendar, tasks,
	// contacts), routed by the kinds of their collections.
	Classes []engine.Class
	// MaxDevicesPerUser: see Bridge.
	MaxDevicesPerUser int
	// Domains gives a mail domain's defaults (the GAL of everyone at it;
	// accounts.Directory.Domain); nil: none.
	Domains func(domain string) (*accounts.Domain, bool)
	// DirectoryOptions tune GAL Search and ResolveRecipients.
	DirectoryOptions directory.Options
	// MeetingCalendar is the calendar side of MeetingResponse; nil: answers
	// are sent (16.x SendResponse) but stored in no calendar.
	MeetingCalendar MeetingCalendar
}

// New builds the bridge: the mail engine, the push hub (with the classes'
// watchers) and the send engine over one store. Close stops it.
func New(cfg Config) *Bridge {
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	b := &Bridge{Store: cfg.Store, Auth: cfg.Auth, Log: log, MaxDevicesPerUser: cfg.MaxDevicesPerUser,
		engine: engine.Engine{Store: cfg.Store}, byKind: map[engine.Kind]*engine.Class{}}
	b.classes = append(b.classes, cfg.Classes...)
	for i := range b.classes {
		for _, k := range b.classes[i].Kinds {
			if k == engine.KindMail {
				continue // mail is served by *Mail
			}
			if _, dup := b.byKind[k]; dup {
				log.Warn("bridge: two classes serve the same kind; the first one wins", "kind", k)
				continue
			}
			b.byKind[k] = &b.classes[i]
		}
	}
	up := cfg.Upstreams
	if up == nil {
		up = imappools.New(imappools.Options{}, log)
		b.closers = append(b.closers, up.Close)
	}
	bus, leases := cfg.Bus, cfg.Leases
	if bus == nil {
		bus = state.NewMemoryBus()
		b.closers = append(b.closers, func() { _ = bus.Close() })
	}
	if leases == nil {
		leases = state.NewMemoryLeases()
	}
	b.Mail = NewMail(cfg.Store, up, log, cfg.MailOptions)
	b.Push = NewPush(bus, leases, cfg.Store, b, log, cfg.PushOptions)
	b.Push.classes = b.classes
	b.Sender = send.New(cfg.Store, up, mailFolders{cfg.Store}, log, cfg.SenderOptions)
	b.domains = cfg.Domains
	b.directory = directory.New(b.directoryUser, cfg.DirectoryOptions, log)
	b.closers = append(b.closers, b.directory.Close)
	mc := cfg.MeetingCalendar
	if mc == nil {
		mc = meetingCalendarOf(b)
	}
	b.Meetings = &Meetings{Sender: b.Sender, Calendar: mc, Log: log}
	b.Mail.SetOnCancel(b.Meetings.applyCancel)
	for _, c := range b.classes {
		if h, ok := c.Source.(organizerHooked); ok {
			h.SetOrganizerHook(b.sendInvites)
		}
	}
	return b
}

// The send engine borrows the request path's IMAP pools.
var _ send.IMAPSessions = (*imappools.Registry)(nil)

// mailFolders resolves folder IDs for the send engine with the user's
// folder map.
type mailFolders struct{ st state.Store }

func (f mailFolders) MailboxOf(ctx context.Context, acct *Account, folderID string) (string, bool, error) {
	return foldermap.MailboxOf(ctx, f.st, acct.Address(), folderID)
}

// Close answers parked requests and stops the watchers (and what New
// made for itself).
func (b *Bridge) Close() {
	if b.Push != nil {
		b.Push.Close()
	}
	for i := len(b.closers) - 1; i >= 0; i-- {
		b.closers[i]()
	}
	b.closers = nil
}

// Classes returns the classes plugged in beside mail.
func (b *Bridge) Classes() []engine.Class { return b.classes }

var (
	_ activesync.Backend          = (*Bridge)(nil)
	_ activesync.FolderSyncer     = (*Bridge)(nil)
	_ activesync.Syncer           = (*Bridge)(nil)
	_ activesync.Estimator        = (*Bridge)(nil)
	_ activesync.Mover            = (*Bridge)(nil)
	_ activesync.ItemFetcher      = (*Bridge)(nil)
	_ activesync.Sender           = (*Bridge)(nil)
	_ activesync.Pinger           = (*Bridge)(nil)
	_ activesync.RequestObserver  = (*Bridge)(nil)
	_ activesync.DeviceLogin      = (*Bridge)(nil)
	_ activesync.MeetingResponder = (*Bridge)(nil)
	_ activesync.MailboxSearcher  = (*Bridge)(nil)
)

// Account is an authenticated user with the upstream credentials of the
// request that authenticated it (bridge/login, shared with bridge/send).
type Account = login.Account

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

// account recovers the bridge's Account from the front's interface value.
func account(a activesync.Account) (*Account, error) { return login.Of(a) }

// storeErr marks store outages as retryable for the front.
func storeErr(err error) error { return outage.Store(err) }

// upstreamErr marks transport and store outages retryable for the front;
// everything else (CommandStatus, protocol errors) passes unchanged.
func upstreamErr(err error) error { return outage.Upstream(err) }

// busErr marks a change-bus failure as retryable for the front: whatever
// the engine's reason (Redis down, subscription not confirmed in time), a
// Ping cannot park without the bus, and trying again later is right.
func busErr(err error) error {
	if err == nil || errors.Is(err, activesync.ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: change bus: %w", activesync.ErrUnavailable, err)
}
