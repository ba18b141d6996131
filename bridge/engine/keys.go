package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/state"
)

// Role says how a presented sync key relates to the stored collection
// (MS-ASCMD 2.2.3.177.16).
type Role int

const (
	Initial  Role = iota // "0": start over
	Current              // the newest key: the device got the last answer
	Previous             // the one before: the last answer was lost
	Unknown              // anything else: Status 3 (Sync) or 9 (FolderSync)
)

// Classify returns the role of key for the stored header col (nil when the
// collection has no state).
func Classify(col *state.Collection, key string) Role {
	switch {
	case key == "0":
		return Initial
	case col == nil || key == "":
		return Unknown
	case key == col.SyncKey:
		return Current
	case key == col.PrevSyncKey:
		return Previous
	}
	return Unknown
}

// NextKey returns the sync key after k ("0", empty or garbage gives "1").
func NextKey(k string) string {
	n, err := strconv.ParseUint(k, 10, 64)
	if err != nil {
		return "1"
	}
	return strconv.FormatUint(n+1, 10)
}

// Header returns the collection header, or nil when there is none.
func Header(ctx context.Context, st state.Syncs, user, deviceID, collectionID string) (*state.Collection, error) {
	col, err := st.GetCollection(ctx, user, deviceID, collectionID)
	if errors.Is(err, state.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sync state: %w", err)
	}
	return col, nil
}

// DeviceView returns what the device holds: the committed snapshot, with
// the pending delta folded in when the device proved it received it.
func DeviceView(ctx context.Context, st state.Syncs, user, deviceID, collectionID string, col *state.Collection, role Role) (map[string]string, error) {
	if role == Initial || col == nil {
		return map[string]string{}, nil
	}
	snap, err := st.Snapshot(ctx, user, deviceID, collectionID)
	if err != nil {
		return nil, fmt.Errorf("sync state: %w", err)
	}
	if role == Current {
		FoldDelta(snap, col.Pending)
	}
	return snap, nil
}

// DeviceViewOf is DeviceView for the given IDs only: what the device holds
// of them.
func DeviceViewOf(ctx context.Context, st state.Syncs, user, deviceID, collectionID string, col *state.Collection, role Role, ids []string) (map[string]string, error) {
	if role == Initial || col == nil || len(ids) == 0 {
		return map[string]string{}, nil
	}
	snap, err := st.SnapshotGet(ctx, user, deviceID, collectionID, ids)
	if err != nil {
		return nil, fmt.Errorf("sync state: %w", err)
	}
	if role == Current {
		FoldDeltaOf(snap, col.Pending, ids)
	}
	return snap, nil
}

// FoldDeltaOf is FoldDelta for a snapshot read for the given IDs only:
// entries of d for other IDs stay out of it.
func FoldDeltaOf(snap map[string]string, d *state.Delta, ids []string) {
	if d == nil {
		return
	}
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	for k, v := range d.Set {
		if want[k] {
			snap[k] = v
		}
	}
	for _, k := range d.Del {
		delete(snap, k)
	}
}

// FoldDelta applies d to snap the way the store engines do (Del after Set).
func FoldDelta(snap map[string]string, d *state.Delta) {
	if d == nil {
		return
	}
	for k, v := range d.Set {
		snap[k] = v
	}
	for _, k := range d.Del {
		delete(snap, k)
	}
}

// Answer is what one Sync (or FolderSync) answer changes in a
// collection's state.
type Answer struct {
	// Applied is what the device's own commands changed; it is on the
	// device already and goes straight into the snapshot.
	Applied *state.Delta
	// Pending is what the answer carries to the device.
	Pending *state.Delta
	// Meta is the collection's source state after this answer; nil keeps
	// the stored one.
	Meta map[string]string
	// Commands is how many device commands the request carried (a request
	// with commands always gets a new key).
	Commands int
}

// Commit stores an answer for a collection whose key had role, and returns
// the key the answer carries. The rules:
//   - Current with nothing for the device and no commands keeps the key
//     (and the pending delta the device acknowledged by presenting it);
//     only a changed Meta is written.
//   - Current otherwise folds the acknowledged pending delta into the
//     snapshot and issues the next key.
//   - Previous (the last answer was lost) issues the same key again with
//     the recomputed delta in place of the old one.
//   - Initial issues key "1" on a reset collection; the caller resets it.
//
// A lost compare-and-swap race returns an error wrapping state.ErrConflict
// and activesync.ErrUnavailable: nothing was committed, the device retries.
func Commit(ctx context.Context, st state.Syncs, user, deviceID, collectionID string, col *state.Collection, role Role, a Answer) (string, error) {
	req := state.CommitRequest{Apply: a.Applied, Pending: a.Pending, Meta: a.Meta}
	if a.Applied.Empty() {
		req.Apply = nil
	}
	if a.Pending == nil {
		req.Pending = &state.Delta{}
	}
	var gen uint64
	switch role {
	case Initial:
		req.SyncKey = "1"
	case Current:
		gen = col.Generation
		if a.Pending.Empty() && a.Commands == 0 && req.Apply == nil {
			if a.Meta == nil || sameMeta(a.Meta, col.Meta) {
				return col.SyncKey, nil
			}
			req.Pending, req.SyncKey, req.PrevSyncKey = col.Pending, col.SyncKey, col.PrevSyncKey
		} else {
			req.ApplyPending = true
			req.SyncKey, req.PrevSyncKey = NextKey(col.SyncKey), col.SyncKey
		}
	case Previous:
		gen = col.Generation
		req.SyncKey, req.PrevSyncKey = col.SyncKey, col.PrevSyncKey
	default:
		return "", fmt.Errorf("engine: commit with an unknown key")
	}
	if _, err := st.Commit(ctx, user, deviceID, collectionID, gen, req); err != nil {
		return "", CommitErr(err)
	}
	return req.SyncKey, nil
}

func sameMeta(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

// CommitErr makes a lost CAS race retryable for the front (Sync Status
// 111 / HTTP 503): the request changed no sync state.
func CommitErr(err error) error {
	if errors.Is(err, state.ErrConflict) {
		return fmt.Errorf("%w: sync state changed concurrently: %w", activesync.ErrUnavailable, err)
	}
	return fmt.Errorf("commit sync state: %w", err)
}
