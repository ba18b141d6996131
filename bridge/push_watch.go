package bridge

import (
	"context"
	"errors"
	"maps"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/idlebridge/idlebridge/bridge/accounts"
	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

// userWatch runs one user's upstream watchers on this instance while the
// user is active here and this instance holds the user's watch lease:
// ONE connection for every watched folder and the folder list
// (push_watch_mail.go), plus, only where the provider lacks NOTIFY and
// the operator allows it, up to IdleBudget extra IDLE connections for the
// folders after the inbox. Connections are the watcher's own, never the
// sync path's pool.
type userWatch struct {
	p    *Push
	user string

	mu         sync.Mutex
	cfg        imap.Config
	folders    map[string]string     // folder ID → mailbox
	refs       map[string]engine.Ref // folder ID → ref, other kinds (their classes' watchers)
	principal  *accounts.Principal   // the latest request's, for the classes' watchers and hierarchies
	lastActive time.Time
	wake       chan struct{} // folder set or credentials changed
	reread     bool          // another instance's watched set changed
	cancel     context.CancelFunc
}

// watchUser makes sure the user has a watch manager on this instance with
// the request's credentials and folders.
func (p *Push) watchUser(acct *Account, deviceID string, folders map[string]string, refs map[string]engine.Ref) {
	cfg := IMAPConfig(acct.Principal.User.IMAP, p.opts.TLS, acct.Principal.Upstream.Username, acct.Principal.Upstream.Password, 0)
	cfg.OnConn = p.opts.OnConn
	// The watcher's dial clones the TLS configuration and names the server
	// from the address itself: a watched user need not hold a clone (about
	// 1.5 KiB each) for as long as it is watched.
	cfg.TLSConfig = p.opts.TLS
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	uw := p.users[acct.Address()]
	if uw == nil {
		ctx, cancel := context.WithCancel(context.Background())
		uw = &userWatch{p: p, user: acct.Address(), folders: map[string]string{}, refs: map[string]engine.Ref{}, wake: make(chan struct{}, 1), cancel: cancel}
		p.users[uw.user] = uw
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.supervise(ctx, p.log.With("user", uw.user), uw.run)
			p.mu.Lock()
			if p.users[uw.user] == uw {
				delete(p.users, uw.user)
			}
			p.mu.Unlock()
		}()
	}
	uw.update(cfg, folders, refs, acct.Principal)
}

func (uw *userWatch) touch() {
	uw.mu.Lock()
	uw.lastActive = time.Now()
	uw.mu.Unlock()
}

func (uw *userWatch) stop() { uw.cancel() }

func (uw *userWatch) setReread() {
	uw.mu.Lock()
	uw.reread = true
	uw.mu.Unlock()
}

func (uw *userWatch) takeReread() bool {
	uw.mu.Lock()
	defer uw.mu.Unlock()
	r := uw.reread
	uw.reread = false
	return r
}

// update merges a request's folders and credentials.
func (uw *userWatch) update(cfg imap.Config, folders map[string]string, refs map[string]engine.Ref, pr *accounts.Principal) {
	uw.mu.Lock()
	changed := cfg.Password != uw.cfg.Password || cfg.Username != uw.cfg.Username || cfg.Addr != uw.cfg.Addr
	uw.cfg = cfg
	if pr != nil {
		uw.principal = pr
	}
	for id, mb := range folders {
		if uw.folders[id] != mb {
			uw.folders[id] = mb
			changed = true
		}
	}
	for id, r := range refs {
		if uw.refs[id] != r {
			uw.refs[id] = r
			changed = true
		}
	}
	uw.lastActive = time.Now()
	uw.mu.Unlock()
	if changed {
		select {
		case uw.wake <- struct{}{}:
		default:
		}
	}
}

func (uw *userWatch) snapshot() (imap.Config, map[string]string, map[string]engine.Ref, *accounts.Principal, time.Time) {
	uw.mu.Lock()
	defer uw.mu.Unlock()
	return uw.cfg, maps.Clone(uw.folders), maps.Clone(uw.refs), uw.principal, uw.lastActive
}

