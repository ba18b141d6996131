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

	mode      atomic.Value // string: the connection's imap.WatchMode*, "" before the first
	connected bool         // Run got ready this time (the loop's goroutine only)
	failures  int          // dials in a row that did not get ready (the loop's goroutine only)
}

// startMail starts the user's watcher connection for folders.
func (uw *userWatch) startMail(parent context.Context, cfg imap.Config, folders map[string]string) *mailWatch {
	p := uw.p
	ctx, cancel := context.WithCancel(parent)
	m := &mailWatch{uw: uw, cfg: cfg, cancel: cancel}
	m.mode.Store("")
	m.w = imap.NewMailboxWatch(cfg, imap.MailboxWatchOptions{
		NoNotify:          p.opts.NoNotify,
		PollInterval:      p.opts.PollInterval,
		HierarchyInterval: p.opts.HierarchyInterval,
		OnReady:           m.ready,
		OnChange:          m.changed,
		OnHierarchy:       uw.publishHierarchy,
	})
	m.set(folders)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		p.supervise(ctx, p.log.With("user", uw.user), m.loop)
	}()
	return m
}

func (m *mailWatch) stop() {
	m.cancel()
	m.wg.Wait()
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
		select {
		case uw.wake <- struct{}{}:
		default:
		}
	}
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

// loop runs the connection, reconnecting with backoff.
func (m *mailWatch) loop(ctx context.Context) {
	p := m.uw.p
	log := p.log.With("user", m.uw.user)
	if p.opts.OnWatcher != nil {
		p.opts.OnWatcher(1)
		defer p.opts.OnWatcher(-1)
	}
	for ctx.Err() == nil {
		m.connected = false
		err := m.w.Run(ctx)
		if ctx.Err() != nil {
			return
		}
		if !m.connected {
			m.failures++
		}
		d := backoff(m.failures)
		log.Warn("push: upstream watcher connection ended; reconnecting", "err", err, "mode", m.Mode(), "in", d.Round(time.Millisecond))
		if !sleepCtx(ctx, d) {
			return
		}
	}
}
