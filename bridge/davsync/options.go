package davsync

import (
	"crypto/tls"
	"log/slog"
	"net/http"
	"time"

	"github.com/idlebridge/idlebridge/bridge/state"
)

// Options configure the DAV classes. Zero values take the defaults.
type Options struct {
	Store state.Store
	Log   *slog.Logger
	// UserZone is the zone floating times are read in and 12.1–14.1
	// all-day events are sent in (research note P3); nil: UTC.
	UserZone *time.Location
	// TLS is the base TLS configuration (root CAs); nil: system roots.
	TLS *tls.Config
	// Timeout bounds each upstream request; 0: dav.DefaultTimeout.
	Timeout time.Duration
	// Transport replaces the shared HTTP transport (tests count requests
	// and bytes with it).
	Transport http.RoundTripper
	// MaxClients bounds the cached per-user DAV clients; 0: 1000.
	MaxClients int
	// PollActive is the watcher's interval while the user is active (a
	// request from any of their devices within ActiveFor); 0: 10 s.
	PollActive time.Duration
	// PollIdle is the interval otherwise; 0: 60 s.
	PollIdle time.Duration
	// ActiveFor is how long after a request the user counts as active;
	// 0: 5 min.
	ActiveFor time.Duration
	// GiveUpAfter is how many failed conversions of the same object
	// version make the bridge stop offering it to devices; 0: 3.
	GiveUpAfter int
	// Now is the clock (tests); nil: time.Now.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.MaxClients <= 0 {
		o.MaxClients = 1000
	}
	if o.PollActive <= 0 {
		o.PollActive = 10 * time.Second
	}
	if o.PollIdle <= 0 {
		o.PollIdle = 60 * time.Second
	}
	if o.ActiveFor <= 0 {
		o.ActiveFor = 5 * time.Minute
	}
	if o.GiveUpAfter <= 0 {
		o.GiveUpAfter = 3
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}
