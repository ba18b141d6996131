package bridge

import (
	"context"
	"errors"
	"log/slog"
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
//
// The manager is a state machine, not a loop: step runs one pass (hold
// the lease, bring the connections in line with the folder set) when
// something happens — a request's folders or credentials, another
// instance's watched set, the connection's mode — and on the hub's shared
// tick (push_wheel.go), then returns. At rest a watched user holds no
// goroutine.
type userWatch struct {
	p    *Push
	user string
	// ctx ends at stop (the hub closes); the connections live under it.
	ctx    context.Context
	cancel context.CancelFunc

	mu         sync.Mutex
	cfg        imap.Config
	folders    map[string]string     // folder ID → mailbox
	refs       map[string]engine.Ref // folder ID → ref, other kinds (their classes' watchers)
	principal  *accounts.Principal   // the latest request's, for the classes' watchers and hierarchies
	lastActive time.Time
	reread     bool // another instance's watched set changed

	steps serial // runs step, one pass at a time

	// Guarded by Push.mu.
	nextTick time.Time // when the shared tick steps it next
	// leaseToken is the token of the lease the passes hold (0: none),
	// for the tick's batch renewal; renewed is that batch's outcome,
	// taken by the next pass (push_lease.go).
	leaseToken uint64
	renewed    *leaseRenewal
	stopping   bool // going quiet: tearing down, still in Push.users
	revive     bool // a request came meanwhile: go on after the teardown
	// ticks counts the shared tick's steps of this manager; the tick
	// re-reads the watched union every rereadEvery of them, in one batch
	// with the other users' (push_rest.go), into watchedRead for the next
	// pass. watchedIDs is the union the last pass applied.
	ticks       int
	watchedRead *watchedRead
	watchedIDs  []string
	// settled: the last pass found everything in steady state (lease
	// held, followers up, nothing failed), so a tick that brings nothing
	// new needs no pass (push_rest.go).
	settled bool

	// Touched only by step (passes never overlap).
	st       watchState
	done     bool      // torn down for good
	panics   int       // recovered panics of the manager so far
	pausedTo time.Time // after a recovered panic: no pass before then
}

// watchState is what the manager holds between passes.
type watchState struct {
	held    bool
	token   uint64
	mail    *mailWatch // the user's watcher connection, while held
	running *watchSet  // extra IDLE connections (IdleBudget), while held
	follow  *follower  // while held: other instances' set changes
	remote  map[string]string
	remoteR map[string]engine.Ref // folders parked on other instances only
	classes classWatches          // the classes' watchers, while held
	// classHier lists the classes' hierarchies (calendars, address
	// books) every HierarchyInterval, while held and classes exist.
	classHier *classHierarchy
	// hierBase is the classes' print while none serves the user and no
	// poller runs (hierBased: it is set).
	hierBase  string
	hierBased bool
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
	fresh := uw == nil
	if fresh {
		ctx, cancel := context.WithCancel(context.Background())
		uw = &userWatch{p: p, user: acct.Address(), ctx: ctx, cancel: cancel, folders: map[string]string{}, refs: map[string]engine.Ref{}}
		uw.nextTick = time.Now().Add(p.opts.LeaseTTL / 3)
		p.users[uw.user] = uw
		p.startWheel()
	} else if uw.stopping {
		uw.revive = true
	}
	uw.update(cfg, folders, refs, acct.Principal)
	if fresh {
		uw.kick()
	}
}

func (uw *userWatch) touch() {
	uw.mu.Lock()
	uw.lastActive = time.Now()
	uw.mu.Unlock()
}

// kick runs a pass of the manager soon (after the one running, if any).
func (uw *userWatch) kick() { uw.steps.kick(&uw.p.wg, uw.step) }

// stop ends the manager: the next pass tears everything down.
func (uw *userWatch) stop() {
	uw.cancel()
	uw.kick()
}

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
		uw.kick()
	}
}

func (uw *userWatch) snapshot() (imap.Config, map[string]string, map[string]engine.Ref, *accounts.Principal, time.Time) {
	uw.mu.Lock()
	defer uw.mu.Unlock()
	return uw.cfg, maps.Clone(uw.folders), maps.Clone(uw.refs), uw.principal, uw.lastActive
}

