package bridge

import (
	"context"
	"time"

	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

// versionWriteTimeout bounds one version record write from a watcher.
const versionWriteTimeout = 5 * time.Second

// observed records what the user's watcher connection saw of a mailbox
// (state.Versions), just before the change is published: a parked
// device's re-check (bridge/mail's Recheck) then compares its own
// version with this one instead of asking the provider. A status the
// watcher does not know whole (an IDLE mailbox's EXISTS), or one without
// HIGHESTMODSEQ, marks the record stale: the re-checks ask upstream. A
// record that cannot be written is marked stale if that still works; if
// the store refuses both, the re-checks fail on it too rather than trust
// the old record.
func (m *mailWatch) observed(mailbox string, st imap.Status, known, live bool) {
	p, user := m.uw.p, m.uw.user
	ctx, cancel := context.WithTimeout(p.ctx, versionWriteTimeout)
	defer cancel()
	now := time.Now()
	m.mu.Lock()
	if m.told == nil {
		m.told = map[string]bool{}
	}
	m.told[mailbox] = true
	m.mu.Unlock()
	var err error
	if known && st.HighestModSeq > 0 && st.UIDValidity != 0 {
		err = p.store.PutVersion(ctx, user, mailbox, state.UpstreamVersion{
			UIDValidity: st.UIDValidity, UIDNext: st.UIDNext, ModSeq: st.HighestModSeq, Messages: st.Messages,
			Live: live, At: now,
		})
		if err == nil {
			return
		}
	}
	if serr := p.store.StaleVersion(ctx, user, mailbox, now); serr != nil || err != nil {
		if p.ctx.Err() == nil {
			p.log.Warn("push: recording an upstream version failed", "user", user, "mailbox", mailbox, "err", err, "stale_err", serr)
		}
	}
}

// unlive demotes the watched mailboxes' records from live once the
// connection that wrote them ended: nothing hears of a change now, so a
// Ping's first check must not trust them (it asks upstream instead); a
// woken device may, since the next connection's OnReady re-checks every
// folder with fresh records. A stale mark stays stale (PutVersion keeps
// it).
func (m *mailWatch) unlive() {
	p, user := m.uw.p, m.uw.user
	ctx, cancel := context.WithTimeout(context.Background(), versionWriteTimeout)
	defer cancel()
	m.mu.Lock()
	m.told = nil
	m.mu.Unlock()
	for _, mb := range m.mailboxes() {
		v, ok, err := p.store.GetVersion(ctx, user, mb, time.Now())
		if err == nil && ok && v.Live {
			v.Live = false
			err = p.store.PutVersion(ctx, user, mb, v)
		}
		if err != nil {
			// Stale, then: the re-checks ask upstream.
			_ = p.store.StaleVersion(ctx, user, mb, time.Now())
		}
	}
}

// publishUnknown publishes a change of a folder whose new status the
// watcher does not know (an extra IDLE connection's EXISTS): its record
// is marked stale first, so the re-checks ask upstream rather than trust
// a record from an earlier poll.
func (uw *userWatch) publishUnknown(folderID, mailbox string) {
	p := uw.p
	ctx, cancel := context.WithTimeout(p.ctx, versionWriteTimeout)
	err := p.store.StaleVersion(ctx, uw.user, mailbox, time.Now())
	cancel()
	if err != nil && p.ctx.Err() == nil {
		p.log.Warn("push: marking an upstream version stale failed", "user", uw.user, "mailbox", mailbox, "err", err)
	}
	uw.publish(folderID)
}

// mailboxes lists the watched mailboxes once each.
func (m *mailWatch) mailboxes() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for _, mb := range m.folders {
		if !seen[mb] {
			seen[mb] = true
			out = append(out, mb)
		}
	}
	return out
}

// staleUntold runs as a connection becomes ready, before it publishes
// every folder: a mailbox whose status it did not tell (IDLE mode tells
// none at the start; NOTIFY SET STATUS tells each) keeps the record of an
// earlier connection, which a change while no connection watched would
// have outdated, so it is marked stale and the re-checks ask upstream.
func (m *mailWatch) staleUntold() {
	p, user := m.uw.p, m.uw.user
	ctx, cancel := context.WithTimeout(p.ctx, versionWriteTimeout)
	defer cancel()
	m.mu.Lock()
	told := m.told
	m.mu.Unlock()
	for _, mb := range m.mailboxes() {
		if told[mb] {
			continue
		}
		if err := p.store.StaleVersion(ctx, user, mb, time.Now()); err != nil && p.ctx.Err() == nil {
			p.log.Warn("push: marking an upstream version stale failed", "user", user, "mailbox", mb, "err", err)
		}
	}
}
