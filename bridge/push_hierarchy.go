package bridge

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/bridge/state"
)

// Hierarchy push. A folder created, renamed or deleted — upstream by
// another mail client, or by another device through the bridge — must
// answer a parked Ping with Status 7, or the phone never learns of it
// until it restarts. (MS-ASCMD 2.2.3.177.11, Ping Status 7: the
// folder hierarchy is out of date, FolderSync is required.)
//
// Who says the hierarchy may have changed: the lease holder's watcher
// connection (upstream changes: NOTIFY's MailboxName events, or a LIST
// between IDLE periods without NOTIFY; push_watch_mail.go), and the bridge's own
// FolderCreate/FolderUpdate/FolderDelete (bridge_notify.go). They publish
// a Change with the hierarchy's collection ID ("") on the bus.
//
// Who is told: each parked device re-checks its own view, as for mail: the
// hierarchy a FolderSync would send now (one LIST) against the device's
// FolderSync state. That is the no-echo rule — the device that created a
// folder holds it in its state already — decided by state, not by who
// published, so no device is spared a Status 7 it needs (a missed Status 7
// leaves a folder invisible; an extra one costs one FolderSync).

// pingFolderSync answers a parked Ping with Status 7 (MS-ASCMD
// 2.2.3.177.11 Ping Status 7: folder hierarchy sync required).
func pingFolderSync() error {
	return activesync.CommandStatus(activesync.PingStatusFolderSync, "folder hierarchy changed; FolderSync required")
}

// hierarchyChanged reports whether a FolderSync of the device would carry
// anything now. A device with no FolderSync state has nothing to compare
// (its Ping already fails with Status 7 for unknown folders).
func (m *Mail) hierarchyChanged(ctx context.Context, acct *Account, deviceID string) (bool, error) {
	return m.hierarchies().changed(ctx, acct, deviceID)
}

// changed is hierarchyChanged over every folder source; folders of a
// source that cannot be listed now count as unchanged.
func (h hierarchies) changed(ctx context.Context, acct *Account, deviceID string) (bool, error) {
	user := acct.Address()
	col, err := engine.Header(ctx, h.store, user, deviceID, hierarchyCollection)
	if err != nil || col == nil || col.SyncKey == "" || col.SyncKey == "0" {
		return false, err
	}
	now, err := h.current(ctx, acct, deviceID)
	if err != nil {
		return false, err
	}
	// What the device holds once it has the answer that issued its key.
	view, err := engine.DeviceView(ctx, h.store, user, deviceID, hierarchyCollection, col, engine.Current)
	if err != nil {
		return false, err
	}
	listed := make(map[string]bool, len(now.folders))
	for _, f := range now.folders {
		listed[f.ServerID] = true
		if view[f.ServerID] != folderSignature(f.Type, f.ParentID, f.DisplayName) {
			return true, nil
		}
	}
	for id := range view {
		if !listed[id] && !now.kept[id] {
			return true, nil
		}
	}
	return false, nil
}

// classHierarchy lists the classes' hierarchies (calendars, address
// books) every HierarchyInterval while this instance holds the user's
// lease, and publishes a hierarchy change when they differ from the
// previous listing, so a calendar created upstream answers a parked Ping
// with Status 7 too. The mail folders' list is the watcher connection's
// (push_watch_mail.go); this holds no IMAP connection, and between
// listings no goroutine either: a timer starts each one.
type classHierarchy struct {
	uw     *userWatch
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // the listing that runs or the timer that waits

	mu    sync.Mutex
	timer *time.Timer

	// Touched only by the listing (one at a time: each schedules the next).
	last   string
	seen   bool
	panics int
}

// startClassHierarchy lists at once, then every HierarchyInterval. The
// first listing sets the baseline, unless base is given (based): then it
// is compared with that.
func (uw *userWatch) startClassHierarchy(parent context.Context, base string, based bool) *classHierarchy {
	ctx, cancel := context.WithCancel(parent)
	h := &classHierarchy{uw: uw, ctx: ctx, cancel: cancel, last: base, seen: based}
	h.schedule(0)
	return h
}

func (h *classHierarchy) schedule(d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ctx.Err() != nil {
		return
	}
	h.wg.Add(1)
	h.timer = time.AfterFunc(d, func() {
		defer h.wg.Done()
		h.list()
	})
}

// list compares one listing with the previous. A panic is recovered and
// the listing starts afresh after a backoff (the first listing after it
// only sets the baseline again).
func (h *classHierarchy) list() {
	uw := h.uw
	next := uw.p.opts.HierarchyInterval
	if uw.p.guard(panicWatcher, uw.p.log.With("user", uw.user), func() {
		if pr := uw.classHierarchyPrint(h.ctx); h.ctx.Err() == nil && (!h.seen || pr != h.last) {
			if h.seen {
				uw.publishHierarchy()
			}
			h.last, h.seen = pr, true
		}
	}) {
		h.seen = false
		next = backoff(h.panics)
		h.panics++
	}
	h.schedule(next)
}

// stop ends the listings and returns once none runs.
func (h *classHierarchy) stop() {
	h.cancel()
	h.mu.Lock()
	if h.timer != nil && h.timer.Stop() {
		h.wg.Done() // it will not fire
	}
	h.mu.Unlock()
	h.wg.Wait()
}

func (uw *userWatch) publishHierarchy() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := uw.p.bus.Publish(ctx, state.Change{User: uw.user, Collection: hierarchyCollection, At: time.Now()}); err != nil {
		uw.p.log.Warn("push: publishing a folder hierarchy change failed", "user", uw.user, "err", err)
	}
}

// sentFolderID returns the ID of the folder the device knows as Sent
// Items (type 5), from its FolderSync state: no IMAP.
func (m *Mail) sentFolderID(ctx context.Context, user, deviceID string) (string, bool, error) {
	col, err := engine.Header(ctx, m.store, user, deviceID, hierarchyCollection)
	if err != nil || col == nil {
		return "", false, err
	}
	// With the answer that issued its key (a FolderSync's adds wait in
	// the pending delta until the device presents that key).
	snap, err := engine.DeviceView(ctx, m.store, user, deviceID, hierarchyCollection, col, engine.Current)
	if err != nil {
		return "", false, err
	}
	prefix := strconv.Itoa(activesync.FolderSentItems) + "|"
	for id, sig := range snap {
		if strings.HasPrefix(sig, prefix) {
			return id, true, nil
		}
	}
	return "", false, nil
}