// goingQuiet reports whether the user has no reason left to be watched
// here — no parked request, no request within ActiveFor — and if so marks
// the manager as stopping, in the same critical section as the check, so
// a request arriving during the teardown revives it (watchUser) rather
// than updating a manager that no longer runs.
func (uw *userWatch) goingQuiet(last time.Time) bool {
	p := uw.p
	if time.Since(last) < p.opts.ActiveFor {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.parkedFor(uw.user) {
		return false
	}
	uw.stopping = true
	return true
}

// step is one pass of the manager under a recovery point. After a panic
// everything it held is torn down (the lease released, the connections
// stopped) and it starts afresh after a backoff, so a bug hit on every
// pass does not spin.
func (uw *userWatch) step() {
	p := uw.p
	if uw.done {
		return
	}
	log := p.log.With("user", uw.user)
	if uw.ctx.Err() != nil {
		uw.teardown(log)
		uw.finish()
		return
	}
	if time.Now().Before(uw.pausedTo) {
		return // the shared tick steps it at pausedTo
	}
	var quiet bool
	if p.guard(panicWatcher, log, func() { quiet = uw.pass(log) }) {
		uw.teardown(log)
		d := backoff(uw.panics)
		uw.panics++
		uw.pausedTo = time.Now().Add(d)
		p.mu.Lock()
		uw.nextTick = uw.pausedTo
		p.mu.Unlock()
		log.Info("push: restarting a watcher after a panic", "in", d.Round(time.Millisecond))
		return
	}
	if !quiet {
		return
	}
	log.Debug("push: user inactive, stopping watchers")
	uw.teardown(log)
	p.mu.Lock()
	revive := uw.revive
	uw.stopping, uw.revive = false, false
	p.mu.Unlock()
	if revive {
		uw.kick()
		return
	}
	uw.finish()
}

// finish drops the manager from the hub for good.
func (uw *userWatch) finish() {
	p := uw.p
	uw.done = true
	p.mu.Lock()
	if p.users[uw.user] == uw {
		delete(p.users, uw.user)
	}
	p.mu.Unlock()
}

// teardown stops everything the manager holds, releases the lease and
// drops this instance's watched-set entry if nothing is parked here. Each
// part runs once: the state is cleared as it goes.
func (uw *userWatch) teardown(log *slog.Logger) {
	p := uw.p
	p.guard(panicWatcher, log, func() { uw.stopAll() })
	if st := &uw.st; st.held {
		st.held = false
		uw.setLeaseToken(0)
		_ = p.leases.Release(context.Background(), "watch:"+uw.user, p.opts.Instance, st.token)
	}
	uw.st = watchState{}
	// Nothing parked here any more (or the hub stops): drop this
	// instance's entry now rather than at its deadline.
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.syncEntry(sctx, uw.user); err != nil {
		log.Warn("push: clearing the watched folders failed", "err", err)
	}
}

// stopAll stops the connections and watchers the manager holds.
func (uw *userWatch) stopAll() {
	st := &uw.st
	st.classes.stop()
	if st.classHier != nil {
		st.classHier.stop()
		st.classHier = nil
	}
	if st.running != nil {
		st.running.stop()
		st.running = nil
	}
	if st.mail != nil {
		st.mail.stop()
		st.mail = nil
	}
	if st.follow != nil {
		st.follow.close()
		st.follow, st.remote, st.remoteR = nil, nil, nil
	}
}

// pass holds the lease and runs the connections for the current folder
// set; it reports true when the user went quiet (the caller tears down).
func (uw *userWatch) pass(log *slog.Logger) (quiet bool) {
	p, st, ctx := uw.p, &uw.st, uw.ctx
	lease := "watch:" + uw.user
	if p.onPass != nil {
		p.onPass(uw.user)
	}
	// Settled again only if this pass gets to its end with nothing failed.
	settled := true
	uw.setSettled(false)
	cfg, folders, refs, principal, last := uw.snapshot()
	if uw.goingQuiet(last) {
		return true
	}
	// This instance's entry follows what is parked here (and is
	// renewed), whether or not it holds the lease.
	sctx, cancel := context.WithTimeout(ctx, p.opts.LeaseTTL/3)
	if err := p.syncEntry(sctx, uw.user); err != nil {
		log.Warn("push: recording the watched folders failed", "err", err)
		settled = false
	}
	cancel()
	var err error
	if st.held {
		// The shared tick renewed the lease just before this pass
		// (push_lease.go); here only its outcome is read.
		err = uw.takeRenewal(st.token)
		if errors.Is(err, state.ErrNotFound) {
			// Fenced: another instance took over; stop acting at once.
			log.Warn("push: watch lease lost; another instance watches this user")
			st.held = false
			uw.setLeaseToken(0)
			uw.stopAll()
		}
	} else {
		lctx, cancel := context.WithTimeout(ctx, p.opts.LeaseTTL/3)
		var ok bool
		var token uint64
		ok, token, err = p.leases.Acquire(lctx, lease, p.opts.Instance, p.opts.LeaseTTL)
		cancel()
		if err == nil && ok {
			st.held, st.token = true, token
			uw.setLeaseToken(token)
			log.Info("push: watching upstream", "folders", len(folders))
		}
	}
	if err != nil && !errors.Is(err, state.ErrNotFound) {
		log.Warn("push: lease check failed", "err", err)
		settled = false
	}
	if !st.held {
		return false
	}
	if st.follow != nil && st.follow.ended.Load() {
		st.follow.close()
		st.follow = nil // subscribed again below
	}
	if st.follow == nil {
		var err error
		if st.follow, err = uw.followWatched(ctx); err != nil {
			log.Warn("push: cannot follow other instances' watched folders; re-reading them on ticks", "err", err)
			settled = false
		}
		uw.setReread()
	}
	// Re-read the union when told (read now: the tick's batch may be
	// older than the change), and every few ticks (a lapsed entry, a lost
	// event; read by the tick for every user at once).
	tickRead := uw.takeWatchedRead()
	if told := uw.takeReread(); told || tickRead != nil {
		rctx, cancel := context.WithTimeout(ctx, p.opts.LeaseTTL/3)
		var ids []string
		var err error
		if told {
			ids, err = p.store.Watched(rctx, uw.user, time.Now())
		} else {
			ids, err = tickRead.ids, tickRead.err
		}
		var r map[string]string
		var rr map[string]engine.Ref
		if err == nil {
			r, rr, err = p.remoteWatched(rctx, uw.user, ids, folders, refs)
		}
		cancel()
		if err != nil {
			log.Warn("push: reading other instances' watched folders failed", "err", err)
			settled = false
		} else {
			st.remote, st.remoteR = r, rr
			uw.setWatchedIDs(ids)
		}
	}
	for id, mb := range st.remote {
		if _, ok := folders[id]; !ok {
			folders[id] = mb
		}
	}
	for id, r := range st.remoteR {
		if _, ok := refs[id]; !ok {
			refs[id] = r
		}
	}
	if len(p.classes) > 0 {
		st.classes = uw.runClassWatchers(ctx, st.classes, principal, refs)
		serve := uw.classesServe(principal)
		switch {
		case serve && st.classHier == nil:
			st.classHier = uw.startClassHierarchy(ctx, st.hierBase, st.hierBased)
		case !serve && st.classHier != nil:
			// No class serves the user any more (its server left the
			// user file): their folders went, which the devices learn by
			// a FolderSync.
			st.classHier.stop()
			st.classHier = nil
			uw.publishHierarchy()
		}
		if !serve {
			// The print without listing: if a class comes to serve the
			// user (a CalDAV server added to the user file), the poller's
			// first listing is compared with it, and the new folders
			// answer parked Pings with Status 7.
			st.hierBase, st.hierBased = uw.classHierarchyPrint(ctx), true
		}
	}
	if st.mail == nil || !sameUpstream(st.mail.cfg, cfg) {
		if st.mail != nil {
			st.mail.stop()
		}
		st.mail = uw.startMail(ctx, cfg, folders)
	} else {
		st.mail.set(folders)
	}
	extra := uw.extraIdle(folders, st.mail.Mode())
	if st.running == nil || !sameUpstream(st.running.cfg, cfg) || !sameFolders(st.running.folders, extra) {
		if st.running != nil {
			st.running.stop()
		}
		st.running = uw.start(ctx, cfg, extra)
	}
	uw.setSettled(settled)
	return false
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
