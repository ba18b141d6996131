package state

import (
	"errors"
	"fmt"
	"maps"
	"slices"
)

// errEmptyID rejects identities the engines cannot key on. Callers take
// user and device IDs from authenticated requests, so this is a bug guard.
var errEmptyID = errors.New("state: empty user or device ID")

// checkIDs validates the identity of a device.
func checkIDs(user, deviceID string) error {
	if user == "" || deviceID == "" {
		return fmt.Errorf("%w (user %q, device %q)", errEmptyID, user, deviceID)
	}
	return nil
}

// checkDelta rejects a delta with an empty server ID, which no snapshot
// can hold (bbolt refuses empty keys; Redis would accept it, and both
// engines must behave the same).
func checkDelta(d *Delta) error {
	if d == nil {
		return nil
	}
	for k := range d.Set {
		if k == "" {
			return errors.New("state: delta sets an empty server ID")
		}
	}
	for _, k := range d.Del {
		if k == "" {
			return errors.New("state: delta deletes an empty server ID")
		}
	}
	return nil
}

// cloneDevice returns a deep copy, so callers never share maps with the
// engine or with each other.
func cloneDevice(d *Device) *Device {
	c := *d
	c.Info = maps.Clone(d.Info)
	c.Meta = maps.Clone(d.Meta)
	return &c
}

// cloneDelta returns a deep copy of d (nil stays nil).
func cloneDelta(d *Delta) *Delta {
	if d == nil {
		return nil
	}
	return &Delta{Set: maps.Clone(d.Set), Del: slices.Clone(d.Del), Response: slices.Clone(d.Response)}
}

// cloneCollection returns a deep copy of c.
func cloneCollection(c *Collection) *Collection {
	n := *c
	n.Pending = cloneDelta(c.Pending)
	n.Meta = maps.Clone(c.Meta)
	return &n
}

// nextHeader builds the header a successful Commit stores: the request's
// keys and pending delta as given, Meta kept when the request has none.
func nextHeader(old *Collection, collectionID string, gen uint64, req CommitRequest) *Collection {
	h := &Collection{
		ID:          collectionID,
		Generation:  gen,
		SyncKey:     req.SyncKey,
		PrevSyncKey: req.PrevSyncKey,
		Pending:     cloneDelta(req.Pending),
		Meta:        maps.Clone(req.Meta),
	}
	if req.Meta == nil && old != nil {
		h.Meta = maps.Clone(old.Meta)
	}
	return h
}

// checkCommit validates a Commit's arguments, the same for every engine.
func checkCommit(user, deviceID string, req CommitRequest) error {
	if err := checkIDs(user, deviceID); err != nil {
		return err
	}
	if err := checkDelta(req.Apply); err != nil {
		return err
	}
	return checkDelta(req.Pending)
}
