package state

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bktWatches is the top-level bucket of the watched-folder entries:
//
//	"w" / <user> / <instance> = watchEntry JSON
//
// It sits beside "u", not in it, so a user's entries are never taken for
// a device. On a single node there is one instance, but the layout is the
// one every engine shares.
var bktWatches = []byte("w")

// SetWatched implements Watches.
func (e *Embedded) SetWatched(ctx context.Context, user, instance string, folders []string, until time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return e.update(func(tx *bolt.Tx) error { return setWatchedTx(tx, user, instance, folders, until) })
}

// SetWatchedBatch implements Watches: every entry in one transaction.
func (e *Embedded) SetWatchedBatch(ctx context.Context, instance string, entries []WatchedEntry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(entries) == 0 {
		return nil
	}
	return e.update(func(tx *bolt.Tx) error {
		for _, we := range entries {
			if err := setWatchedTx(tx, we.User, instance, we.Folders, we.Until); err != nil {
				return err
			}
		}
		return nil
	})
}

// setWatchedTx writes one entry and prunes the user's lapsed ones.
func setWatchedTx(tx *bolt.Tx, user, instance string, folders []string, until time.Time) error {
	root, err := tx.CreateBucketIfNotExists(bktWatches)
	if err != nil {
		return fmt.Errorf("state: watches: %w", err)
	}
	ub, err := root.CreateBucketIfNotExists([]byte(user))
	if err != nil {
		return fmt.Errorf("state: watches: %w", err)
	}
	now := time.Now().UnixMilli()
	if len(folders) == 0 || until.UnixMilli() <= now {
		if err := ub.Delete([]byte(instance)); err != nil {
			return err
		}
	} else {
		raw, err := json.Marshal(watchEntry{Folders: folders, Until: until.UnixMilli()})
		if err != nil {
			return err
		}
		if err := ub.Put([]byte(instance), raw); err != nil {
			return err
		}
	}
	// Prune lapsed entries (instances that went away) and the user's
	// bucket once empty.
	var lapsed [][]byte
	_ = ub.ForEach(func(k, v []byte) error {
		var we watchEntry
		if json.Unmarshal(v, &we) != nil || we.Until <= now {
			lapsed = append(lapsed, k)
		}
		return nil
	})
	for _, k := range lapsed {
		if err := ub.Delete(k); err != nil {
			return err
		}
	}
	if k, _ := ub.Cursor().First(); k == nil {
		return root.DeleteBucket([]byte(user))
	}
	return nil
}

// Watched implements Watches.
func (e *Embedded) Watched(ctx context.Context, user string, now time.Time) ([]string, error) {
	out, err := e.WatchedMany(ctx, []string{user}, now)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// WatchedMany implements Watches: every user in one read transaction.
func (e *Embedded) WatchedMany(ctx context.Context, users []string, now time.Time) ([][]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([][]string, len(users))
	err := e.view(func(tx *bolt.Tx) error {
		root := tx.Bucket(bktWatches)
		if root == nil {
			return nil
		}
		for i, user := range users {
			ub := root.Bucket([]byte(user))
			if ub == nil {
				continue
			}
			var entries []watchEntry
			_ = ub.ForEach(func(_, v []byte) error {
				var we watchEntry
				if json.Unmarshal(v, &we) == nil {
					entries = append(entries, we)
				}
				return nil
			})
			out[i] = unionWatched(entries, now)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
