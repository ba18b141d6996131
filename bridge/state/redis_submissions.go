package state

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Submission keys (see redis_keys.go for the layout):
//
//	ib:{u}:sub:<key>      string  submission JSON, expiring at its Expires
//	ib:{u}:subcopy:<key>  string  its SentCopy, raw, same expiry (only when owed)
//	ib:{u}:subs           set     keys of the user's submissions (an index;
//	                              may hold expired keys, cleaned by List)
//
// Redis expires the records itself, which bounds retention; the index
// lives as long as the newest record.
func redisSubmissionKey(user, key string) string { return userPrefix(user) + "sub:" + keyPart(key) }

func redisSubCopyKey(user, key string) string { return userPrefix(user) + "subcopy:" + keyPart(key) }

func redisSubmissionsKey(user string) string { return userPrefix(user) + "subs" }

// getSubmission reads one record (without its copy) through c, the
// client or a WATCH transaction; nil when absent.
func getSubmission(ctx context.Context, c redis.Cmdable, user, key string) (*Submission, error) {
	raw, err := c.Get(ctx, redisSubmissionKey(user, key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return decodeSubmission(raw)
}

// withCopies fills in the SentCopy of each record (one MGET).
func (s *RedisStore) withCopies(ctx context.Context, user string, subs []*Submission) error {
	if len(subs) == 0 {
		return nil
	}
	keys := make([]string, len(subs))
	for i, sub := range subs {
		keys[i] = redisSubCopyKey(user, sub.Key)
	}
	vals, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return err
	}
	for i, v := range vals {
		if str, ok := v.(string); ok {
			subs[i].SentCopy = []byte(str)
		}
	}
	return nil
}

// GetSubmission implements Submissions. Record and copy come from one
// MGET (one slot), so they are of the same write.
func (s *RedisStore) GetSubmission(ctx context.Context, user, key string) (*Submission, error) {
	vals, err := s.rdb.MGet(ctx, redisSubmissionKey(user, key), redisSubCopyKey(user, key)).Result()
	if err != nil {
		return nil, redisErr(ctx, err)
	}
	raw, ok := vals[0].(string)
	if !ok {
		return nil, ErrNotFound
	}
	sub, err := decodeSubmission([]byte(raw))
	if err != nil {
		return nil, err
	}
	if c, ok := vals[1].(string); ok {
		sub.SentCopy = []byte(c)
	}
	return sub, nil
}

// PutSubmission implements Submissions: WATCH the record, compare its
// Rev, write it in MULTI/EXEC. A concurrent writer aborts the EXEC, which
// is reported as ErrConflict: the caller re-reads and decides again.
func (s *RedisStore) PutSubmission(ctx context.Context, user string, sub *Submission, expectRev uint64) (*Submission, error) {
	now := time.Now()
	if err := checkSubmission(user, sub, now); err != nil {
		return nil, err
	}
	k, idx := redisSubmissionKey(user, sub.Key), redisSubmissionsKey(user)
	var out *Submission
	err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
		old, err := getSubmission(ctx, tx, user, sub.Key)
		if err != nil {
			return err
		}
		var rev uint64
		if old != nil {
			rev = old.Rev
		}
		if rev != expectRev {
			return fmt.Errorf("%w: submission %q is at rev %d, not %d", ErrConflict, sub.Key, rev, expectRev)
		}
		n := cloneSubmission(sub)
		n.Rev = rev + 1
		enc, err := encodeSubmission(n)
		if err != nil {
			return err
		}
		ttl := n.Expires.Sub(now)
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, k, enc, ttl)
			if n.SentCopy != nil {
				p.Set(ctx, redisSubCopyKey(user, sub.Key), n.SentCopy, ttl)
			} else {
				p.Del(ctx, redisSubCopyKey(user, sub.Key))
			}
			p.SAdd(ctx, idx, sub.Key)
			// The index lives as long as the newest record; the sender
			// gives every record the same retention, so this never cuts
			// an older record's entry short by more than a write's age.
			p.PExpire(ctx, idx, ttl)
			return nil
		})
		if err != nil {
			return err
		}
		out = n
		return nil
	}, k)
	switch {
	case err == nil:
		return cloneSubmission(out), nil
	case errors.Is(err, ErrConflict):
		return nil, err
	case errors.Is(err, redis.TxFailedErr):
		return nil, fmt.Errorf("%w: submission %q written concurrently", ErrConflict, sub.Key)
	}
	return nil, redisErr(ctx, err)
}

// DeleteSubmission implements Submissions.
func (s *RedisStore) DeleteSubmission(ctx context.Context, user, key string, expectRev uint64) error {
	k := redisSubmissionKey(user, key)
	err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
		old, err := getSubmission(ctx, tx, user, key)
		if err != nil || old == nil {
			return err
		}
		if old.Rev != expectRev {
			return fmt.Errorf("%w: submission %q is at rev %d, not %d", ErrConflict, key, old.Rev, expectRev)
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Del(ctx, k, redisSubCopyKey(user, key))
			p.SRem(ctx, redisSubmissionsKey(user), key)
			return nil
		})
		return err
	}, k)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrConflict):
		return err
	case errors.Is(err, redis.TxFailedErr):
		return fmt.Errorf("%w: submission %q written concurrently", ErrConflict, key)
	}
	return redisErr(ctx, err)
}

// ListSubmissions implements Submissions. Keys whose record expired are
// dropped from the index here.
func (s *RedisStore) ListSubmissions(ctx context.Context, user string) ([]*Submission, error) {
	idx := redisSubmissionsKey(user)
	keys, err := s.rdb.SMembers(ctx, idx).Result()
	if err != nil {
		return nil, redisErr(ctx, err)
	}
	if len(keys) == 0 {
		return nil, nil
	}
	rkeys := make([]string, len(keys))
	for i, k := range keys {
		rkeys[i] = redisSubmissionKey(user, k)
	}
	vals, err := s.rdb.MGet(ctx, rkeys...).Result()
	if err != nil {
		return nil, redisErr(ctx, err)
	}
	var out []*Submission
	var gone []any
	for i, v := range vals {
		str, ok := v.(string)
		if !ok {
			gone = append(gone, keys[i])
			continue
		}
		sub, err := decodeSubmission([]byte(str))
		if err != nil {
			return nil, err
		}
		out = append(out, sub)
	}
	if len(gone) > 0 {
		// Best effort: a failure leaves the cleanup to the next call.
		_ = s.rdb.SRem(ctx, idx, gone...).Err()
	}
	if err := s.withCopies(ctx, user, out); err != nil {
		return nil, redisErr(ctx, err)
	}
	sortSubmissions(out)
	return out, nil
}
