package davsync

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/upstream/dav"
)

// metaHref is the listing's collection href: a folder whose collection
// changed (never expected, but a listing must not mix two collections)
// starts its listing over.
const metaHref = "href"

// maxTruncatedPolls bounds how often one refresh follows a server that
// answers sync-collection in parts (RFC 6578 3.6).
const maxTruncatedPolls = 20

// refresh polls the folder's collection with the change ladder and stores
// what moved in its listing. changed reports whether an entry changed
// (the listing's version moved).
func (c *core) refresh(ctx context.Context, ce *clientEntry, user, folderID string, ref engine.Ref) (*listing, bool, error) {
	it, ok := c.items[ref.Kind]
	if !ok {
		return nil, false, fmt.Errorf("davsync: no class for kind %q", ref.Kind)
	}
	anyChange := false
	for range maxTruncatedPolls {
		truncated := false
		l, changed, err := updateListing(ctx, c.opts.Store, user, folderID, func(l *listing) (*edit, error) {
			var ed *edit
			var trunc bool
			var err error
			if isMerged(ref) {
				ed, trunc, err = c.pollMerged(ctx, ce, l)
			} else {
				ed, trunc, err = c.poll(ctx, ce.client, l, ref, it)
			}
			truncated = trunc
			return ed, err
		})
		if errors.Is(err, engine.ErrGone) {
			markGone(ctx, c, user, folderID)
		}
		if err != nil {
			return nil, false, err
		}
		anyChange = anyChange || changed
		if !truncated {
			return l, anyChange, nil
		}
	}
	l, err := loadListing(ctx, c.opts.Store, user, folderID)
	return l, anyChange, err
}

// poll asks the server what changed since the listing's cursor and turns
// it into an edit of the listing.
func (c *core) poll(ctx context.Context, cl *dav.Client, l *listing, ref engine.Ref, it Items) (*edit, bool, error) {
	ed := newEdit()
	cur, snap := l.cursor(), l.etags()
	if l.exists && l.meta[metaHref] != ref.Path {
		// Not this collection's listing: start over.
		for _, e := range l.items {
			ed.del = append(ed.del, e.href)
		}
		cur, snap = dav.Cursor{}, map[string]string{}
		ed.bump = true
	}
	ed.meta[metaHref] = ref.Path
	comps := l.meta[metaComps]
	if comps == "" || ed.bump {
		col, err := cl.Collection(ctx, ref.Path)
		if err != nil {
			return nil, false, collectionErr(err)
		}
		comps = "*"
		if col.Components != nil {
			comps = strings.Join(col.Components, ",")
		}
		ed.meta[metaComps] = comps
		if _, ok := it.(versioned); ok {
			ed.meta[metaOffered] = strings.Join(col.VCardVersions, ",")
		}
	}
	ch, err := cl.Poll(ctx, ref.Path, cur, snap)
	if err != nil {
		return nil, false, collectionErr(err)
	}
	if ch.TokenReset {
		c.opts.Log.Info("dav: sync token refused, listed the collection once", "collection", ref.Path, "folder", l.folderID)
	}
	ed.cursor = &ch.Next
	ed.meta[metaGone] = ""
	var todos map[string]string // the VTODOs of a mixed calendar, asked once
	for href, etag := range ch.Changed {
		e := entry{etag: etag}
		if id, ok := l.byHref[href]; ok && !ed.bump {
			e.foreign = l.items[id].foreign
		} else if it.Component() != "" && mixed(comps) {
			if todos == nil {
				if todos, err = cl.ListMatching(ctx, ref.Path, "VTODO", "", ""); err != nil {
					return nil, false, collectionErr(err)
				}
			}
			_, isTodo := todos[href]
			e.foreign = isTodo != (it.Component() == "VTODO")
		}
		ed.set[href] = e
	}
	ed.del = append(ed.del, ch.Removed...)
	return ed, ch.Truncated, nil
}

// mixed says whether a collection with these components holds more than
// one kind of object ("*": the server did not say, so it may).
func mixed(comps string) bool {
	if comps == "*" {
		return true
	}
	ev, todo := false, false
	for _, c := range strings.Split(comps, ",") {
		ev = ev || c == "VEVENT"
		todo = todo || c == "VTODO"
	}
	return ev && todo
}

// collectionErr: a collection gone upstream is engine.ErrGone (the device
// runs FolderSync); an unreachable server a retryable outage.
func collectionErr(err error) error {
	if errors.Is(err, dav.ErrNotFound) {
		return fmt.Errorf("%w: %w", engine.ErrGone, err)
	}
	return upstreamErr(err)
}

// metaGone marks a listing whose collection the server no longer has, so
// a cached plan (Ping) answers engine.ErrGone too.
const metaGone = "gone"

func markGone(ctx context.Context, c *core, user, folderID string) {
	_, _, err := updateListing(ctx, c.opts.Store, user, folderID, func(l *listing) (*edit, error) {
		if !l.exists {
			return nil, nil
		}
		ed := newEdit()
		ed.meta[metaGone] = "1"
		return ed, nil
	})
	if err != nil {
		c.opts.Log.Warn("dav: collection gone, not recorded", "user", user, "collection", folderID, "err", err)
	}
}