// active reports whether the user still has reasons to be watched here:
// a parked request, or a request within ActiveFor.
func (uw *userWatch) active(last time.Time) bool {
	p := uw.p
	if time.Since(last) < p.opts.ActiveFor {
		return true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.parkedFor(uw.user)
}

// run is the manager loop: hold the lease, run the connections for the
// current folder set, stop when the user goes quiet or the lease is lost.
// It runs under Push.supervise: after a panic its defers release the lease
// and stop the connections, and it starts again.
func (uw *userWatch) run(ctx context.Context) {
	p := uw.p
	log := p.log.With("user", uw.user)
	lease := "watch:" + uw.user
	var (
		held    bool
		token   uint64
		mail    *mailWatch         // the user's watcher connection, while held
		running *watchSet          // extra IDLE connections (IdleBudget), while held
		follow  state.Subscription // while held: other instances' set changes
		remote  map[string]string  // folders parked on other instances only
		remoteR map[string]engine.Ref
		classes classWatches // the classes' watchers, while held
		// classHier lists the classes' hierarchies (calendars, address
		// books) every HierarchyInterval, while held and classes exist.
		classHier *watchSet
		ticks     int
	)
	stopAll := func() {
		classes.stop()
		if classHier != nil {
			classHier.stop()
			classHier = nil
		}
		if running != nil {
			running.stop()
			running = nil
		}
		if mail != nil {
			mail.stop()
			mail = nil
		}
		if follow != nil {
			_ = follow.Close()
			follow, remote, remoteR = nil, nil, nil
		}
	}
	defer func() {
		stopAll()
		if held {
			_ = p.leases.Release(context.Background(), lease, p.opts.Instance, token)
		}
		// Nothing parked here any more (or the hub stops): drop this
		// instance's entry now rather than at its deadline.
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := p.syncEntry(sctx, uw.user); err != nil {
			log.Warn("push: clearing the watched folders failed", "err", err)
		}
	}()
	tick := time.NewTicker(p.opts.LeaseTTL / 3)
	defer tick.Stop()
	for ; ; ticks++ {
		cfg, folders, refs, principal, last := uw.snapshot()
		if !uw.active(last) {
			log.Debug("push: user inactive, stopping watchers")
			return
		}
		// This instance's entry follows what is parked here (and is
		// renewed), whether or not it holds the lease.
		sctx, cancel := context.WithTimeout(ctx, p.opts.LeaseTTL/3)
		if err := p.syncEntry(sctx, uw.user); err != nil {
			log.Warn("push: recording the watched folders failed", "err", err)
		}
		cancel()
		lctx, cancel := context.WithTimeout(ctx, p.opts.LeaseTTL/3)
		var err error
		if held {
			err = p.leases.Renew(lctx, lease, p.opts.Instance, token, p.opts.LeaseTTL)
			if errors.Is(err, state.ErrNotFound) {
				// Fenced: another instance took over; stop acting at once.
				log.Warn("push: watch lease lost; another instance watches this user")
				held = false
				stopAll()
			}
		} else {
			var ok bool
			ok, token, err = p.leases.Acquire(lctx, lease, p.opts.Instance, p.opts.LeaseTTL)
			if err == nil && ok {
				held = true
				log.Info("push: watching upstream", "folders", len(folders))
			}
		}
		cancel()
		if err != nil && !errors.Is(err, state.ErrNotFound) {
			log.Warn("push: lease check failed", "err", err)
		}
		if held {
			if follow == nil {
				var err error
				if follow, err = uw.followWatched(ctx); err != nil {
					log.Warn("push: cannot follow other instances' watched folders; re-reading them on ticks", "err", err)
				}
				uw.setReread()
			}
			// Re-read the union when told, and every few ticks (a lapsed
			// entry, a lost event).
			if uw.takeReread() || ticks%3 == 0 {
				rctx, cancel := context.WithTimeout(ctx, p.opts.LeaseTTL/3)
				r, rr, err := p.remoteWatched(rctx, uw.user, folders, refs)
				cancel()
				if err != nil {
					log.Warn("push: reading other instances' watched folders failed", "err", err)
				} else {
					remote, remoteR = r, rr
				}
			}
			for id, mb := range remote {
				if _, ok := folders[id]; !ok {
					folders[id] = mb
				}
			}
			for id, r := range remoteR {
				if _, ok := refs[id]; !ok {
					refs[id] = r
				}
			}
			if len(p.classes) > 0 {
				classes = uw.runClassWatchers(ctx, classes, principal, refs)
				if classHier == nil {
					classHier = uw.startClassHierarchy(ctx)
				}
			}
			if mail == nil || !sameUpstream(mail.cfg, cfg) {
				if mail != nil {
					mail.stop()
				}
				mail = uw.startMail(ctx, cfg, folders)
			} else {
				mail.set(folders)
			}
			extra := uw.extraIdle(folders, mail.Mode())
			if running == nil || !sameUpstream(running.cfg, cfg) || !sameFolders(running.folders, extra) {
				if running != nil {
					running.stop()
				}
				running = uw.start(ctx, cfg, extra)
			}
		}
		switch uw.waitNext(ctx, tick.C, follow) {
		case waitDone:
			return
		case waitFollowEnded:
			_ = follow.Close()
			follow = nil // subscribed again on the next pass
		}
	}
}

// What ended the manager's wait.
const (
	waitAgain       = iota // a tick, a wake, another instance's set changed
	waitDone               // ctx ended
	waitFollowEnded        // the bus subscription closed
)

// waitNext waits for the next reason to run the manager loop. Other
// instances' watched-set changes arrive on follow (the user's bus events,
// most of them for others); reading them here rather than in a goroutine
// of their own saves one goroutine per watched user.
func (uw *userWatch) waitNext(ctx context.Context, tick <-chan time.Time, follow state.Subscription) int {
	var changes <-chan state.Change
	var resync <-chan struct{}
	if follow != nil {
		changes, resync = follow.Changes(), follow.Resync()
	}
	for {
		select {
		case <-ctx.Done():
			return waitDone
		case <-tick:
			return waitAgain
		case <-uw.wake:
			return waitAgain
		case ch, ok := <-changes:
			if !ok {
				uw.setReread()
				return waitFollowEnded
			}
			if ch.Collection == watchedCollection {
				uw.setReread()
				return waitAgain
			}
		case <-resync:
			uw.setReread()
			return waitAgain
		}
	}
}

// sameUpstream compares what matters of two configs (the TLS config is a
// fresh clone per request and never equal by pointer).
func sameUpstream(a, b imap.Config) bool {
	return a.Addr == b.Addr && a.Security == b.Security && a.Username == b.Username && a.Password == b.Password
}

func sameFolders(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// watchSet is the running connections for one folder set.
type watchSet struct {
	cfg     imap.Config
	folders map[string]string
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func (ws *watchSet) stop() {
	ws.cancel()
	ws.wg.Wait()
}

// extraIdle picks the folders that get an IDLE connection of their own
// besides the user's watcher connection: none with NOTIFY (it covers
// every folder) or before the connection said which mode it is in;
// otherwise the first IdleBudget folders after the inbox, which the
// watcher connection IDLEs on itself.
func (uw *userWatch) extraIdle(folders map[string]string, mode string) map[string]string {
	budget := uw.p.opts.IdleBudget
	out := map[string]string{}
	if budget <= 0 || mode == "" || mode == imap.WatchModeNotify {
		return out
	}
	order := watchOrder(folders)
	if len(order) > 0 && order[0] == "INBOX" {
		order = order[1:]
	}
	ids := make([]string, 0, len(folders))
	for id := range folders {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return idLess(ids[i], ids[j]) })
	for _, mb := range order[:min(budget, len(order))] {
		for _, id := range ids {
			if folders[id] == mb {
				out[id] = mb
			}
		}
	}
	return out
}

// start opens one IDLE connection for each of the extra folders.
func (uw *userWatch) start(parent context.Context, cfg imap.Config, folders map[string]string) *watchSet {
	p := uw.p
	ctx, cancel := context.WithCancel(parent)
	ws := &watchSet{cfg: cfg, folders: folders, cancel: cancel}
	log := p.log.With("user", uw.user)
	for id, mb := range folders {
		ws.wg.Add(1)
		go func() {
			defer ws.wg.Done()
			p.supervise(ctx, log, func(ctx context.Context) { uw.idleLoop(ctx, cfg, id, mb) })
		}()
	}
	return ws
}

// publish announces an upstream change of one folder.
func (uw *userWatch) publish(folderID string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := uw.p.bus.Publish(ctx, state.Change{User: uw.user, Collection: folderID, At: time.Now()}); err != nil {
		uw.p.log.Warn("push: publishing a change failed", "user", uw.user, "folder", folderID, "err", err)
	}
}

// backoff returns the n-th reconnect delay: exponential from 1 s to 5 min,
// with jitter so that many users reconnecting after a provider outage do
// not arrive together.
func backoff(n int) time.Duration {
	d := time.Second << min(n, 9)
	d = min(d, 5*time.Minute)
	return d/2 + rand.N(d/2+1)
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// idleLoop keeps one IDLE connection on a mailbox, reconnecting with
// backoff. Every (re)connection publishes a change, so anything that
// happened while the connection was down is re-checked by parked requests.
func (uw *userWatch) idleLoop(ctx context.Context, cfg imap.Config, folderID, mailbox string) {
	p := uw.p
	log := p.log.With("user", uw.user, "folder", folderID)
	if p.opts.OnWatcher != nil {
		p.opts.OnWatcher(1)
		defer p.opts.OnWatcher(-1)
	}
	failures := 0
	for ctx.Err() == nil {
		connected := false
		err := imap.WatchWith(ctx, cfg, mailbox, imap.WatchOptions{OnReady: func(imap.Status) {
			connected = true
			if failures > 0 {
				log.Info("push: IDLE reconnected", "after_failures", failures)
				if p.opts.OnReconnect != nil {
					p.opts.OnReconnect()
				}
			}
			failures = 0
			uw.publishUnknown(folderID, mailbox)
		}}, func() { uw.publishUnknown(folderID, mailbox) })
		if ctx.Err() != nil {
			return
		}
		if !connected {
			failures++
		}
		d := backoff(failures)
		log.Warn("push: IDLE connection ended; reconnecting", "err", err, "in", d.Round(time.Millisecond))
		if !sleepCtx(ctx, d) {
			return
		}
	}
}
