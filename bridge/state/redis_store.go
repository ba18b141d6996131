package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisOptions tunes the Redis engine. The zero value is usable.
type RedisOptions struct {
	// DeviceTTL is how long the keys of a device live after its last write;
	// DefaultDeviceTTL when zero. Redis expires abandoned devices itself.
	DeviceTTL time.Duration
	// OwnClient makes Close close the client too (Open sets it when it
	// created the client).
	OwnClient bool
}

// maxWatchAttempts bounds the optimistic-locking retries of UpdateDevice
// and DeleteDevice; beyond it ErrConflict goes to the caller.
const maxWatchAttempts = 200

// RedisStore is the scale-out engine; see redis_keys.go for the layout.
// Several bridge instances may share one Redis (or Cluster).
type RedisStore struct {
	rdb  redis.UniversalClient
	opts RedisOptions
}

var _ Store = (*RedisStore)(nil)

// NewRedisStore wraps a client; it does not connect.
func NewRedisStore(client redis.UniversalClient, opts RedisOptions) *RedisStore {
	if opts.DeviceTTL <= 0 {
		opts.DeviceTTL = DefaultDeviceTTL
	}
	return &RedisStore{rdb: client, opts: opts}
}

// Ping implements Store.
func (s *RedisStore) Ping(ctx context.Context) error {
	return redisErr(ctx, s.rdb.Ping(ctx).Err())
}

// Close implements Store. The client is closed only when the store owns it;
// otherwise the bus and leases sharing it keep working.
func (s *RedisStore) Close() error {
	if s.opts.OwnClient {
		return s.rdb.Close()
	}
	return nil
}

// GetDevice implements Devices.
func (s *RedisStore) GetDevice(ctx context.Context, user, deviceID string) (*Device, error) {
	raw, err := s.rdb.Get(ctx, redisDeviceKey(user, deviceID)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, redisErr(ctx, err)
	}
	return decodeDevice(raw)
}

// errFromFn marks an error returned by UpdateDevice's callback so it passes
// through the WATCH machinery untouched.
type errFromFn struct{ err error }

func (e errFromFn) Error() string { return e.err.Error() }

// UpdateDevice implements Devices with optimistic locking: WATCH the
// record, read it, call fn, write it in MULTI/EXEC; a concurrent writer
// aborts the EXEC and fn runs again on the fresh record. The same
// transaction refreshes the TTL of every key of the device, so a device
// that keeps talking keeps all its sync state.
func (s *RedisStore) UpdateDevice(ctx context.Context, user, deviceID string, fn func(*Device) error) (*Device, error) {
	if err := checkIDs(user, deviceID); err != nil {
		return nil, err
	}
	devKey, colsKey := redisDeviceKey(user, deviceID), redisColsKey(user, deviceID)
	ttl := s.opts.DeviceTTL
	for attempt := 0; attempt < maxWatchAttempts; attempt++ {
		var out *Device
		var created bool
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			var get *redis.StringCmd
			var cols *redis.StringSliceCmd
			_, err := tx.Pipelined(ctx, func(p redis.Pipeliner) error {
				get = p.Get(ctx, devKey)
				cols = p.HKeys(ctx, colsKey)
				return nil
			})
			if err != nil && !errors.Is(err, redis.Nil) {
				return err
			}
			d := &Device{User: user, ID: deviceID}
			raw, err := get.Bytes()
			switch {
			case errors.Is(err, redis.Nil):
				created = true
			case err != nil:
				return err
			default:
				if d, err = decodeDevice(raw); err != nil {
					return err
				}
			}
			if err := fn(d); err != nil {
				return errFromFn{err}
			}
			d.User, d.ID = user, deviceID
			enc, err := json.Marshal(d)
			if err != nil {
				return errFromFn{fmt.Errorf("state: encode device: %w", err)}
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, devKey, enc, ttl)
				p.SAdd(ctx, redisDevicesKey(user), deviceID)
				p.PExpire(ctx, redisDevicesKey(user), ttl)
				p.PExpire(ctx, colsKey, ttl)
				for _, c := range cols.Val() {
					p.PExpire(ctx, redisSnapKey(user, deviceID, c), ttl)
				}
				return nil
			})
			if err != nil {
				return err
			}
			out = d
			return nil
		}, devKey)
		var fnErr errFromFn
		switch {
		case err == nil:
			if created {
				// The global index lives in another slot, so it cannot join
				// the transaction; a crash here leaves the user unlisted
				// until its next new device, which ListUsers tolerates.
				if err := s.rdb.SAdd(ctx, redisUsersKey, user).Err(); err != nil {
					return nil, redisErr(ctx, err)
				}
			}
			return out, nil
		case errors.As(err, &fnErr):
			return nil, fnErr.err
		case errors.Is(err, redis.TxFailedErr):
			if err := backoff(ctx, attempt); err != nil {
				return nil, err
			}
		default:
			return nil, redisErr(ctx, err)
		}
	}
	return nil, fmt.Errorf("%w: device %s/%s updated by others %d times in a row", ErrConflict, user, deviceID, maxWatchAttempts)
}

