package bridge

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/idlebridge/idlebridge/upstream/imap"
)

// mailWatch is a user's one upstream watcher connection on the lease
// holder (upstream/imap.MailboxWatch): NOTIFY for every watched folder and
// the folder list where the provider offers it, else IDLE on the inbox
// with STATUS and LIST between IDLE periods. It lives as long as the
// user's credentials and endpoint stay the same; a changed folder set is
// applied on the same connection.
type mailWatch struct {
	uw     *userWatch
	cfg    imap.Config
	w      *imap.MailboxWatch
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	folders map[string]string // folder ID → mailbox
	retry   *time.Timer       // the reconnect backoff, while it runs

	told map[string]bool // mailboxes whose status this connection recorded (push_versions.go); guarded by mu

	mode atomic.Value // string: the connection's imap.WatchMode*, "" before the first
	// Touched only by the connection's current goroutine (Start's, the
	// resumed waits', the backoff timer's; one at a time).
	connected bool // ready this time
	failures  int  // dials in a row that did not get ready
}

// startMail starts the user's watcher connection for folders.
func (uw *userWatch) startMail(parent context.Context, cfg imap.Config, folders map[string]string) *mailWatch {
	p := uw.p
	ctx, cancel := context.WithCancel(parent)
	log := p.log.With("user", uw.user)
	m := &mailWatch{uw: uw, cfg: cfg, cancel: cancel}
	m.mode.Store("")
	m.w = imap.NewMailboxWatch(cfg, imap.MailboxWatchOptions{
		NoNotify:          p.opts.NoNotify,
		PollInterval:      p.opts.PollInterval,
		HierarchyInterval: p.opts.HierarchyInterval,
		// The callbacks run in the watcher's own goroutines, outside
		// the manager's pass: each has its recovery point.
		OnReady:     func(mode string) { p.guard(panicWatcher, log, func() { m.ready(mode) }) },
		OnChange:    func(mb string) { p.guard(panicWatcher, log, func() { m.changed(mb) }) },
		OnHierarchy: func() { p.guard(panicWatcher, log, uw.publishHierarchy) },
		// Recorded before OnChange publishes (push_versions.go).
		OnStatus: func(mb string, st imap.Status, known, live bool) {
			p.guard(panicWatcher, log, func() { m.observed(mb, st, known, live) })
		},
	})
	m.set(folders)
	m.wg.Add(1)
	if p.opts.OnWatcher != nil {
		p.opts.OnWatcher(1)
	}
	m.begin(ctx)
	return m
}

// stop ends the connection (or the wait before the next) and returns
// once it is closed.
func (m *mailWatch) stop() {
	m.cancel()
	m.mu.Lock()
	if m.retry != nil && m.retry.Stop() {
		// The backoff had not ended: nothing runs that would finish.
		m.retry = nil
		m.mu.Unlock()
		m.finished()
	} else {
		m.mu.Unlock()
	}
	m.wg.Wait()
}

func (m *mailWatch) finished() {
	if p := m.uw.p; p.opts.OnWatcher != nil {
		p.opts.OnWatcher(-1)
	}
	m.wg.Done()
}

// Mode returns the connection's watch mode ("" until it was ready once).
func (m *mailWatch) Mode() string { return m.mode.Load().(string) }

// set applies a folder set; the connection stays.
func (m *mailWatch) set(folders map[string]string) {
	m.mu.Lock()
	if m.folders != nil && sameFolders(m.folders, folders) {
		m.mu.Unlock()
		return // the manager's every tick: nothing to do
	}
	m.folders = make(map[string]string, len(folders))
	for id, mb := range folders {
		m.folders[id] = mb
	}
	m.mu.Unlock()
	m.w.SetMailboxes(watchOrder(folders))
}

// watchOrder lists the folders' mailboxes once each, INBOX first (the
// IDLE target without NOTIFY), then by folder ID.
func watchOrder(folders map[string]string) []string {
	ids := make([]string, 0, len(folders))
	for id := range folders {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		ii, jj := folders[ids[i]] == "INBOX", folders[ids[j]] == "INBOX"
		if ii != jj {
			return ii
		}
		return idLess(ids[i], ids[j])
	})
	seen := map[string]bool{}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if mb := folders[id]; !seen[mb] {
			seen[mb] = true
			out = append(out, mb)
		}
	}
	return out
}

func (m *mailWatch) idsOf(mailbox string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ids []string
	for id, mb := range m.folders {
		if mb == mailbox || mailbox == "" {
			ids = append(ids, id)
		}
	}
	return ids
}

// ready: a (re)connection watches now. Anything that happened while no
// connection did is re-checked by parked requests: every folder and the
// hierarchy are published.
func (m *mailWatch) ready(mode string) {
	uw, p := m.uw, m.uw.p
	m.connected = true
	if m.failures > 0 {
		p.log.Info("push: upstream watcher reconnected", "user", uw.user, "after_failures", m.failures, "mode", mode)
		if p.opts.OnReconnect != nil {
			p.opts.OnReconnect()
		}
	}
	m.failures = 0
	if old := m.Mode(); old != mode {
		m.mode.Store(mode)
		p.log.Debug("push: upstream watcher mode", "user", uw.user, "mode", mode)
		// Extra IDLE connections depend on the mode (none with NOTIFY).
		uw.kick()
	}
	m.staleUntold() // what this connection could not tell (push_versions.go)
	for _, id := range m.idsOf("") {
		uw.publish(id)
	}
	uw.publishHierarchy()
}

func (m *mailWatch) changed(mailbox string) {
	for _, id := range m.idsOf(mailbox) {
		m.uw.publish(id)
	}
}

// begin starts a connection. The watch holds no goroutine of its own:
// Start's runs the dial and setup, and with NOTIFY the wait parks between
// the server's responses (upstream/imap/mailwatch_park.go).
func (m *mailWatch) begin(ctx context.Context) {
	m.connected = false
	m.w.Start(ctx, func(err error) { m.ended(ctx, err) })
}

// ended: the connection is gone; reconnect with backoff unless ctx ended.
func (m *mailWatch) ended(ctx context.Context, err error) {
	m.unlive() // no connection hears of changes now (push_versions.go)
	if ctx.Err() != nil {
		m.finished()
		return
	}
	if !m.connected {
		m.failures++
	}
	d := backoff(m.failures)
	m.uw.p.log.Warn("push: upstream watcher connection ended; reconnecting", "user", m.uw.user, "err", err, "mode", m.Mode(), "in", d.Round(time.Millisecond))
	m.mu.Lock()
	defer m.mu.Unlock()
	if ctx.Err() != nil { // stop ran meanwhile and found no timer
		m.finished()
		return
	}
	m.retry = time.AfterFunc(d, func() {
		m.mu.Lock()
		m.retry = nil
		m.mu.Unlock()
		if ctx.Err() != nil {
			m.finished()
			return
		}
		m.begin(ctx)
	})
}
