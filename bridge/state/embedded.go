package state

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// EmbeddedFile is the name of the embedded engine's file in the data
// directory.
const EmbeddedFile = "idlebridge.db"

// DefaultDeviceTTL is how long a device may stay silent before its state is
// dropped (both engines). A device that comes back after that does a full
// resync, which is what a new phone would do anyway.
const DefaultDeviceTTL = 90 * 24 * time.Hour

// EmbeddedOptions tunes the embedded engine. The zero value is usable.
type EmbeddedOptions struct {
	// DeviceTTL is the inactivity after which Sweep deletes a device;
	// DefaultDeviceTTL when zero.
	DeviceTTL time.Duration
	// LockTimeout bounds the wait for the file lock held by another
	// process; 2 s when zero.
	LockTimeout time.Duration
	// NoSync skips fsync on commit. Only for tests and benchmarks: a crash
	// may lose the last writes.
	NoSync bool
}

// Embedded is the single-node engine: one bbolt file.
//
// Layout (bucket names in quotes, keys in angle brackets):
//
//	"u" / <user> / <device> / "d"       device JSON
//	                        / "t"       last write (unix ns, 8 bytes BE)
//	                        / "c" / "c"+<collection> / "h"  header JSON
//	                                                 / "s" / <server ID> = version
//
// The collection bucket key carries a "c" prefix because the hierarchy's
// collection ID is "" and bbolt refuses empty keys. A Commit touches the
// header and only the snapshot keys of its delta.
type Embedded struct {
	db       *bolt.DB
	opts     EmbeddedOptions
	versions *memVersions // in memory (embedded_versions.go)
}

var _ Store = (*Embedded)(nil)

var (
	bktUsers    = []byte("u")
	keyDevice   = []byte("d")
	keyTouched  = []byte("t")
	bktCols     = []byte("c")
	keyHeader   = []byte("h")
	bktSnapshot = []byte("s")
)

// OpenEmbedded opens (creating if needed) the bbolt file at path. A second
// process opening the same file gets an error after LockTimeout instead of
// hanging.
func OpenEmbedded(path string, opts EmbeddedOptions) (*Embedded, error) {
	if opts.DeviceTTL <= 0 {
		opts.DeviceTTL = DefaultDeviceTTL
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = 2 * time.Second
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.LockTimeout, NoSync: opts.NoSync})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("state: database %s is locked by another idlebridge (waited %s)", path, opts.LockTimeout)
	}
	if err != nil {
		return nil, fmt.Errorf("state: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bktUsers)
		return err
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("state: init %s: %w", path, err)
	}
	return &Embedded{db: db, opts: opts, versions: newMemVersions()}, nil
}

// OpenEmbeddedDir opens the engine file inside dataDir, creating the
// directory (0700) when missing.
func OpenEmbeddedDir(dataDir string, opts EmbeddedOptions) (*Embedded, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("state: data directory: %w", err)
	}
	return OpenEmbedded(filepath.Join(dataDir, EmbeddedFile), opts)
}

// Ping reports whether the file is still open.
func (e *Embedded) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return e.view(func(*bolt.Tx) error { return nil })
}

// Close closes the file.
func (e *Embedded) Close() error { return e.db.Close() }

// view and update run a transaction, mapping a closed database to
// ErrUnavailable (the store is gone, like an unreachable Redis).
func (e *Embedded) view(fn func(*bolt.Tx) error) error {
	return mapBoltErr(e.db.View(fn))
}

func (e *Embedded) update(fn func(*bolt.Tx) error) error {
	return mapBoltErr(e.db.Update(fn))
}

func mapBoltErr(err error) error {
	switch {
	case errors.Is(err, bolterrors.ErrDatabaseNotOpen):
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	case diskFull(err):
		// bbolt rolls the transaction back, so nothing half-written stays;
		// the device is told to retry, which works once space is freed.
		return fmt.Errorf("%w: %w: %w", ErrUnavailable, ErrNoSpace, err)
	}
	return err
}

// deviceBucket returns the bucket of a device, or nil.
func deviceBucket(tx *bolt.Tx, user, deviceID string) *bolt.Bucket {
	ub := tx.Bucket(bktUsers).Bucket([]byte(user))
	if ub == nil {
		return nil
	}
	return ub.Bucket([]byte(deviceID))
}

