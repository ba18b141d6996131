package bridge

import (
	"context"
	"crypto/tls"
	"log/slog"
	"sync"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/bridge/state"
)

// PushOptions tune the push hub.
type PushOptions struct {
	// Instance names this bridge process in leases; must differ between
	// instances sharing a Redis.
	Instance string
	// ActiveFor keeps a user's upstream watchers running after the last
	// request of any of their devices (default 10 minutes).
	ActiveFor time.Duration
	// Each watched user costs one upstream connection (push_watch_mail.go).
	// Where the provider lacks NOTIFY (or NoNotify is set) it IDLEs on the
	// inbox and checks the other folders with STATUS every PollInterval
	// (default 2 minutes); IdleBudget extra IDLE connections per user
	// (default 0) take the folders after the inbox off that poll.
	IdleBudget   int
	PollInterval time.Duration
	NoNotify     bool
	// HierarchyInterval is how often, without NOTIFY, the watcher
	// connection LISTs the user's mailboxes to notice folders created,
	// renamed or deleted upstream (default 1 minute).
	HierarchyInterval time.Duration
	// LeaseTTL bounds how long a dead instance keeps a user's watchers
	// (default 30 s).
	LeaseTTL time.Duration
	// TLS is the base TLS configuration for upstream connections.
	TLS *tls.Config
	// Metrics hooks; nil ones are ignored.
	OnParked    func(delta int)
	OnWatcher   func(delta int)
	OnWake      func(latency time.Duration)
	OnReconnect func()
	OnConn      func(delta int) // upstream connections opened/closed
	// OnPanic counts a panic recovered in a push goroutine; where is one
	// of a few fixed names (dispatch, check, watcher).
	OnPanic func(where string)
}

func (o PushOptions) withDefaults() PushOptions {
	if o.Instance == "" {
		o.Instance = "idlebridge"
	}
	if o.ActiveFor <= 0 {
		o.ActiveFor = 10 * time.Minute
	}
	o.IdleBudget = max(o.IdleBudget, 0)
	if o.PollInterval <= 0 {
		o.PollInterval = 2 * time.Minute
	}
	if o.HierarchyInterval <= 0 {
		o.HierarchyInterval = time.Minute
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 30 * time.Second
	}
	return o
}

// changeChecker is what the push hub needs from the bridge (or, in the
// hub's own tests, from the mail engine alone).
type changeChecker interface {
	// refOf resolves a folder ID to its kind and upstream name without
	// upstream I/O (the folder map).
	refOf(ctx context.Context, user, folderID string) (engine.Ref, bool, error)
	// hasChanges reports whether the next Sync of the device's collection
	// would carry anything. Changes the device made itself do not count:
	// the device's snapshot already holds them.
	// first says it is the check a Ping makes as it parks (mail trusts
	// only a NOTIFY watcher's version record then; bridge/mail Recheck).
	hasChanges(ctx context.Context, acct *Account, deviceID, collectionID string, first bool) (bool, error)
	// hierarchyChanged reports whether the device's next FolderSync would
	// carry anything (push_hierarchy.go).
	hierarchyChanged(ctx context.Context, acct *Account, deviceID string) (bool, error)
}

// Push is the push hub: it parks Pings and hanging Syncs, runs each active
// user's upstream watchers (on exactly one instance, by lease), and wakes
// parked requests through the change bus.
//
// The wake-up path: an IMAP IDLE watcher sees EXISTS/EXPUNGE/FETCH →
// publishes Change{user, folder} on the bus → on every instance holding
// parked requests of that user, the user's dispatcher re-checks that
// folder for each parked device → a device whose next Sync would carry
// something is answered. Re-checking against the device's own sync state
// is what keeps a device's own changes (and spurious wake-ups) from
// answering its Ping.
//
// A parked request holds no goroutine: a timer ends it, and the user's
// one bus subscription calls back on each event (state.Notifier), which
// wakes all of that user's parked requests on this instance from a
// short-lived goroutine. The watch managers are driven by events and one
// shared tick (push_wheel.go). Goroutines exist only while something
// runs: a re-check, a manager's pass, an upstream connection's setup.
type Push struct {
	bus    state.Bus
	leases state.Leases
	store  state.Store
	check  changeChecker
	// classes are the item classes beside mail: their watchers run with
	// the IMAP ones, their hierarchies are polled with the LIST.
	classes []engine.Class
	log     *slog.Logger
	opts    PushOptions
	// ctx ends at Close; it bounds re-checks and bus subscriptions, which
	// outlive the requests that started them.
	ctx  context.Context
	stop context.CancelFunc

	mu      sync.Mutex
	byUser  map[string]*userParks    // parked requests on this instance
	users   map[string]*userWatch    // by user
	entries map[string]*watchedEntry // this instance's watched-set entries, by user
	// renewals are the users whose unchanged entries wait for the
	// renewer's next batch (push_renew.go); renewRun writes them.
	renewals map[string]struct{}
	renewRun serial
	wheeling bool // the shared tick runs (push_wheel.go)
	closed   bool
	wg       sync.WaitGroup

	// fault, when set (tests only), is called at each recovery point
	// before the guarded work, to inject a panic there.
	fault func(where string)
	// onPass, when set (tests only), is called as a watch manager's pass
	// begins.
	onPass func(user string)
}

