package state

import (
	"context"
	"encoding/binary"
	"time"

	bolt "go.etcd.io/bbolt"
)

// sweepBatch bounds how many devices one write transaction deletes, so a
// large sweep does not block other writers for long.
const sweepBatch = 100

type deviceRef struct{ user, id string }

// Sweep deletes the devices (with their sync state) that have been silent
// for longer than DeviceTTL at now, and reports how many it deleted. A
// device's activity is the later of its LastSeen and the engine's own stamp
// of the last write to the device or its collections, so a device whose
// caller never sets LastSeen is judged like in the Redis engine, where
// every write refreshes the keys' TTL. The server calls this periodically.
func (e *Embedded) Sweep(ctx context.Context, now time.Time) (int, error) {
	cutoff := now.Add(-e.opts.DeviceTTL)
	var stale []deviceRef
	err := e.view(func(tx *bolt.Tx) error {
		users := tx.Bucket(bktUsers)
		return users.ForEachBucket(func(u []byte) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			ub := users.Bucket(u)
			return ub.ForEachBucket(func(d []byte) error {
				if string(d) == UserScope {
					return nil // shared by the user's devices; not a device
				}
				if deviceActivity(ub.Bucket(d)).Before(cutoff) {
					stale = append(stale, deviceRef{string(u), string(d)})
				}
				return nil
			})
		})
	})
	if err != nil {
		return 0, err
	}
	deleted := 0
	for len(stale) > 0 {
		if err := ctx.Err(); err != nil {
			return deleted, err
		}
		batch := stale[:min(sweepBatch, len(stale))]
		stale = stale[len(batch):]
		n := 0
		err := e.update(func(tx *bolt.Tx) error {
			n = 0
			for _, r := range batch {
				// Re-check: the device may have come back since the scan.
				b := deviceBucket(tx, r.user, r.id)
				if b == nil || !deviceActivity(b).Before(cutoff) {
					continue
				}
				if err := deleteDevice(tx, r.user, r.id); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		if err != nil {
			return deleted, err
		}
		deleted += n
	}
	return deleted, nil
}

// deviceActivity is the later of the record's LastSeen and the write stamp.
func deviceActivity(b *bolt.Bucket) time.Time {
	var t time.Time
	if ts := b.Get(keyTouched); len(ts) == 8 {
		t = time.Unix(0, int64(binary.BigEndian.Uint64(ts)))
	}
	if raw := b.Get(keyDevice); raw != nil {
		if d, err := decodeDevice(raw); err == nil && d.LastSeen.After(t) {
			t = d.LastSeen
		}
	}
	return t
}
