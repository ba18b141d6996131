package bridge

import (
	"context"
	"crypto/tls"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
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
	// IdleBudget is how many folders per user get an IMAP IDLE connection
	// (default 3); further folders are polled with STATUS every
	// PollInterval (default 2 minutes).
	IdleBudget   int
	PollInterval time.Duration
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
}

func (o PushOptions) withDefaults() PushOptions {
	if o.Instance == "" {
		o.Instance = "idlebridge"
	}
	if o.ActiveFor <= 0 {
		o.ActiveFor = 10 * time.Minute
	}
	if o.IdleBudget <= 0 {
		o.IdleBudget = 3
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 2 * time.Minute
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 30 * time.Second
	}
	return o
}

// changeChecker is what the push hub needs from the mail engine.
type changeChecker interface {
	// mailboxOf resolves a folder ID without IMAP.
	mailboxOf(ctx context.Context, user, folderID string) (string, bool, error)
	// hasChanges reports whether the next Sync of the device's collection
	// would carry anything. Changes the device made itself do not count:
	// the device's snapshot already holds them.
	hasChanges(ctx context.Context, acct *Account, deviceID, collectionID string) (bool, error)
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
// A parked request holds no goroutine: a timer ends it, and one
// dispatcher goroutine per user (with one bus subscription) wakes all of
// that user's parked requests on this instance. Goroutines exist only
// while a re-check runs.
type Push struct {
	bus    state.Bus
	leases state.Leases
	store  state.Store
	check  changeChecker
	log    *slog.Logger
	opts   PushOptions
	// ctx ends at Close; it bounds re-checks and bus subscriptions, which
	// outlive the requests that started them.
	ctx  context.Context
	stop context.CancelFunc

	mu     sync.Mutex
	byUser map[string]*userParks // parked requests on this instance
	users  map[string]*userWatch // by user
	closed bool
	wg     sync.WaitGroup
}

// userParks is one user's parked requests on this instance and the one
// bus subscription that serves them all.
type userParks struct {
	user  string
	parks map[string]*park // by device
	ready chan struct{}    // closed once sub or err is set
	sub   state.Subscription
	err   error
	gone  bool // no longer in Push.byUser: parks must not join it
}

// park is one Ping or hanging Sync waiting on this instance.
type park struct {
	acct    *Account
	user    string
	device  string
	folders []string // folder IDs, in request order
	start   time.Time
	done    func(changed []string, err error)

	// Guarded by Push.mu.
	up       *userParks // set once registered
	timer    *time.Timer
	finished bool
	checking bool      // a re-check runs; changes queue in pending
	pending  []string  // folders to re-check next
	wakeAt   time.Time // when the change under check was seen upstream
}

// checkTimeout bounds one re-check of a folder for a parked device.
const checkTimeout = 30 * time.Second

// NewPush returns the hub. log may be nil.
func NewPush(bus state.Bus, leases state.Leases, store state.Store, check changeChecker, log *slog.Logger, opts PushOptions) *Push {
	if log == nil {
		log = slog.Default()
	}
	ctx, stop := context.WithCancel(context.Background())
	return &Push{bus: bus, leases: leases, store: store, check: check, log: log, opts: opts.withDefaults(),
		ctx: ctx, stop: stop, byUser: map[string]*userParks{}, users: map[string]*userWatch{}}
}

// DeviceRequest ends the device's parked request, if any: a device has one
// request at a time, and a new one means the old one is abandoned
// (MS-ASCMD 3.2.5.x: a newer Ping or Sync supersedes a parked one). It
// also keeps the user's watchers alive.
func (p *Push) DeviceRequest(a activesync.Account, deviceID, cmd string) {
	user := a.Address()
	var old *park
	p.mu.Lock()
	if up := p.byUser[user]; up != nil {
		old = up.parks[deviceID]
	}
	if uw := p.users[user]; uw != nil {
		uw.touch()
	}
	p.mu.Unlock()
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
	// server never announced in every Ping).
	watch := map[string]string{} // folder ID → mailbox
	var order []string
	for _, f := range folders {
		mb, ok, err := p.check.mailboxOf(ctx, user, f.ID)
		if err != nil {
			return nil, err
		}
		if !ok {
			p.log.Info("ping: ignoring a folder the bridge does not know", "user", user, "device", deviceID, "folder", f.ID)
			continue
		}
		if _, dup := watch[f.ID]; !dup {
			order = append(order, f.ID)
		}
		watch[f.ID] = mb
	}
	if len(watch) == 0 {
		return nil, activesync.CommandStatus(7, "no known folder to watch; FolderSync needed")
	}

	pk := &park{acct: acct, user: user, device: deviceID, folders: order, start: time.Now(), done: done}
	// Registered (and subscribed) before the first check, so a change
	// between the check and the wait is not lost.
	if err := p.register(ctx, pk); err != nil {
		return nil, err
	}
	p.mu.Lock()
	if !pk.finished {
		pk.timer = time.AfterFunc(heartbeat, func() { p.finish(pk, nil, nil) })
	}
	p.mu.Unlock()
	p.watchUser(acct, deviceID, watch)

	// Changes that happened before this Ping count at once.
	p.runChecks(pk, order)
	return func() { p.finish(pk, nil, nil) }, nil
}

// register parks pk in its user's set on this instance, subscribing to
// the user's changes when it is the first, and ends an older request of
// the same device. pk starts in the checking state.
func (p *Push) register(ctx context.Context, pk *park) error {
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return activesync.ErrUnavailable
		}
		up := p.byUser[pk.user]
		if up == nil {
			up = &userParks{user: pk.user, parks: map[string]*park{}, ready: make(chan struct{})}
			p.byUser[pk.user] = up
			p.mu.Unlock()
			p.subscribe(up)
		} else {
			p.mu.Unlock()
			select {
			case <-up.ready:
			case <-ctx.Done():
				return ctx.Err()
			}
		}

		p.mu.Lock()
		if up.err != nil {
			p.mu.Unlock()
			return up.err
		}
		if up.gone {
			// Its last request ended while we waited: start over.
			p.mu.Unlock()
			continue
		}
		old := up.parks[pk.device]
		up.parks[pk.device] = pk
		pk.up = up
		pk.checking = true
		if p.opts.OnParked != nil {
			p.opts.OnParked(1)
		}
		p.mu.Unlock()
		if old != nil {
			p.finish(old, nil, nil) // leaves pk in the set: it is no longer old's
		}
		return nil
	}
}

