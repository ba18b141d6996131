package mail

import (
	"context"
	"errors"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/login"
	"github.com/idlebridge/idlebridge/bridge/outage"
	"github.com/idlebridge/idlebridge/bridge/state"
)

// Outcomes of Options.OnRecheck: what decided a parked device's re-check.
const (
	RecheckByVersion  = "version"  // the recorded upstream version equalled the device's
	RecheckByUpstream = "upstream" // the provider was asked (one SELECT when nothing moved)
)

// Recheck reports whether a parked device's next Sync of an Email
// collection would carry anything: the push hub's re-check.
//
// The collection's Meta holds the mailbox's version (UIDVALIDITY, UIDNEXT,
// HIGHESTMODSEQ, MESSAGES) as the device's last answer saw it; the store
// holds the version the user's watcher last observed (state.Versions).
// Equal, and the Meta an exact basis (no window left to fill, no basis
// kept back, CONDSTORE): nothing changed for the device since, with no
// upstream I/O, so one observation serves every device of the user.
// Different or unknown: today's upstream check, by the same one-SELECT
// plan as an empty incremental Sync (when in doubt, ask the provider: a
// missed push is worse than a SELECT).
//
// The record is only as good as its writers' order (state.Versions): the
// watcher records before it publishes, and the bridge marks a mailbox
// stale before it changes it (markChanging). first says this is the
// check a Ping makes as it parks, for changes made before it: then only
// a record of a NOTIFY watcher is trusted, since a poll's may be minutes
// behind and nothing would wake the device before the next poll.
func (m *Engine) Recheck(ctx context.Context, acct *login.Account, deviceID, collectionID, mailbox string, col *state.Collection, first bool) (bool, error) {
	mm := parseMailMeta(col.Meta)
	if !mm.full && mm.modSeq > 0 && mm.uidValidity != 0 {
		v, ok, err := m.store.GetVersion(ctx, acct.Address(), mailbox, time.Now())
		if err != nil {
			return false, outage.Store(err)
		}
		if ok && (v.Live || !first) && v.UIDValidity == mm.uidValidity && v.UIDNext == mm.uidNext &&
			v.ModSeq == mm.modSeq && v.Messages == mm.messages {
			m.rechecked(RecheckByVersion)
			return false, nil
		}
		if ok && !first {
			n, used, err := m.recheckShared(ctx, acct, deviceID, collectionID, mailbox, col, mm, v)
			if err != nil || used {
				return n > 0, err
			}
		}
	}
	m.rechecked(RecheckByUpstream)
	opts := activesync.SyncOptions{Class: "Email", FilterType: mm.filter, MIMETruncation: -1, Conflict: 1}
	n, err := m.EstimateCollection(ctx, acct, deviceID, collectionID, mailbox, col, col.SyncKey, opts)
	if err != nil {
		var e *activesync.Error
		if errors.As(err, &e) && e.Command {
			// Invalid key, folder gone: the device learns it on its next
			// Sync; answering the Ping makes it Sync now.
			return true, nil
		}
		return false, err
	}
	return n > 0, nil
}

func (m *Engine) rechecked(by string) {
	if m.opts.OnRecheck != nil {
		m.opts.OnRecheck(by)
	}
}

// markChanging marks mailboxes' version records stale before the bridge
// itself changes them upstream (a move, an emptied folder, a device's Sync
// commands), so no parked device is told "unchanged" from a record the
// change has outdated: their re-checks ask the provider until the
// watcher's next observation. A store failure fails the operation: going
// on unmarked could hide the change from the user's other devices.
func (m *Engine) markChanging(ctx context.Context, user string, mailboxes ...string) error {
	err := MarkChanging(ctx, m.store, user, mailboxes...)
	m.shared.forget(user, mailboxes)
	return err
}

// MarkChanging is markChanging for callers outside the engine that change
// a mailbox upstream (the Sent copy of a sent mail, bridge/send).
func MarkChanging(ctx context.Context, st state.Versions, user string, mailboxes ...string) error {
	now := time.Now()
	for _, mb := range mailboxes {
		if err := st.StaleVersion(ctx, user, mb, now); err != nil {
			return outage.Store(err)
		}
	}
	return nil
}
