package state

import (
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bktVersions is the top-level bucket of the upstream version records:
//
//	"v" / <user> / <mailbox or collection> = record (versions.go)
//
// beside "u" and "w", so a user's records are never taken for a device.
var bktVersions = []byte("v")

// PutVersion implements Versions.
func (e *Embedded) PutVersion(ctx context.Context, user, ref string, v UpstreamVersion) error {
	return e.updateVersion(ctx, user, ref, func(cur *storedVersion) (storedVersion, bool) {
		return putOver(cur, v, time.Now())
	})
}

// StaleVersion implements Versions.
func (e *Embedded) StaleVersion(ctx context.Context, user, ref string, at time.Time) error {
	return e.updateVersion(ctx, user, ref, func(cur *storedVersion) (storedVersion, bool) {
		return staleOver(cur, at), false
	})
}

func (e *Embedded) updateVersion(ctx context.Context, user, ref string, fn func(*storedVersion) (storedVersion, bool)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if ref == "" {
		return fmt.Errorf("state: version of an empty ref")
	}
	return e.update(func(tx *bolt.Tx) error {
		root, err := tx.CreateBucketIfNotExists(bktVersions)
		if err != nil {
			return fmt.Errorf("state: versions: %w", err)
		}
		ub, err := root.CreateBucketIfNotExists([]byte(user))
		if err != nil {
			return fmt.Errorf("state: versions: %w", err)
		}
		var cur *storedVersion
		if raw := ub.Get([]byte(ref)); raw != nil {
			if sv, err := decodeVersion(string(raw)); err == nil {
				cur = &sv // a malformed record is overwritten
			}
		}
		next, keep := fn(cur)
		if keep {
			return nil
		}
		return ub.Put([]byte(ref), []byte(next.encode()))
	})
}

// GetVersion implements Versions.
func (e *Embedded) GetVersion(ctx context.Context, user, ref string, now time.Time) (UpstreamVersion, bool, error) {
	if err := ctx.Err(); err != nil {
		return UpstreamVersion{}, false, err
	}
	var raw []byte
	err := e.view(func(tx *bolt.Tx) error {
		root := tx.Bucket(bktVersions)
		if root == nil || ref == "" {
			return nil
		}
		if ub := root.Bucket([]byte(user)); ub != nil {
			if v := ub.Get([]byte(ref)); v != nil {
				raw = append([]byte{}, v...)
			}
		}
		return nil
	})
	if err != nil || raw == nil {
		return UpstreamVersion{}, false, err
	}
	sv, err := decodeVersion(string(raw))
	if err != nil {
		return UpstreamVersion{}, false, nil // unknown: the caller asks upstream
	}
	v, ok := sv.readable(now)
	return v, ok, nil
}
