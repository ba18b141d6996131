package davsync

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"

	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/upstream/dav"
)

// A listing is what the bridge knows of one folder's collection upstream,
// shared by all devices of the user: every object's href and ETag under
// its item ID, and the change-ladder cursor. It lives in the store under
// state.UserScope, collection "dav:<folderID>": the snapshot maps item ID
// → entry, the Meta holds the cursor and the listing's version.
//
// A mixed calendar holds VEVENTs and VTODOs in one collection; its
// calendar folder and its tasks folder each keep a listing of the same
// collection, and an object of the other side is kept as "foreign" so
// the ETag diff does not report it as new on every poll.
type listing struct {
	folderID string
	gen      uint64 // store generation, the compare-and-swap token
	exists   bool
	meta     map[string]string
	items    map[string]entry  // item ID → entry
	byHref   map[string]string // href → item ID
}

type entry struct {
	etag, href string
	foreign    bool // the other component of a mixed calendar
}

// Listing Meta keys.
const (
	metaToken   = "token"   // RFC 6578 sync token
	metaCTag    = "ctag"    // CalendarServer getctag
	metaVersion = "version" // bumped whenever an entry changes: devices compare it
	metaComps   = "comps"   // the collection's supported components, "VEVENT,VTODO"
	metaBad     = "bad:"    // + item ID: "<etag> <failed conversions>"
)

const entrySep = "\x1f"

func listingCollection(folderID string) string { return "dav:" + folderID }

func (e entry) encode() string {
	s := e.etag + entrySep + e.href
	if e.foreign {
		s += entrySep + "-"
	}
	return s
}

func decodeEntry(v string) entry {
	parts := strings.Split(v, entrySep)
	e := entry{etag: parts[0]}
	if len(parts) > 1 {
		e.href = parts[1]
	}
	e.foreign = len(parts) > 2 && parts[2] == "-"
	return e
}

// loadListing reads a folder's listing (an empty one when none is stored).
func loadListing(ctx context.Context, st state.Store, user, folderID string) (*listing, error) {
	l := &listing{folderID: folderID, meta: map[string]string{}, items: map[string]entry{}, byHref: map[string]string{}}
	coll := listingCollection(folderID)
	col, err := st.GetCollection(ctx, user, state.UserScope, coll)
	switch {
	case errors.Is(err, state.ErrNotFound):
		return l, nil
	case err != nil:
		return nil, fmt.Errorf("dav listing: %w", err)
	}
	l.gen, l.exists = col.Generation, true
	maps.Copy(l.meta, col.Meta)
	snap, err := st.Snapshot(ctx, user, state.UserScope, coll)
	if err != nil {
		return nil, fmt.Errorf("dav listing: %w", err)
	}
	for id, v := range snap {
		e := decodeEntry(v)
		l.items[id] = e
		l.byHref[e.href] = id
	}
	return l, nil
}

func (l *listing) version() string { return l.meta[metaVersion] }

func (l *listing) cursor() dav.Cursor {
	return dav.Cursor{SyncToken: l.meta[metaToken], CTag: l.meta[metaCTag]}
}

// etags is the href → ETag map Poll diffs a listing against.
func (l *listing) etags() map[string]string {
	out := make(map[string]string, len(l.items))
	for _, e := range l.items {
		out[e.href] = e.etag
	}
	return out
}

// mine returns the IDs of the folder's own objects with their entries.
func (l *listing) mine() map[string]entry {
	out := make(map[string]entry, len(l.items))
	for id, e := range l.items {
		if !e.foreign {
			out[id] = e
		}
	}
	return out
}

// edit is a pending change to a listing, applied and stored by save.
type edit struct {
	set    map[string]entry // href → entry (new or changed)
	del    []string         // hrefs gone
	meta   map[string]string
	bump   bool // the entries changed: a new version
	cursor *dav.Cursor
}

func newEdit() *edit { return &edit{set: map[string]entry{}, meta: map[string]string{}} }

func (e *edit) empty() bool {
	return len(e.set) == 0 && len(e.del) == 0 && len(e.meta) == 0 && e.cursor == nil
}

// apply folds the edit into l and returns the store delta. An entry that
// is already so is no change (the device's own PUT seen again by the
// next sync-collection).
func (l *listing) apply(ed *edit) *state.Delta {
	d := &state.Delta{Set: map[string]string{}}
	// Only the folder's own objects make a new version: the other side
	// of a mixed calendar is none of its devices' business.
	bump := ed.bump
	for _, href := range ed.del {
		if id, ok := l.byHref[href]; ok {
			bump = bump || !l.items[id].foreign
			d.Del = append(d.Del, id)
			delete(l.items, id)
			delete(l.byHref, href)
			delete(l.meta, metaBad+id)
		}
	}
	for href, e := range ed.set {
		e.href = href
		id, ok := l.byHref[href]
		if ok && l.items[id] == e {
			continue
		}
		bump = bump || !e.foreign || ok && !l.items[id].foreign
		if !ok {
			id = itemID(l.folderID, href, func(id string) bool { _, taken := l.items[id]; return taken })
		}
		l.items[id], l.byHref[href] = e, id
		d.Set[id] = e.encode()
	}
	for k, v := range ed.meta {
		if v == "" {
			delete(l.meta, k)
		} else {
			l.meta[k] = v
		}
	}
	if ed.cursor != nil {
		setOrDel(l.meta, metaToken, ed.cursor.SyncToken)
		setOrDel(l.meta, metaCTag, ed.cursor.CTag)
	}
	if bump {
		n, _ := strconv.ParseUint(l.meta[metaVersion], 10, 64)
		l.meta[metaVersion] = strconv.FormatUint(n+1, 10)
	}
	return d
}

func setOrDel(m map[string]string, k, v string) {
	if v == "" {
		delete(m, k)
	} else {
		m[k] = v
	}
}

// casRetries bounds the retries of a listing update that lost a race
// (the watcher and a device's Sync may write it at the same moment).
const casRetries = 5

// updateListing loads the listing, lets change compute an edit on it,
// and stores the result under compare-and-swap, retrying from a fresh
// read when another writer won. It returns the stored listing and
// whether its entries changed.
func updateListing(ctx context.Context, st state.Store, user, folderID string, change func(l *listing) (*edit, error)) (*listing, bool, error) {
	for range casRetries {
		l, err := loadListing(ctx, st, user, folderID)
		if err != nil {
			return nil, false, err
		}
		ed, err := change(l)
		if err != nil {
			return l, false, err
		}
		if ed == nil || ed.empty() && l.exists {
			return l, false, nil
		}
		metaBefore := maps.Clone(l.meta)
		d := l.apply(ed)
		if l.exists && d.Empty() && maps.Equal(metaBefore, l.meta) {
			return l, false, nil
		}
		_, err = st.Commit(ctx, user, state.UserScope, listingCollection(folderID), l.gen, state.CommitRequest{
			Apply: d, SyncKey: "1", Meta: maps.Clone(l.meta),
		})
		if errors.Is(err, state.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, false, engine.CommitErr(err)
		}
		l.gen++
		l.exists = true
		return l, metaBefore[metaVersion] != l.meta[metaVersion], nil
	}
	return nil, false, engine.CommitErr(state.ErrConflict)
}
