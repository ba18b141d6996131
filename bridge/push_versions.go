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
