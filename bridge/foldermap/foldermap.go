// Package foldermap is the user's folder ID map: the one place where a
// folder ID the devices know turns into what it names upstream (a mailbox,
// or a class's engine.Ref), shared by the routing, the hierarchy and the
// mail engine.
package foldermap

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
	// casRetries bounds the compare-and-swap loops on the map.
	casRetries = 8
)

// Map is a loaded copy of the user's folder ID map. Mail entries are
// kept by mailbox name (the mail code's view); entries of other kinds by
// Ref, and each kind's entries are changed only by its own source. The
// maps are read directly; changes go through the methods, inside Update.
type Map struct {
	ByID   map[string]string     // ID -> mailbox name (KindMail only)
	ByName map[string]string     // mailbox name -> ID (KindMail only)
	Refs   map[string]engine.Ref // ID -> ref (every other kind)
	ByRef  map[engine.Ref]string // ref -> ID (every other kind)
	next   uint64
	gen    uint64
}

// Load reads the user's map.
func Load(ctx context.Context, st state.Store, user string) (*Map, error) {
	fm := &Map{ByID: map[string]string{}, ByName: map[string]string{},
		Refs: map[string]engine.Ref{}, ByRef: map[engine.Ref]string{}, next: 1}
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
			fm.Refs[id], fm.ByRef[r] = r, id
			continue
		}
		fm.ByID[id], fm.ByName[v] = v, id
	}
	return fm, nil
}

// Update applies edit to the user's map under compare-and-swap,
// retrying from a fresh read when another request won a race. edit
// returns the delta to store (nil: nothing to change).
func Update(ctx context.Context, st state.Store, user string, edit func(fm *Map) *state.Delta) (*Map, error) {
	for range casRetries {
		fm, err := Load(ctx, st, user)
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

// Assign gives name an ID in fm (a new one when it has none) and records
// the change in d.
func (fm *Map) Assign(name string, d *state.Delta) string {
	if id, ok := fm.ByName[name]; ok {
		return id
	}
	id := strconv.FormatUint(fm.next, 10)
	fm.next++
	fm.ByID[id] = name
	fm.ByName[name] = id
	d.Set[id] = name
	return id
}

// AssignRef gives a non-mail ref an ID in fm (a new one when it has
// none) and records the change in d.
func (fm *Map) AssignRef(r engine.Ref, d *state.Delta) string {
	if r.Kind == engine.KindMail || r.Kind == "" {
		return fm.Assign(r.Path, d)
	}
	if id, ok := fm.ByRef[r]; ok {
		return id
	}
	id := strconv.FormatUint(fm.next, 10)
	fm.next++
	fm.Refs[id], fm.ByRef[r] = r, id
	d.Set[id] = engine.EncodeRef(r)
	return id
}

// IDOf is the ID of r of any kind (mail by mailbox name).
func (fm *Map) IDOf(r engine.Ref) (string, bool) {
	if r.Kind == engine.KindMail || r.Kind == "" {
		id, ok := fm.ByName[r.Path]
		return id, ok
	}
	id, ok := fm.ByRef[r]
	return id, ok
}

// SetRef points id at r (a class renamed its collection and the href
// moved): the ID stays, so the device keeps the folder and its items.
func (fm *Map) SetRef(id string, r engine.Ref, d *state.Delta) {
	if old, ok := fm.Refs[id]; ok {
		delete(fm.ByRef, old)
	}
	fm.Refs[id], fm.ByRef[r] = r, id
	d.Set[id] = engine.EncodeRef(r)
}

// Remove forgets id and records it in d.
func (fm *Map) Remove(id string, d *state.Delta) {
	if name, ok := fm.ByID[id]; ok {
		delete(fm.ByName, name)
	}
	if r, ok := fm.Refs[id]; ok {
		delete(fm.ByRef, r)
	}
	delete(fm.ByID, id)
	delete(fm.Refs, id)
	d.Del = append(d.Del, id)
}

// Rename moves oldName and every mailbox below it (RFC 3501 6.3.5: RENAME
// renames the inferiors too) to newName, keeping their IDs.
func (fm *Map) Rename(oldName, newName string, delim rune, d *state.Delta) {
	prefix := oldName + string(delim)
	for id, name := range maps.Clone(fm.ByID) {
		var to string
		switch {
		case name == oldName:
			to = newName
		case delim != 0 && strings.HasPrefix(name, prefix):
			to = newName + string(delim) + name[len(prefix):]
		default:
			continue
		}
		delete(fm.ByName, name)
		fm.ByID[id] = to
		fm.ByName[to] = id
		d.Set[id] = to
	}
}

// ReconcileMail makes the map match a LIST: every listed mailbox gets an ID,
// IDs of mailboxes no longer listed are dropped. An upstream rename is
// seen as a delete and an add: LIST carries no stable mailbox identity
// that go-imap parses (MAILBOXID, RFC 8474).
func ReconcileMail(ctx context.Context, st state.Store, user string, listed []imap.Folder) (*Map, error) {
	return Update(ctx, st, user, func(fm *Map) *state.Delta {
		d := &state.Delta{Set: map[string]string{}}
		seen := make(map[string]bool, len(listed))
		for _, f := range listed {
			seen[f.Name] = true
			fm.Assign(f.Name, d)
		}
		for id, name := range maps.Clone(fm.ByID) {
			if !seen[name] {
				fm.Remove(id, d)
			}
		}
		return d
	})
}

// ReconcileKinds makes the map's entries of kinds match a hierarchy
// source's listing: every listed ref gets an ID, entries of those kinds no
// longer listed are dropped. Entries of other kinds are never touched, so
// one source's listing cannot take another's folders away.
func ReconcileKinds(ctx context.Context, st state.Store, user string, kinds []engine.Kind, listed []engine.Ref) (*Map, error) {
	owned := make(map[engine.Kind]bool, len(kinds))
	for _, k := range kinds {
		owned[k] = true
	}
	return Update(ctx, st, user, func(fm *Map) *state.Delta {
		d := &state.Delta{Set: map[string]string{}}
		seen := make(map[engine.Ref]bool, len(listed))
		for _, r := range listed {
			if !owned[r.Kind] || r.Kind == engine.KindMail {
				continue // a source listing refs it does not own: ignored
			}
			seen[r] = true
			fm.AssignRef(r, d)
		}
		for id, r := range maps.Clone(fm.Refs) {
			if owned[r.Kind] && !seen[r] {
				fm.Remove(id, d)
			}
		}
		return d
	})
}

// MailboxOf resolves a folder ID to its mailbox name without IMAP; a
// folder of another kind is not a mailbox (ok false).
func MailboxOf(ctx context.Context, st state.Store, user, folderID string) (string, bool, error) {
	r, ok, err := RefOf(ctx, st, user, folderID)
	if err != nil || !ok || r.Kind != engine.KindMail {
		return "", false, err
	}
	return r.Path, true, nil
}

// RefOf resolves a folder ID to what it names upstream, of any kind, with
// one store read.
func RefOf(ctx context.Context, st state.Store, user, folderID string) (engine.Ref, bool, error) {
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
