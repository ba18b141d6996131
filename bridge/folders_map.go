package bridge

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"

	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

// The folder ID map is per user, not per device, so every device of a user
// names a collection the same way. It lives in the store under
// state.UserScope, collection folderMapCollection: the snapshot maps
// folder ID -> engine.EncodeRef(ref) (a bare mailbox name for mail, which
// is every value a map written before kinds holds, so those read as mail
// with no resync), and Meta["next"] is the next ID to hand out, shared by
// every kind. IDs are never reused: a collection deleted and created again
// gets a new ID, so a device never mixes the old folder's items with the
// new one's.
const (
	folderMapCollection = "folders"
	folderMapNext       = "next"
	// casRetries bounds the compare-and-swap loops on shared user state.
	casRetries = 8
)

// folderMap is a loaded copy of the user's folder ID map. Mail entries
// are kept by mailbox name (the mail code's view); entries of other kinds
// by Ref, and each kind's entries are changed only by its own source.
type folderMap struct {
	byID   map[string]string     // ID -> mailbox name (KindMail only)
	byName map[string]string     // mailbox name -> ID (KindMail only)
	refs   map[string]engine.Ref // ID -> ref (every other kind)
	byRef  map[engine.Ref]string // ref -> ID (every other kind)
	next   uint64
	gen    uint64
}

func (m *Mail) loadFolderMap(ctx context.Context, user string) (*folderMap, error) {
	return loadFolderMap(ctx, m.store, user)
}

func loadFolderMap(ctx context.Context, st state.Store, user string) (*folderMap, error) {
	fm := &folderMap{byID: map[string]string{}, byName: map[string]string{},
		refs: map[string]engine.Ref{}, byRef: map[engine.Ref]string{}, next: 1}
	col, err := st.GetCollection(ctx, user, state.UserScope, folderMapCollection)
	switch {
	case errors.Is(err, state.ErrNotFound):
		return fm, nil
	case err != nil:
		return nil, fmt.Errorf("load folder map: %w", err)
	}
	fm.gen = col.Generation
	if n, err := strconv.ParseUint(col.Meta[folderMapNext], 10, 64); err == nil && n > 0 {
		fm.next = n
	}
	snap, err := st.Snapshot(ctx, user, state.UserScope, folderMapCollection)
	if err != nil {
		return nil, fmt.Errorf("load folder map: %w", err)
	}
	for id, v := range snap {
		if r := engine.DecodeRef(v); r.Kind != engine.KindMail {
			fm.refs[id], fm.byRef[r] = r, id
			continue
		}
		fm.byID[id], fm.byName[v] = v, id
	}
	return fm, nil
}

// updateFolderMap applies edit to the user's map under compare-and-swap,
// retrying from a fresh read when another request won a race. edit
// returns the delta to store (nil: nothing to change).
func (m *Mail) updateFolderMap(ctx context.Context, user string, edit func(fm *folderMap) *state.Delta) (*folderMap, error) {
	return updateFolderMap(ctx, m.store, user, edit)
}

func updateFolderMap(ctx context.Context, st state.Store, user string, edit func(fm *folderMap) *state.Delta) (*folderMap, error) {
	for range casRetries {
		fm, err := loadFolderMap(ctx, st, user)
		if err != nil {
			return nil, err
		}
		startNext := fm.next
		d := edit(fm)
		if d.Empty() && fm.next == startNext {
			return fm, nil
		}
		_, err = st.Commit(ctx, user, state.UserScope, folderMapCollection, fm.gen, state.CommitRequest{
			Apply: d,
			Meta:  map[string]string{folderMapNext: strconv.FormatUint(fm.next, 10)},
		})
		if errors.Is(err, state.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("store folder map: %w", err)
		}
		fm.gen++
		return fm, nil
	}
	return nil, fmt.Errorf("store folder map: %w", state.ErrConflict)
}

// assign gives name an ID in fm (a new one when it has none) and records
// the change in d.
func (fm *folderMap) assign(name string, d *state.Delta) string {
	if id, ok := fm.byName[name]; ok {
		return id
	}
	id := strconv.FormatUint(fm.next, 10)
	fm.next++
	fm.byID[id] = name
	fm.byName[name] = id
	d.Set[id] = name
	return id
}

// assignRef gives a non-mail ref an ID in fm (a new one when it has
// none) and records the change in d.
func (fm *folderMap) assignRef(r engine.Ref, d *state.Delta) string {
	if r.Kind == engine.KindMail || r.Kind == "" {
		return fm.assign(r.Path, d)
	}
	if id, ok := fm.byRef[r]; ok {
		return id
	}
	id := strconv.FormatUint(fm.next, 10)
	fm.next++
	fm.refs[id], fm.byRef[r] = r, id
	d.Set[id] = engine.EncodeRef(r)
	return id
}

