package bridge

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"

	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

// The folder ID map is per user, not per device, so every device of a user
// names a mailbox the same way. It lives in the store under
// state.UserScope, collection folderMapCollection: the snapshot maps
// folder ID -> mailbox name, and Meta["next"] is the next ID to hand out.
// IDs are never reused: a mailbox deleted and created again gets a new ID,
// so a device never mixes the old folder's items with the new one's.
const (
	folderMapCollection = "folders"
	folderMapNext       = "next"
	// casRetries bounds the compare-and-swap loops on shared user state.
	casRetries = 8
)

// folderMap is a loaded copy of the user's folder ID map.
type folderMap struct {
	byID   map[string]string // ID -> mailbox name
	byName map[string]string // mailbox name -> ID
	next   uint64
	gen    uint64
}

func (m *Mail) loadFolderMap(ctx context.Context, user string) (*folderMap, error) {
	fm := &folderMap{byID: map[string]string{}, byName: map[string]string{}, next: 1}
	col, err := m.store.GetCollection(ctx, user, state.UserScope, folderMapCollection)
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
	snap, err := m.store.Snapshot(ctx, user, state.UserScope, folderMapCollection)
	if err != nil {
		return nil, fmt.Errorf("load folder map: %w", err)
	}
	fm.byID = snap
	for id, name := range snap {
		fm.byName[name] = id
	}
	return fm, nil
}

// updateFolderMap applies edit to the user's map under compare-and-swap,
// retrying from a fresh read when another request won a race. edit
// returns the delta to store (nil: nothing to change).
func (m *Mail) updateFolderMap(ctx context.Context, user string, edit func(fm *folderMap) *state.Delta) (*folderMap, error) {
	for range casRetries {
		fm, err := m.loadFolderMap(ctx, user)
		if err != nil {
			return nil, err
		}
		startNext := fm.next
		d := edit(fm)
		if d.Empty() && fm.next == startNext {
			return fm, nil
		}
		_, err = m.store.Commit(ctx, user, state.UserScope, folderMapCollection, fm.gen, state.CommitRequest{
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

// remove forgets id and records it in d.
func (fm *folderMap) remove(id string, d *state.Delta) {
	if name, ok := fm.byID[id]; ok {
		delete(fm.byName, name)
	}
	delete(fm.byID, id)
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

// mailboxOf resolves a folder ID to its mailbox name without IMAP.
func (m *Mail) mailboxOf(ctx context.Context, user, folderID string) (string, bool, error) {
	snap, err := m.store.SnapshotGet(ctx, user, state.UserScope, folderMapCollection, []string{folderID})
	if err != nil {
		return "", false, fmt.Errorf("folder map: %w", err)
	}
	name, ok := snap[folderID]
	return name, ok, nil
}