// subscribe opens up's bus subscription and starts its dispatcher.
func (p *Push) subscribe(up *userParks) {
	sub, err := p.bus.Subscribe(p.ctx, up.user)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err == nil && p.closed {
		_ = sub.Close()
		err = activesync.ErrUnavailable
	}
	up.sub, up.err = sub, err
	if err != nil {
		up.gone = true
		if p.byUser[up.user] == up {
			delete(p.byUser, up.user)
		}
	} else {
		p.wg.Add(1)
		go p.dispatch(up)
	}
	close(up.ready)
}

// dispatch wakes up's parked requests on the user's changes until the
// subscription ends.
func (p *Push) dispatch(up *userParks) {
	defer p.wg.Done()
	for {
		select {
		case ch, ok := <-up.sub.Changes():
			if !ok {
				p.endUser(up)
				return
			}
			p.onChange(up, ch)
		case <-up.sub.Resync():
			// Events may have been lost: every parked request re-checks
			// everything it watches.
			p.mu.Lock()
			p.log.Info("push: change events lost (bus reconnect or burst); re-checking parked requests", "user", up.user, "parked", len(up.parks))
			for _, pk := range up.parks {
				p.queueCheck(pk, pk.folders, time.Time{})
			}
			p.mu.Unlock()
		}
	}
}

// onChange routes one change to the user's parked requests.
func (p *Push) onChange(up *userParks, ch state.Change) {
	var ended []*park
	p.mu.Lock()
	for _, pk := range up.parks {
		switch {
		case ch.Collection == supersedeCollection:
			if ch.Source == pk.device && ch.At.After(pk.start) {
				ended = append(ended, pk) // a newer request of this device, maybe elsewhere
			}
		case ch.Source == pk.device:
			// The device's own change: no echo.
		case slices.Contains(pk.folders, ch.Collection):
			p.queueCheck(pk, []string{ch.Collection}, ch.At)
		}
	}
	p.mu.Unlock()
	for _, pk := range ended {
		p.finish(pk, nil, nil)
	}
}