// setRef points id at r (a class renamed its collection and the href
// moved): the ID stays, so the device keeps the folder and its items.
func (fm *folderMap) setRef(id string, r engine.Ref, d *state.Delta) {
	if old, ok := fm.refs[id]; ok {
		delete(fm.byRef, old)
	}
	fm.refs[id], fm.byRef[r] = r, id
	d.Set[id] = engine.EncodeRef(r)
}

// remove forgets id and records it in d.
func (fm *folderMap) remove(id string, d *state.Delta) {
	if name, ok := fm.byID[id]; ok {
		delete(fm.byName, name)
	}
	if r, ok := fm.refs[id]; ok {
		delete(fm.byRef, r)
	}
	delete(fm.byID, id)
	delete(fm.refs, id)
	d.Del = append(d.Del, id)
}

// rename moves oldName and every mailbox below it (RFC 3501 6.3.5: RENAME
// renames the inferiors too) to newName, keeping their IDs.
func (fm *folderMap) rename(oldName, newName string, delim rune, d *state.Delta) {
	prefix := oldName + string(delim)
	for id, name := range maps.Clone(fm.byID) {
		var to string
		switch {
		case name == oldName:
			to = newName
		case delim != 0 && strings.HasPrefix(name, prefix):
			to = newName + string(delim) + name[len(prefix):]
		default:
			continue
		}
		delete(fm.byName, name)
		fm.byID[id] = to
		fm.byName[to] = id
		d.Set[id] = to
	}
}

// reconcile makes the map match a LIST: every listed mailbox gets an ID,
// IDs of mailboxes no longer listed are dropped. An upstream rename is
// seen as a delete and an add: LIST carries no stable mailbox identity
// that go-imap parses (MAILBOXID, RFC 8474).
func (m *Mail) reconcileFolders(ctx context.Context, user string, listed []imap.Folder) (*folderMap, error) {
	return m.updateFolderMap(ctx, user, func(fm *folderMap) *state.Delta {
		d := &state.Delta{Set: map[string]string{}}
		seen := make(map[string]bool, len(listed))
		for _, f := range listed {
			seen[f.Name] = true
			fm.assign(f.Name, d)
		}
		for id, name := range maps.Clone(fm.byID) {
			if !seen[name] {
				fm.remove(id, d)
			}
		}
		return d
	})
}

// reconcileKinds makes the map's entries of kinds match a hierarchy
// source's listing: every listed ref gets an ID, entries of those kinds no
// longer listed are dropped. Entries of other kinds are never touched, so
// one source's listing cannot take another's folders away.
func reconcileKinds(ctx context.Context, st state.Store, user string, kinds []engine.Kind, listed []engine.Ref) (*folderMap, error) {
	owned := make(map[engine.Kind]bool, len(kinds))
	for _, k := range kinds {
		owned[k] = true
	}
	return updateFolderMap(ctx, st, user, func(fm *folderMap) *state.Delta {
		d := &state.Delta{Set: map[string]string{}}
		seen := make(map[engine.Ref]bool, len(listed))
		for _, r := range listed {
			if !owned[r.Kind] || r.Kind == engine.KindMail {
				continue // a source listing refs it does not own: ignored
			}
			seen[r] = true
			fm.assignRef(r, d)
		}
		for id, r := range maps.Clone(fm.refs) {
			if owned[r.Kind] && !seen[r] {
				fm.remove(id, d)
			}
		}
		return d
	})
}

// mailboxOf resolves a folder ID to its mailbox name without IMAP; a
// folder of another kind is not a mailbox (ok false).
func (m *Mail) mailboxOf(ctx context.Context, user, folderID string) (string, bool, error) {
	r, ok, err := refOf(ctx, m.store, user, folderID)
	if err != nil || !ok || r.Kind != engine.KindMail {
		return "", false, err
	}
	return r.Path, true, nil
}

// refOf resolves a folder ID to what it names upstream, of any kind, with
// one store read.
func refOf(ctx context.Context, st state.Store, user, folderID string) (engine.Ref, bool, error) {
	snap, err := st.SnapshotGet(ctx, user, state.UserScope, folderMapCollection, []string{folderID})
	if err != nil {
		return engine.Ref{}, false, fmt.Errorf("folder map: %w", err)
	}
	v, ok := snap[folderID]
	if !ok {
		return engine.Ref{}, false, nil
	}
	return engine.DecodeRef(v), true, nil
}
