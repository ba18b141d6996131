package state

import (
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Submissions live apart from the device tree, so device sweeps and
// listings never see them:
//
//	"o" / <user> / <key> = submission JSON
//
// Expired records read as absent and are pruned by the user's next write,
// which bounds retention without a sweeper.
var bktSubmissions = []byte("o")

func submissionsBucket(tx *bolt.Tx, user string, create bool) (*bolt.Bucket, error) {
	if !create {
		root := tx.Bucket(bktSubmissions)
		if root == nil {
			return nil, nil
		}
		return root.Bucket([]byte(user)), nil
	}
	root, err := tx.CreateBucketIfNotExists(bktSubmissions)
	if err != nil {
		return nil, err
	}
	return root.CreateBucketIfNotExists([]byte(user))
}

// liveSubmission decodes the record at key, nil when absent or expired.
func liveSubmission(b *bolt.Bucket, key string, now time.Time) (*Submission, error) {
	if b == nil {
		return nil, nil
	}
	raw := b.Get([]byte(key))
	if raw == nil {
		return nil, nil
	}
	s, err := decodeSubmission(raw)
	if err != nil {
		return nil, err
	}
	if !s.Expires.After(now) {
		return nil, nil
	}
	return s, nil
}

// GetSubmission implements Submissions.
func (e *Embedded) GetSubmission(ctx context.Context, user, key string) (*Submission, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out *Submission
	err := e.view(func(tx *bolt.Tx) error {
		b, _ := submissionsBucket(tx, user, false)
		s, err := liveSubmission(b, key, time.Now())
		if err != nil {
			return err
		}
		if s == nil {
			return ErrNotFound
		}
		out = s
		return nil
	})
	return out, err
}

// PutSubmission implements Submissions.
func (e *Embedded) PutSubmission(ctx context.Context, user string, s *Submission, expectRev uint64) (*Submission, error) {
	now := time.Now()
	if err := checkSubmission(user, s, now); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out *Submission
	err := e.update(func(tx *bolt.Tx) error {
		b, err := submissionsBucket(tx, user, true)
		if err != nil {
			return err
		}
		old, err := liveSubmission(b, s.Key, now)
		if err != nil {
			return err
		}
		var rev uint64
		if old != nil {
			rev = old.Rev
		}
		if rev != expectRev {
			return fmt.Errorf("%w: submission %q is at rev %d, not %d", ErrConflict, s.Key, rev, expectRev)
		}
		if err := pruneSubmissions(b, now); err != nil {
			return err
		}
		n := cloneSubmission(s)
		n.Rev = rev + 1
		enc, err := encodeSubmission(n)
		if err != nil {
			return err
		}
		if err := b.Put([]byte(n.Key), enc); err != nil {
			return err
		}
		out = n
		return nil
	})
	return out, err
}

// pruneSubmissions deletes a user's expired records.
func pruneSubmissions(b *bolt.Bucket, now time.Time) error {
	var gone [][]byte
	err := b.ForEach(func(k, v []byte) error {
		if s, err := decodeSubmission(v); err != nil || !s.Expires.After(now) {
			gone = append(gone, append([]byte(nil), k...))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range gone {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// DeleteSubmission implements Submissions.
func (e *Embedded) DeleteSubmission(ctx context.Context, user, key string, expectRev uint64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return e.update(func(tx *bolt.Tx) error {
		b, _ := submissionsBucket(tx, user, false)
		old, err := liveSubmission(b, key, time.Now())
		if err != nil {
			return err
		}
		if old == nil {
			return nil
		}
		if old.Rev != expectRev {
			return fmt.Errorf("%w: submission %q is at rev %d, not %d", ErrConflict, key, old.Rev, expectRev)
		}
		return b.Delete([]byte(key))
	})
}

// ListSubmissions implements Submissions.
func (e *Embedded) ListSubmissions(ctx context.Context, user string) ([]*Submission, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := time.Now()
	var out []*Submission
	err := e.view(func(tx *bolt.Tx) error {
		b, _ := submissionsBucket(tx, user, false)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			s, err := decodeSubmission(v)
			if err != nil {
				return err
			}
			if s.Expires.After(now) {
				out = append(out, s)
			}
			return nil
		})
	})
	sortSubmissions(out)
	return out, err
}