// queueCheck re-checks folders for pk: at once on a new goroutine, or
// after the re-check already running. Called with p.mu held.
func (p *Push) queueCheck(pk *park, folders []string, at time.Time) {
	if pk.finished {
		return
	}
	if pk.wakeAt.IsZero() {
		pk.wakeAt = at
	}
	if pk.checking {
		for _, f := range folders {
			if !slices.Contains(pk.pending, f) {
				pk.pending = append(pk.pending, f)
			}
		}
		return
	}
	pk.checking = true
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.runChecks(pk, folders)
	}()
}

// runChecks checks folders, then whatever queued meanwhile, until pk has
// changes (it is answered) or nothing is left to check.
func (p *Push) runChecks(pk *park, folders []string) {
	for {
		changed := p.checkAll(pk, folders)
		p.mu.Lock()
		if pk.finished {
			p.mu.Unlock()
			return
		}
		more := pk.pending
		pk.pending = nil
		if len(changed) == 0 {
			if len(more) == 0 {
				pk.checking = false
				pk.wakeAt = time.Time{}
				p.mu.Unlock()
				return
			}
			p.mu.Unlock()
			folders = more
			continue
		}
		wakeAt := pk.wakeAt
		p.mu.Unlock()
		// Folders whose changes queued meanwhile go in the same answer.
		for _, id := range more {
			if !slices.Contains(changed, id) && len(p.checkAll(pk, []string{id})) > 0 {
				changed = append(changed, id)
			}
		}
		if p.opts.OnWake != nil && !wakeAt.IsZero() {
			p.opts.OnWake(time.Since(wakeAt))
		}
		p.finish(pk, changed, nil)
		return
	}
}

// checkAll returns the folders with changes for the parked device.
func (p *Push) checkAll(pk *park, ids []string) []string {
	var changed []string
	for _, id := range ids {
		ctx, cancel := context.WithTimeout(p.ctx, checkTimeout)
		ok, err := p.check.hasChanges(ctx, pk.acct, pk.device, id)
		cancel()
		if err != nil {
			if p.ctx.Err() == nil {
				p.log.Warn("ping: checking a folder failed", "user", pk.user, "device", pk.device, "folder", id, "err", err)
			}
			continue
		}
		if ok {
			changed = append(changed, id)
		}
	}
	return changed
}

// finish answers pk once: with changes, or with none (heartbeat, newer
// request, shutdown). The user's subscription closes with its last park.
func (p *Push) finish(pk *park, changed []string, err error) {
	var closeSub state.Subscription
	p.mu.Lock()
	if pk.finished {
		p.mu.Unlock()
		return
	}
	pk.finished = true
	if pk.timer != nil {
		pk.timer.Stop()
	}
	if p.opts.OnParked != nil {
		p.opts.OnParked(-1)
	}
	if up := pk.up; up != nil && up.parks[pk.device] == pk {
		delete(up.parks, pk.device)
		if len(up.parks) == 0 && !up.gone {
			up.gone = true
			if p.byUser[up.user] == up {
				delete(p.byUser, up.user)
			}
			closeSub = up.sub
		}
	}
	p.mu.Unlock()
	if closeSub != nil {
		_ = closeSub.Close()
	}
	pk.done(changed, err)
}

// endUser answers what is still parked on a subscription that ended
// underneath (bus closed): the devices Ping again and subscribe anew.
func (p *Push) endUser(up *userParks) {
	p.mu.Lock()
	parks := make([]*park, 0, len(up.parks))
	for _, pk := range up.parks {
		parks = append(parks, pk)
	}
	up.gone = true
	if p.byUser[up.user] == up {
		delete(p.byUser, up.user)
	}
	p.mu.Unlock()
	for _, pk := range parks {
		p.finish(pk, nil, nil)
	}
}

// parkedFor reports whether the user has parked requests here. Called
// with p.mu held.
func (p *Push) parkedFor(user string) bool {
	up := p.byUser[user]
	return up != nil && len(up.parks) > 0
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
