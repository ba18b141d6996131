package state

import (
	"context"
	"errors"
	"time"
)

// Observed wraps a Store so every failed operation is reported to onErr
// with a fixed operation name (for the store-errors metric). Expected
// outcomes are not failures: ErrNotFound, ErrConflict (a lost CAS race the
// caller retries), and the caller's context ending. The wrapper hides the
// engine's optional interfaces (Sweeper): check those on the engine.
func Observed(s Store, onErr func(op string)) Store {
	return &observed{s: s, onErr: onErr}
}

type observed struct {
	s     Store
	onErr func(op string)
}

func (o *observed) check(ctx context.Context, op string, err error) error {
	if err != nil && ctx.Err() == nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrConflict) {
		o.onErr(op)
	}
	return err
}

func (o *observed) Ping(ctx context.Context) error {
	return o.check(ctx, "ping", o.s.Ping(ctx))
}

func (o *observed) Close() error { return o.s.Close() }

func (o *observed) GetDevice(ctx context.Context, user, deviceID string) (*Device, error) {
	d, err := o.s.GetDevice(ctx, user, deviceID)
	return d, o.check(ctx, "get_device", err)
}

func (o *observed) UpdateDevice(ctx context.Context, user, deviceID string, fn func(*Device) error) (*Device, error) {
	fnFailed := false
	d, err := o.s.UpdateDevice(ctx, user, deviceID, func(d *Device) error {
		err := fn(d)
		fnFailed = err != nil
		return err
	})
	if fnFailed {
		return d, err // the caller's own refusal, not the store's
	}
	return d, o.check(ctx, "update_device", err)
}

func (o *observed) ListDevices(ctx context.Context, user string) ([]*Device, error) {
	ds, err := o.s.ListDevices(ctx, user)
	return ds, o.check(ctx, "list_devices", err)
}

func (o *observed) ListUsers(ctx context.Context) ([]string, error) {
	us, err := o.s.ListUsers(ctx)
	return us, o.check(ctx, "list_users", err)
}

func (o *observed) DeleteDevice(ctx context.Context, user, deviceID string) error {
	return o.check(ctx, "delete_device", o.s.DeleteDevice(ctx, user, deviceID))
}

func (o *observed) GetCollection(ctx context.Context, user, deviceID, collectionID string) (*Collection, error) {
	c, err := o.s.GetCollection(ctx, user, deviceID, collectionID)
	return c, o.check(ctx, "get_collection", err)
}

func (o *observed) ListCollections(ctx context.Context, user, deviceID string) ([]*Collection, error) {
	cs, err := o.s.ListCollections(ctx, user, deviceID)
	return cs, o.check(ctx, "list_collections", err)
}

func (o *observed) Snapshot(ctx context.Context, user, deviceID, collectionID string) (map[string]string, error) {
	m, err := o.s.Snapshot(ctx, user, deviceID, collectionID)
	return m, o.check(ctx, "snapshot", err)
}

func (o *observed) SnapshotGet(ctx context.Context, user, deviceID, collectionID string, ids []string) (map[string]string, error) {
	m, err := o.s.SnapshotGet(ctx, user, deviceID, collectionID, ids)
	return m, o.check(ctx, "snapshot_get", err)
}

func (o *observed) Commit(ctx context.Context, user, deviceID, collectionID string, expectGeneration uint64, req CommitRequest) (*Collection, error) {
	c, err := o.s.Commit(ctx, user, deviceID, collectionID, expectGeneration, req)
	return c, o.check(ctx, "commit", err)
}

func (o *observed) ResetCollection(ctx context.Context, user, deviceID, collectionID string) error {
	return o.check(ctx, "reset_collection", o.s.ResetCollection(ctx, user, deviceID, collectionID))
}

func (o *observed) GetSubmission(ctx context.Context, user, key string) (*Submission, error) {
	s, err := o.s.GetSubmission(ctx, user, key)
	return s, o.check(ctx, "get_submission", err)
}

func (o *observed) PutSubmission(ctx context.Context, user string, s *Submission, expectRev uint64) (*Submission, error) {
	n, err := o.s.PutSubmission(ctx, user, s, expectRev)
	return n, o.check(ctx, "put_submission", err)
}

func (o *observed) DeleteSubmission(ctx context.Context, user, key string, expectRev uint64) error {
	return o.check(ctx, "delete_submission", o.s.DeleteSubmission(ctx, user, key, expectRev))
}

func (o *observed) ListSubmissions(ctx context.Context, user string) ([]*Submission, error) {
	ss, err := o.s.ListSubmissions(ctx, user)
	return ss, o.check(ctx, "list_submissions", err)
}

func (o *observed) SetWatched(ctx context.Context, user, instance string, folders []string, until time.Time) error {
	return o.check(ctx, "set_watched", o.s.SetWatched(ctx, user, instance, folders, until))
}

func (o *observed) SetWatchedBatch(ctx context.Context, instance string, entries []WatchedEntry) error {
	return o.check(ctx, "set_watched_batch", o.s.SetWatchedBatch(ctx, instance, entries))
}

func (o *observed) Watched(ctx context.Context, user string, now time.Time) ([]string, error) {
	fs, err := o.s.Watched(ctx, user, now)
	return fs, o.check(ctx, "watched", err)
}

func (o *observed) WatchedMany(ctx context.Context, users []string, now time.Time) ([][]string, error) {
	fs, err := o.s.WatchedMany(ctx, users, now)
	return fs, o.check(ctx, "watched_many", err)
}

func (o *observed) PutVersion(ctx context.Context, user, ref string, v UpstreamVersion) error {
	return o.check(ctx, "put_version", o.s.PutVersion(ctx, user, ref, v))
}

func (o *observed) StaleVersion(ctx context.Context, user, ref string, at time.Time) error {
	return o.check(ctx, "stale_version", o.s.StaleVersion(ctx, user, ref, at))
}

func (o *observed) GetVersion(ctx context.Context, user, ref string, now time.Time) (UpstreamVersion, bool, error) {
	v, ok, err := o.s.GetVersion(ctx, user, ref, now)
	return v, ok, o.check(ctx, "get_version", err)
}