// createDeviceBucket returns the bucket of a device, creating it (and the
// user's bucket) when missing, and stamps it as written now.
func createDeviceBucket(tx *bolt.Tx, user, deviceID string, now time.Time) (*bolt.Bucket, error) {
	ub, err := tx.Bucket(bktUsers).CreateBucketIfNotExists([]byte(user))
	if err != nil {
		return nil, err
	}
	db, err := ub.CreateBucketIfNotExists([]byte(deviceID))
	if err != nil {
		return nil, err
	}
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], uint64(now.UnixNano()))
	if err := db.Put(keyTouched, ts[:]); err != nil {
		return nil, err
	}
	return db, nil
}

func decodeDevice(b []byte) (*Device, error) {
	d := new(Device)
	if err := json.Unmarshal(b, d); err != nil {
		return nil, fmt.Errorf("state: corrupt device record: %w", err)
	}
	return d, nil
}

// GetDevice implements Devices.
func (e *Embedded) GetDevice(ctx context.Context, user, deviceID string) (*Device, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var d *Device
	err := e.view(func(tx *bolt.Tx) error {
		b := deviceBucket(tx, user, deviceID)
		if b == nil {
			return ErrNotFound
		}
		raw := b.Get(keyDevice)
		if raw == nil {
			return ErrNotFound
		}
		var err error
		d, err = decodeDevice(raw)
		return err
	})
	return d, err
}

// UpdateDevice implements Devices. fn runs inside the write transaction,
// so it is never retried here; it must not do I/O.
func (e *Embedded) UpdateDevice(ctx context.Context, user, deviceID string, fn func(*Device) error) (*Device, error) {
	if err := checkIDs(user, deviceID); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out *Device
	err := e.update(func(tx *bolt.Tx) error {
		d := &Device{User: user, ID: deviceID}
		if b := deviceBucket(tx, user, deviceID); b != nil {
			if raw := b.Get(keyDevice); raw != nil {
				var err error
				if d, err = decodeDevice(raw); err != nil {
					return err
				}
			}
		}
		if err := fn(d); err != nil {
			return err
		}
		// The identity is the key; fn cannot move a device.
		d.User, d.ID = user, deviceID
		raw, err := json.Marshal(d)
		if err != nil {
			return fmt.Errorf("state: encode device: %w", err)
		}
		b, err := createDeviceBucket(tx, user, deviceID, time.Now())
		if err != nil {
			return err
		}
		if err := b.Put(keyDevice, raw); err != nil {
			return err
		}
		out = cloneDevice(d)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListDevices implements Devices. bbolt iterates keys in byte order, which
// is the order of IDs.
func (e *Embedded) ListDevices(ctx context.Context, user string) ([]*Device, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []*Device
	err := e.view(func(tx *bolt.Tx) error {
		ub := tx.Bucket(bktUsers).Bucket([]byte(user))
		if ub == nil {
			return nil
		}
		return ub.ForEachBucket(func(k []byte) error {
			raw := ub.Bucket(k).Get(keyDevice)
			if raw == nil {
				return nil // sync state of a device without record
			}
			d, err := decodeDevice(raw)
			if err != nil {
				return err
			}
			out = append(out, d)
			return nil
		})
	})
	return out, err
}

// ListUsers implements Devices.
func (e *Embedded) ListUsers(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []string
	err := e.view(func(tx *bolt.Tx) error {
		users := tx.Bucket(bktUsers)
		return users.ForEachBucket(func(u []byte) error {
			ub := users.Bucket(u)
			c := ub.Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				if v == nil && ub.Bucket(k).Get(keyDevice) != nil {
					out = append(out, string(u))
					break
				}
			}
			return nil
		})
	})
	return out, err
}

// DeleteDevice implements Devices.
func (e *Embedded) DeleteDevice(ctx context.Context, user, deviceID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return e.update(func(tx *bolt.Tx) error { return deleteDevice(tx, user, deviceID) })
}

// deleteDevice removes a device bucket and the user's bucket when it was
// the last device.
func deleteDevice(tx *bolt.Tx, user, deviceID string) error {
	users := tx.Bucket(bktUsers)
	ub := users.Bucket([]byte(user))
	if ub == nil || ub.Bucket([]byte(deviceID)) == nil {
		return nil
	}
	if err := ub.DeleteBucket([]byte(deviceID)); err != nil {
		return err
	}
	if k, _ := ub.Cursor().First(); k == nil {
		return users.DeleteBucket([]byte(user))
	}
	return nil
}

// sortDevices orders devices by ID (the Redis engine needs it; bbolt
// iterates in order already).
func sortDevices(ds []*Device) {
	sort.Slice(ds, func(i, j int) bool { return ds[i].ID < ds[j].ID })
}
