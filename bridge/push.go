package bridge

import (
	"context"
	"crypto/tls"
	"log/slog"
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
// publishes Change{user, folder} on the bus → every instance holding a
// parked request of that user re-checks that folder for the request's
// device → if the device's next Sync would carry something, the request
// answers. Re-checking against the device's own sync state is what keeps
// a device's own changes (and spurious wake-ups) from answering its Ping.
type Push struct {
	bus    state.Bus
	leases state.Leases
	store  state.Store
	check  changeChecker
	log    *slog.Logger
	opts   PushOptions

	mu           sync.Mutex
	parked       map[string]*parkedRequest // by user + "\x00" + device
	parkedByUser map[string]int            // parked requests per user
	users        map[string]*userWatch     // by user
	closed       bool
	wg           sync.WaitGroup
}

// parkedRequest is one Ping or hanging Sync waiting on this instance.
type parkedRequest struct {
	cancel context.CancelFunc
}

// NewPush returns the hub. log may be nil.
func NewPush(bus state.Bus, leases state.Leases, store state.Store, check changeChecker, log *slog.Logger, opts PushOptions) *Push {
	if log == nil {
		log = slog.Default()
	}
	return &Push{bus: bus, leases: leases, store: store, check: check, log: log, opts: opts.withDefaults(),
		parked: map[string]*parkedRequest{}, parkedByUser: map[string]int{}, users: map[string]*userWatch{}}
}

func parkKey(user, device string) string { return user + "\x00" + device }

// DeviceRequest ends the device's parked request, if any: a device has one
// request at a time, and a new one means the old one is abandoned
// (MS-ASCMD 3.2.5.x: a newer Ping or Sync supersedes a parked one). It
// also keeps the user's watchers alive.
func (p *Push) DeviceRequest(a activesync.Account, deviceID, cmd string) {
	user := a.Address()
	p.mu.Lock()
	if pr := p.parked[parkKey(user, deviceID)]; pr != nil {
		pr.cancel() // its Ping returns and unparks itself
	}
	if uw := p.users[user]; uw != nil {
		uw.touch()
	}
	p.mu.Unlock()
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
// heartbeat elapses, or the device sends a newer request.
func (p *Push) Ping(ctx context.Context, a activesync.Account, deviceID string, folders []activesync.PingFolder, heartbeat time.Duration) ([]string, error) {
	acct, err := account(a)
	if err != nil {
		return nil, err
	}
	user := acct.Address()
	start := time.Now()

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

	ctx, cancel := context.WithTimeout(ctx, heartbeat)
	defer cancel()
	pr := p.park(user, deviceID, cancel)
	if pr == nil {
		return nil, nil
	}
	defer p.unpark(user, deviceID, pr)

	// Subscribe before checking, so a change between the check and the
	// wait is not lost.
	sub, err := p.bus.Subscribe(ctx, user)
	if err != nil {
		return nil, err
	}
	defer sub.Close()
	p.watchUser(acct, deviceID, watch)

	// Changes that happened before this Ping count at once.
	if changed := p.checkAll(ctx, acct, deviceID, order); len(changed) > 0 {
		return changed, nil
	}
	for {
		select {
		case <-ctx.Done():
			return nil, nil
		case <-sub.Resync():
			if changed := p.checkAll(ctx, acct, deviceID, order); len(changed) > 0 {
				return changed, nil
			}
		case ch, ok := <-sub.Changes():
			if !ok {
				return nil, nil
			}
			if ch.Collection == supersedeCollection {
				if ch.Source == deviceID && ch.At.After(start) {
					return nil, nil // a newer request of this device, maybe elsewhere
				}
				continue
			}
			if ch.Source == deviceID {
				continue // the device's own change: no echo
			}
			if _, mine := watch[ch.Collection]; !mine {
				continue
			}
			ok, err := p.check.hasChanges(ctx, acct, deviceID, ch.Collection)
			if err != nil {
				p.log.Warn("ping: checking a folder failed", "user", user, "device", deviceID, "folder", ch.Collection, "err", err)
				continue
			}
			if ok {
				if p.opts.OnWake != nil && !ch.At.IsZero() {
					p.opts.OnWake(time.Since(ch.At))
				}
				// Gather the other folders that changed meanwhile, cheaply:
				// only those with pending events are re-checked.
				changed := []string{ch.Collection}
				changed = append(changed, p.drain(ctx, sub, acct, deviceID, watch, ch.Collection)...)
				return changed, nil
			}
		}
	}
}

// drain collects folders named by events already queued.
func (p *Push) drain(ctx context.Context, sub state.Subscription, acct *Account, deviceID string, watch map[string]string, first string) []string {
	seen := map[string]bool{first: true}
	var out []string
	for {
		select {
		case ch, ok := <-sub.Changes():
			if !ok {
				return out
			}
			if _, mine := watch[ch.Collection]; !mine || seen[ch.Collection] || ch.Source == deviceID {
				continue
			}
			seen[ch.Collection] = true
			if ok, err := p.check.hasChanges(ctx, acct, deviceID, ch.Collection); err == nil && ok {
				out = append(out, ch.Collection)
			}
		default:
			return out
		}
	}
}

// checkAll returns the folders with changes for the device.
func (p *Push) checkAll(ctx context.Context, acct *Account, deviceID string, ids []string) []string {
	var changed []string
	for _, id := range ids {
		ok, err := p.check.hasChanges(ctx, acct, deviceID, id)
		if err != nil {
			if ctx.Err() == nil {
				p.log.Warn("ping: checking a folder failed", "user", acct.Address(), "device", deviceID, "folder", id, "err", err)
			}
			continue
		}
		if ok {
			changed = append(changed, id)
		}
	}
	return changed
}

// park registers a parked request, ending an older one of the same
// device; nil when the hub is closed.
func (p *Push) park(user, device string, cancel context.CancelFunc) *parkedRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	if old := p.parked[parkKey(user, device)]; old != nil {
		old.cancel()
	}
	pr := &parkedRequest{cancel: cancel}
	p.parked[parkKey(user, device)] = pr
	p.parkedByUser[user]++
	if p.opts.OnParked != nil {
		p.opts.OnParked(1)
	}
	return pr
}

func (p *Push) unpark(user, device string, pr *parkedRequest) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.opts.OnParked != nil {
		p.opts.OnParked(-1)
	}
	if p.parkedByUser[user]--; p.parkedByUser[user] <= 0 {
		delete(p.parkedByUser, user)
	}
	k := parkKey(user, device)
	// Only remove our own registration; a newer request may own the slot.
	if p.parked[k] == pr {
		delete(p.parked, k)
	}
}

// Parked returns the number of parked requests on this instance.
func (p *Push) Parked() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, c := range p.parkedByUser {
		n += c
	}
	return n
}

// Close ends parked requests and stops every watcher.
func (p *Push) Close() {
	p.mu.Lock()
	p.closed = true
	for _, pr := range p.parked {
		pr.cancel()
	}
	for _, uw := range p.users {
		uw.stop()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
