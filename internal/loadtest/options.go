// Package loadtest drives a running idlebridge with many simulated
// ActiveSync devices parked in Ping, delivers mail to their users by plain
// IMAP APPEND, and measures how quickly each device is woken — next to a
// plain IMAP IDLE client on the same mailboxes as the baseline — together
// with the bridge's memory, CPU and connection use. cmd/idlebridge-load is
// its command line.
package loadtest

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Options describe one load run. Zero fields take the defaults of
// WithDefaults.
type Options struct {
	// Bridge under test: either BridgeBin (or, when empty, a binary built
	// from this module) started as a subprocess, or URL of a running one.
	BridgeBin string
	URL       string
	BridgePID int    // with URL: the pid to read RSS/CPU/connections from
	Redis     string // redis:// URL for the spawned bridge's store; "" = embedded
	// Instances is how many bridge processes to start on the one Redis
	// (default 1); users are spread over them round robin.
	Instances int
	Metrics   bool   // give the spawned bridge a metrics listener and scrape it
	WorkDir   string // temp dir for config, users, data and logs; "" = a fresh one
	KeepWork  bool   // leave WorkDir behind (logs) after the run

	// Upstream: the IMAP server the users live on.
	IMAPAddr string
	Password string
	// SMTPAddr goes into the user files, which require an SMTP server;
	// the run sends no mail ("" = 127.0.0.1:25, never contacted).
	SMTPAddr string
	// UserPrefix names the users <prefix><n>@<UserDomain>; "" = a per-run
	// unique prefix (needed with URL: the running bridge must know them).
	UserPrefix string
	UserDomain string

	Devices int
	Users   int
	// Folders is how many folders each device Pings, 1-3: INBOX, Sent and
	// Archive, which the test Dovecot creates for every user (a phone
	// typically watches its Inbox, Sent and one folder of its own).
	// Deliveries go to one of them, picked at random (Seed).
	Folders int
	Seed    uint64
	// TLS: IMAPAddr speaks implicit TLS (IMAPS), as real providers
	// require. CAFile is the PEM CA that signed its certificate ("" =
	// system roots); the tool and the bridge it starts both trust it.
	TLS         bool
	CAFile      string
	Heartbeat   time.Duration // Ping HeartbeatInterval
	Ramp        time.Duration // spread device start-up over this long
	Settle      time.Duration // wait after the last device parked before measuring
	Deliveries  int
	Rate        float64 // deliveries per second
	WakeTimeout time.Duration
	IdleMeasure time.Duration // CPU measurement with everything parked; 0 = skip
	NoBaseline  bool
	// PProf serves the started bridge's Go profiles on its metrics
	// listener (metrics.pprof), to see where a parked user's memory goes.
	PProf bool

	Log io.Writer // progress lines; nil = none
}

// WithDefaults fills zero fields.
func (o Options) WithDefaults() Options {
	if o.Devices <= 0 {
		o.Devices = 100
	}
	if o.Users <= 0 {
		o.Users = max(1, o.Devices/10)
	}
	if o.Users > o.Devices {
		o.Users = o.Devices
	}
	if o.Instances <= 0 {
		o.Instances = 1
	}
	if o.Folders <= 0 {
		o.Folders = 1
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 600 * time.Second
	}
	if o.Ramp < 0 {
		o.Ramp = 0
	}
	if o.Settle <= 0 {
		// The last Pings must reach the hub and the users' IDLE watchers
		// must be established before the first delivery; and the set-up's
		// pool sessions must have logged out (upstream.session_idle, 20 s,
		// 30 s for spares) before the idle CPU and memory at rest are
		// read, or the figures hold the set-up's tail.
		o.Settle = max(2*time.Second+time.Duration(o.Devices)*time.Millisecond/2, defaultSettleAtRest)
	}
	if o.Deliveries <= 0 {
		o.Deliveries = 50
	}
	if o.Rate <= 0 {
		// Dovecot holds IDLE notifications back 500 ms to batch them, so
		// two APPENDs to one user closer than that reach an IDLE client
		// (the baseline) as one change. At most one delivery per user
		// every 2 s keeps each delivery its own wake-up.
		o.Rate = min(5, float64(min(o.Users, o.Deliveries))/2)
	}
	if o.WakeTimeout <= 0 {
		o.WakeTimeout = 30 * time.Second
	}
	if o.SMTPAddr == "" {
		o.SMTPAddr = "127.0.0.1:25"
	}
	if o.UserDomain == "" {
		o.UserDomain = "example.test"
	}
	return o
}

// Validate reports options that cannot work.
func (o Options) Validate() error {
	var errs []error
	if o.IMAPAddr == "" {
		errs = append(errs, errors.New("the IMAP address is required (--imap, or IDLEBRIDGE_TEST_IMAP_ADDR)"))
	}
	if o.Password == "" {
		errs = append(errs, errors.New("the users' password is required (--password, or IDLEBRIDGE_TEST_IMAP_PASSWORD)"))
	}
	if o.URL != "" && o.UserPrefix == "" {
		errs = append(errs, errors.New("--url needs --user-prefix: the running bridge must have the users <prefix><n>@<domain> configured"))
	}
	if o.URL != "" && o.Redis != "" {
		errs = append(errs, errors.New("--redis only applies to a bridge this tool starts, not to --url"))
	}
	if o.Instances > 1 && o.Redis == "" {
		errs = append(errs, errors.New("--instances above 1 needs --redis: the embedded store belongs to one process"))
	}
	if o.Instances > 1 && o.URL != "" {
		errs = append(errs, errors.New("--instances only applies to bridges this tool starts, not to --url"))
	}
	if o.Instances > o.Users && o.Users > 0 {
		errs = append(errs, fmt.Errorf("--instances %d is more than the %d users spread over them", o.Instances, o.Users))
	}
	if o.Folders > len(loadMailboxes) {
		errs = append(errs, fmt.Errorf("folders %d: at most %d (%s)", o.Folders, len(loadMailboxes), strings.Join(loadMailboxes, ", ")))
	}
	if o.CAFile != "" && !o.TLS {
		errs = append(errs, errors.New("--ca only applies with --tls"))
	}
	if o.Heartbeat%time.Second != 0 {
		errs = append(errs, fmt.Errorf("heartbeat %v must be whole seconds", o.Heartbeat))
	}
	return errors.Join(errs...)
}

// loadMailboxes are the folders a device may watch, in order.
var loadMailboxes = []string{"INBOX", "Sent", "Archive"}

// mailboxes are the folders every device of this run watches.
func (o Options) mailboxes() []string {
	return loadMailboxes[:max(1, min(o.Folders, len(loadMailboxes)))]
}

// userName returns the address of user i.
func (o Options) userName(i int) string {
	return fmt.Sprintf("%s%d@%s", o.UserPrefix, i, o.UserDomain)
}

// defaultSettleAtRest outlasts the bridge's default upstream session idle
// times (20 s, 30 s for spare sessions) with a margin.
const defaultSettleAtRest = 35 * time.Second