// NewPush returns the hub. log may be nil.
func NewPush(bus state.Bus, leases state.Leases, store state.Store, check changeChecker, log *slog.Logger, opts PushOptions) *Push {
	if log == nil {
		log = slog.Default()
	}
	ctx, stop := context.WithCancel(context.Background())
	return &Push{bus: bus, leases: leases, store: store, check: check, log: log, opts: opts.withDefaults(),
		ctx: ctx, stop: stop, byUser: map[string]*userParks{}, users: map[string]*userWatch{}, entries: map[string]*watchedEntry{}}
}

// DeviceRequest keeps the user's watchers alive and, for a Ping or a
// Sync, ends the device's parked request, if any: a device parks one
// request at a time, and a newer Ping or Sync means the old one is
// abandoned (the rule; MS-ASCMD answers the superseded Ping
// without changes). Other commands (fetching a message body while the Ping
// waits on another connection, moving mail) leave it parked: ending it
// would only make the device Ping again.
func (p *Push) DeviceRequest(a activesync.Account, deviceID, cmd string) {
	user := a.Address()
	supersedes := cmd == "Ping" || cmd == "Sync"
	var old *park
	p.mu.Lock()
	if up := p.byUser[user]; up != nil && supersedes {
		old = up.parks[deviceID]
	}
	if uw := p.users[user]; uw != nil {
		uw.touch()
	}
	p.mu.Unlock()
	if !supersedes {
		return
	}
	if old != nil {
		p.finish(old, nil, nil)
	}
	// Tell other instances too; their parked request of this device ends.
	// Bounded: with the bus down the request itself goes on (and fails on
	// the store if that is down too).
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = p.bus.Publish(ctx, state.Change{User: user, Collection: supersedeCollection, Source: deviceID, At: time.Now()})
}

// supersedeCollection marks bus events that say "this device started a new
// request"; it is not a folder ID.
const supersedeCollection = "~request"

// Notify tells the user's other devices that a device changed a folder
// (Sync changes, MoveItems). Their parked requests re-check; the source
// device's own request ignores it.
func (p *Push) Notify(ctx context.Context, user, folderID, sourceDevice string) {
	if err := p.bus.Publish(ctx, state.Change{User: user, Collection: folderID, Source: sourceDevice, At: time.Now()}); err != nil {
		p.log.Warn("push: publishing a device change failed", "user", user, "err", err)
	}
}

// Ping parks until one of folders has changes for the device, the
// heartbeat elapses, or the device sends a newer request; see
// activesync.Pinger.
func (p *Push) Ping(ctx context.Context, a activesync.Account, deviceID string, folders []activesync.PingFolder, heartbeat time.Duration,
	done func(changed []string, err error)) (func(), error) {
	acct, err := account(a)
	if err != nil {
		return nil, err
	}
	user := acct.Address()

	// Resolve folders; unknown ones are dropped rather than answered with
	// status 7, which some Samsung clients loop on (they keep a folder the
	// server never announced in every Ping). Folders of other kinds than
	// mail are watched by their class's watcher.
	watch := map[string]string{}    // mail folder ID → mailbox
	refs := map[string]engine.Ref{} // other folder ID → ref
	var order []string
	for _, f := range folders {
		r, ok, err := p.check.refOf(ctx, user, f.ID)
		if err != nil {
			return nil, storeErr(err)
		}
		if !ok {
			p.log.Info("ping: ignoring a folder the bridge does not know", "user", user, "device", deviceID, "folder", f.ID)
			continue
		}
		_, dupMail := watch[f.ID]
		_, dupRef := refs[f.ID]
		if !dupMail && !dupRef {
			order = append(order, f.ID)
		}
		if r.Kind == engine.KindMail {
			watch[f.ID] = r.Path
		} else {
			refs[f.ID] = r
		}
	}
	if len(order) == 0 {
		return nil, activesync.CommandStatus(activesync.PingStatusFolderSync, "no known folder to watch; FolderSync needed")
	}

	// The lease holder may run on another instance: it must know these
	// folders before the Ping waits on them.
	if err := p.growEntry(ctx, user, order); err != nil {
		return nil, storeErr(err)
	}
	pk := &park{acct: acct, user: user, device: deviceID, folders: order, start: time.Now(), done: done, first: true}
	// Registered (and subscribed) before the first check, so a change
	// between the check and the wait is not lost.
	if err := p.register(ctx, pk); err != nil {
		return nil, err
	}
	// A pass of the watch manager may have shrunk the entry between the
	// first write and the registration; usually a no-op.
	if err := p.growEntry(ctx, user, order); err != nil {
		p.log.Warn("push: recording the watched folders failed", "user", user, "device", deviceID, "err", err)
	}
	p.mu.Lock()
	if !pk.finished {
		pk.timer = time.AfterFunc(heartbeat, func() { p.finish(pk, nil, nil) })
	}
	p.mu.Unlock()
	p.watchUser(acct, deviceID, watch, refs)

	// Changes that happened before this Ping count at once.
	p.checkQueue(pk, order)
	return func() { p.finish(pk, nil, nil) }, nil
}

// Parked returns the number of parked requests on this instance.
func (p *Push) Parked() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, up := range p.byUser {
		n += len(up.parks)
	}
	return n
}

// Close ends parked requests and stops every watcher.
func (p *Push) Close() {
	p.mu.Lock()
	p.closed = true
	var parks []*park
	for _, up := range p.byUser {
		for _, pk := range up.parks {
			parks = append(parks, pk)
		}
	}
	for _, uw := range p.users {
		uw.stop()
	}
	p.mu.Unlock()
	for _, pk := range parks {
		p.finish(pk, nil, nil)
	}
	p.stop()
	p.wg.Wait()
}
