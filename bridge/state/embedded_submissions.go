package state

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Submissions live apart from the device tree, so device sweeps and
// listings never see them:
//
//	"o"  / <user> / <key>                 submission JSON
//	"oc" / <user> / <key>                 its SentCopy, raw (only when owed)
//	"ox" / <user> / <expires ns BE><key>  expiry index, empty values
//
// Expired records read as absent; every write of a user first deletes the
// user's expired records, walking the expiry index from its start, so
// retention is bounded and a write costs O(expired), not O(records).
var (
	bktSubmissions = []byte("o")
	bktSubCopies   = []byte("oc")
	bktSubExpiry   = []byte("ox")
)

// subBuckets are one user's three submission buckets (nil when absent and
// not created).
type subBuckets struct{ recs, copies, expiry *bolt.Bucket }

func openSubBuckets(tx *bolt.Tx, user string, create bool) (subBuckets, error) {
	var out subBuckets
	for _, x := range []struct {
		root []byte
		dst  **bolt.Bucket
	}{{bktSubmissions, &out.recs}, {bktSubCopies, &out.copies}, {bktSubExpiry, &out.expiry}} {
		if !create {
			if root := tx.Bucket(x.root); root != nil {
				*x.dst = root.Bucket([]byte(user))
			}
			continue
		}
		root, err := tx.CreateBucketIfNotExists(x.root)
		if err != nil {
			return out, err
		}
		if *x.dst, err = root.CreateBucketIfNotExists([]byte(user)); err != nil {
			return out, err
		}
	}
	return out, nil
}

func expiryKey(at time.Time, key string) []byte {
	b := make([]byte, 8, 8+len(key))
	binary.BigEndian.PutUint64(b, uint64(at.UnixNano()))
	return append(b, key...)
}

// live decodes the record at key with its copy, nil when absent or
// expired.
func (b subBuckets) live(key string, now time.Time) (*Submission, error) {
	if b.recs == nil {
		return nil, nil
	}
	raw := b.recs.Get([]byte(key))
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
	if b.copies != nil {
		if c := b.copies.Get([]byte(key)); c != nil {
			s.SentCopy = bytes.Clone(c)
		}
	}
	return s, nil
}

// remove deletes a record, its copy and its index entry.
func (b subBuckets) remove(s *Submission) error {
	if err := b.recs.Delete([]byte(s.Key)); err != nil {
		return err
	}
	if err := b.copies.Delete([]byte(s.Key)); err != nil {
		return err
	}
	return b.expiry.Delete(expiryKey(s.Expires, s.Key))
}

// prune deletes the records whose expiry has passed.
func (b subBuckets) prune(now time.Time) error {
	limit := uint64(now.UnixNano())
	var gone [][]byte
	c := b.expiry.Cursor()
	for k, _ := c.First(); len(k) >= 8 && binary.BigEndian.Uint64(k[:8]) <= limit; k, _ = c.Next() {
		gone = append(gone, bytes.Clone(k))
	}
	for _, k := range gone {
		key := k[8:]
		if err := b.recs.Delete(key); err != nil {
			return err
		}
		if err := b.copies.Delete(key); err != nil {
			return err
		}
		if err := b.expiry.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// GetSubmission implements Submissions.
func (e *Embedded) GetSubmission(ctx context.Context, user, key string) (*Submission, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out *Submission
	err := e.view(func(tx *bolt.Tx) error {
		b, _ := openSubBuckets(tx, user, false)
		s, err := b.live(key, time.Now())
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
		b, err := openSubBuckets(tx, user, true)
		if err != nil {
			return err
		}
		old, err := b.live(s.Key, now)
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
		if err := b.prune(now); err != nil {
			return err
		}
		if old != nil {
			if err := b.remove(old); err != nil {
				return err
			}
		}
		n := cloneSubmission(s)
		n.Rev = rev + 1
		enc, err := encodeSubmission(n)
		if err != nil {
			return err
		}
		if err := b.recs.Put([]byte(n.Key), enc); err != nil {
			return err
		}
		if n.SentCopy != nil {
			if err := b.copies.Put([]byte(n.Key), n.SentCopy); err != nil {
				return err
			}
		}
		if err := b.expiry.Put(expiryKey(n.Expires, n.Key), nil); err != nil {
			return err
		}
		out = n
		return nil
	})
	if err != nil {
		return nil, err
	}
	return cloneSubmission(out), nil
}

// DeleteSubmission implements Submissions.
func (e *Embedded) DeleteSubmission(ctx context.Context, user, key string, expectRev uint64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return e.update(func(tx *bolt.Tx) error {
		b, _ := openSubBuckets(tx, user, false)
		old, err := b.live(key, time.Now())
		if err != nil || old == nil {
			return err
		}
		if old.Rev != expectRev {
			return fmt.Errorf("%w: submission %q is at rev %d, not %d", ErrConflict, key, old.Rev, expectRev)
		}
		return b.remove(old)
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
		b, _ := openSubBuckets(tx, user, false)
		if b.recs == nil {
			return nil
		}
		return b.recs.ForEach(func(k, _ []byte) error {
			s, err := b.live(string(k), now)
			if err != nil || s == nil {
				return err
			}
			out = append(out, s)
			return nil
		})
	})
	sortSubmissions(out)
	return out, err
}
