package bridge

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/accounts"
	"github.com/idlebridge/idlebridge/bridge/engine"
)

// The push hub and the item classes beside mail: the Bridge answers the
// hub's re-checks by the folder's kind, and the lease holder runs each
// class's engine.Watcher for the watched folders of its kinds, beside the
// IMAP watchers and stopped with them.

// refOf implements changeChecker for the hub's own tests (mail alone).
func (m *Mail) refOf(ctx context.Context, user, folderID string) (engine.Ref, bool, error) {
	return refOf(ctx, m.store, user, folderID)
}

// refOf implements changeChecker.
func (b *Bridge) refOf(ctx context.Context, user, folderID string) (engine.Ref, bool, error) {
	return refOf(ctx, b.Store, user, folderID)
}

// hasChanges implements changeChecker: mail by its one-STATUS path, other
// kinds by engine.HasChanges with the class's source (which compares what
// the class's watcher recorded, without upstream I/O for sources that
// keep it). A collection the device never synced has none.
func (b *Bridge) hasChanges(ctx context.Context, acct *Account, deviceID, collectionID string, first bool) (bool, error) {
	user := acct.Address()
	col, err := engine.Header(ctx, b.Store, user, deviceID, collectionID)
	if err != nil || col == nil || col.SyncKey == "" || col.SyncKey == "0" {
		return false, err
	}
	ref, ok, err := refOf(ctx, b.Store, user, collectionID)
	switch {
	case err != nil:
		return false, err
	case !ok:
		return true, nil // the folder is gone: the device learns it on its next Sync
	case ref.Kind == engine.KindMail:
		return b.Mail.mailboxChanged(ctx, acct, deviceID, collectionID, ref.Path, col, first)
	}
	cls := b.classOf(ref.Kind)
	if cls == nil {
		return false, nil // no class serves it any more; its Sync says so
	}
	// A re-check has no request options: a source that filters (a
	// calendar's past window) keeps its filter in the collection's Meta.
	return b.engine.HasChanges(ctx, cls.Source, b.call(ctx, acct, deviceID, collectionID, ref, activesync.SyncOptions{}))
}

// hierarchyChanged implements changeChecker over every folder source.
func (b *Bridge) hierarchyChanged(ctx context.Context, acct *Account, deviceID string) (bool, error) {
	return b.hierarchies().changed(ctx, acct, deviceID)
}

// classWatches are the running class watchers of one user, by class.
type classWatches map[int]*classWatch

type classWatch struct {
	cancel  context.CancelFunc
	handle  engine.WatchHandle
	folders map[string]engine.Ref
	creds   accounts.Credentials
}

func (cw classWatches) stop() {
	for i, w := range cw {
		w.cancel()
		delete(cw, i)
	}
}

// runClassWatchers starts, updates or stops each class's watcher for the
// watched folders of its kinds. Called from the lease holder's loop.
func (uw *userWatch) runClassWatchers(ctx context.Context, cw classWatches, pr *accounts.Principal, refs map[string]engine.Ref) classWatches {
	p := uw.p
	if cw == nil {
		cw = classWatches{}
	}
	for i, c := range p.classes {
		if c.Watcher == nil {
			continue
		}
		kinds := c.Watcher.Kinds()
		mine := map[string]engine.Ref{}
		for id, r := range refs {
			if slices.Contains(kinds, r.Kind) {
				mine[id] = r
			}
		}
		w := cw[i]
		switch {
		case len(mine) == 0 || pr == nil:
			if w != nil {
				w.cancel()
				delete(cw, i)
			}
		case w == nil:
			wctx, cancel := context.WithCancel(ctx)
			w = &classWatch{cancel: cancel, folders: mine, creds: pr.Upstream}
			log := p.log.With("user", uw.user, "kinds", kinds)
			if p.guard(panicWatcher, log, func() {
				w.handle = c.Watcher.Watch(wctx, pr, maps.Clone(mine), uw.publish)
			}) {
				cancel()
				continue // tried again on the next tick
			}
			log.Debug("push: watching a class's folders", "folders", len(mine))
			cw[i] = w
		case !maps.Equal(w.folders, mine) || w.creds != pr.Upstream:
			w.folders, w.creds = mine, pr.Upstream
			if w.handle != nil {
				p.guard(panicWatcher, p.log.With("user", uw.user, "kinds", kinds), func() { w.handle.Update(pr, maps.Clone(mine)) })
			}
		}
	}
	return cw
}

func (uw *userWatch) currentPrincipal() *accounts.Principal {
	uw.mu.Lock()
	defer uw.mu.Unlock()
	return uw.principal
}

// classHierarchyPrint is the classes' part of the hierarchy poller's
// print: every folder each class lists now. A class that cannot be listed
// contributes a fixed marker (its folders are kept as the devices know
// them, so an outage is not a change).
func (uw *userWatch) classHierarchyPrint(ctx context.Context) string {
	pr := uw.currentPrincipal()
	if len(uw.p.classes) == 0 || pr == nil {
		return ""
	}
	var lines []string
	if pr.User != nil {
		// Which devices see the address books merged (issue 14) follows
		// the user file: a changed merge_books changes what FolderSync
		// shows the user's devices, as a new folder would.
		lines = append(lines, "contacts.merge_books\x00"+pr.User.Contacts.MergeBooks)
	}
	for i, c := range uw.p.classes {
		if c.Hierarchy == nil || !classServes(c, pr) {
			continue // lists nothing for the user
		}
		folders, err := c.Hierarchy.Folders(ctx, pr, engine.Client{})
		if err != nil {
			lines = append(lines, strconv.Itoa(i)+"\x00unavailable")
			continue
		}
		for _, f := range folders {
			lines = append(lines, strconv.Itoa(i)+"\x00"+engine.EncodeRef(f.Ref)+"\x00"+engine.EncodeRef(f.Parent)+"\x00"+f.DisplayName+"\x00"+strconv.Itoa(f.Type))
		}
	}
	slices.Sort(lines)
	return "\n" + strings.Join(lines, "\n")
}

// classServes reports whether c's hierarchy may list folders for pr.
func classServes(c engine.Class, pr *accounts.Principal) bool {
	if s, ok := c.Hierarchy.(engine.Served); ok {
		return s.Serves(pr)
	}
	return c.Hierarchy != nil
}

// classesServe reports whether any class's hierarchy may list folders for
// pr: otherwise the hierarchy poller is not run for the user (a timer, a
// goroutine and a print a minute for each mail-only user), and the print
// is known without listing.
func (uw *userWatch) classesServe(pr *accounts.Principal) bool {
	if pr == nil {
		return false
	}
	for _, c := range uw.p.classes {
		if c.Hierarchy != nil && classServes(c, pr) {
			return true
		}
	}
	return false
}