// backoff sleeps a little, growing and jittered, between optimistic
// retries so racing writers spread out.
func backoff(ctx context.Context, attempt int) error {
	max := time.Duration(min(attempt+1, 20)) * 200 * time.Microsecond
	t := time.NewTimer(rand.N(max) + 50*time.Microsecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ListDevices implements Devices. IDs left in the device set by expired
// devices are dropped from the answer and from the set.
func (s *RedisStore) ListDevices(ctx context.Context, user string) ([]*Device, error) {
	ids, err := s.rdb.SMembers(ctx, redisDevicesKey(user)).Result()
	if err != nil {
		return nil, redisErr(ctx, err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = redisDeviceKey(user, id)
	}
	vals, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, redisErr(ctx, err)
	}
	var out []*Device
	var gone []any
	for i, v := range vals {
		str, ok := v.(string)
		if !ok {
			gone = append(gone, ids[i])
			continue
		}
		d, err := decodeDevice([]byte(str))
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	if len(gone) > 0 {
		// Best effort: a failure only leaves the cleanup to the next call.
		_ = s.rdb.SRem(ctx, redisDevicesKey(user), gone...).Err()
	}
	sortDevices(out)
	return out, nil
}

// ListUsers implements Devices. The global index is cleaned lazily: a user
// whose device set is gone (deleted or expired) is removed from it here.
func (s *RedisStore) ListUsers(ctx context.Context) ([]string, error) {
	users, err := s.rdb.SMembers(ctx, redisUsersKey).Result()
	if err != nil {
		return nil, redisErr(ctx, err)
	}
	exists := make([]*redis.IntCmd, len(users))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, u := range users {
			exists[i] = p.Exists(ctx, redisDevicesKey(u))
		}
		return nil
	})
	if err != nil {
		return nil, redisErr(ctx, err)
	}
	out := make([]string, 0, len(users))
	for i, u := range users {
		if exists[i].Val() > 0 {
			out = append(out, u)
			continue
		}
		s.dropUserFromIndex(ctx, u)
	}
	sort.Strings(out)
	return out, nil
}

// dropUserFromIndex removes a user without devices from ib:users. A device
// created between the check and the SREM would be unlisted, so the check
// is repeated after the SREM and the user put back if needed.
func (s *RedisStore) dropUserFromIndex(ctx context.Context, user string) {
	if s.rdb.SRem(ctx, redisUsersKey, user).Err() != nil {
		return
	}
	if n, err := s.rdb.Exists(ctx, redisDevicesKey(user)).Result(); err == nil && n > 0 {
		_ = s.rdb.SAdd(ctx, redisUsersKey, user).Err()
	}
}

// DeleteDevice implements Devices: the record, the headers and every
// snapshot go in one MULTI, watched against a collection appearing
// meanwhile.
func (s *RedisStore) DeleteDevice(ctx context.Context, user, deviceID string) error {
	colsKey := redisColsKey(user, deviceID)
	for attempt := 0; attempt < maxWatchAttempts; attempt++ {
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			cols, err := tx.HKeys(ctx, colsKey).Result()
			if err != nil {
				return err
			}
			keys := []string{redisDeviceKey(user, deviceID), colsKey}
			for _, c := range cols {
				keys = append(keys, redisSnapKey(user, deviceID, c))
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Del(ctx, keys...)
				p.SRem(ctx, redisDevicesKey(user), deviceID)
				return nil
			})
			return err
		}, colsKey)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, redis.TxFailedErr):
			if err := backoff(ctx, attempt); err != nil {
				return err
			}
		default:
			return redisErr(ctx, err)
		}
	}
	return fmt.Errorf("%w: device %s/%s kept changing during delete", ErrConflict, user, deviceID)
}
