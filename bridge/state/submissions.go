package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// SubmissionPhase is how far an outgoing message got. The phases only move
// forward; the send engine (bridge/send*.go) decides what a record left
// behind by a crash means.
type SubmissionPhase string

const (
	// SubmissionClaimed: a request took the message on; nothing has
	// reached the final DATA dot yet, so a retry may send it.
	SubmissionClaimed SubmissionPhase = "claimed"
	// SubmissionData: the final dot is being (or was) written and the
	// server's answer was not recorded: the message may have been accepted.
	SubmissionData SubmissionPhase = "data"
	// SubmissionAccepted: the server accepted the message; the Sent copy
	// (SentCopy) may still be owed.
	SubmissionAccepted SubmissionPhase = "accepted"
	// SubmissionDone: accepted and every follow-up written.
	SubmissionDone SubmissionPhase = "done"
)

// Submission is the durable record of one outgoing message of a user,
// keyed by what identifies a retry of it (the device's ClientId, or the
// message's Message-ID and digest for clients that send none).
type Submission struct {
	Key string `json:"key"`
	// Rev increases by one on every write; it is the CAS token.
	Rev    uint64          `json:"rev"`
	Device string          `json:"device,omitempty"`
	Phase  SubmissionPhase `json:"phase"`
	// Owner names the request (process instance and attempt) working on
	// the record, so a crash leftover can be told from live work.
	Owner   string    `json:"owner,omitempty"`
	Updated time.Time `json:"updated,omitzero"`
	// Expires bounds retention: the engines forget the record then.
	Expires time.Time `json:"expires"`
	// SentCopy is the message still to be appended to the Sent folder;
	// nil when none is owed. The engines keep it beside the record, raw,
	// so the small record stays cheap to read and rewrite.
	SentCopy []byte `json:"-"`
}

// Submissions stores outgoing messages' progress per user (both engines,
// same conformance suite). Records are small except SentCopy, which the
// sender keeps only between the accept and the Sent append.
type Submissions interface {
	// GetSubmission returns ErrNotFound for an unknown or expired key.
	GetSubmission(ctx context.Context, user, key string) (*Submission, error)
	// PutSubmission writes s under (user, s.Key) if and only if the stored
	// record's Rev equals expectRev (0: no live record); otherwise
	// ErrConflict and nothing changes. The engine sets Rev; s.Expires must
	// lie in the future. The stored copy is returned.
	PutSubmission(ctx context.Context, user string, s *Submission, expectRev uint64) (*Submission, error)
	// DeleteSubmission removes the record if its Rev equals expectRev
	// (ErrConflict otherwise); deleting an absent record is not an error.
	DeleteSubmission(ctx context.Context, user, key string, expectRev uint64) error
	// ListSubmissions returns a user's live records, ordered by key.
	ListSubmissions(ctx context.Context, user string) ([]*Submission, error)
}

// checkSubmission validates a PutSubmission's arguments, the same for
// every engine.
func checkSubmission(user string, s *Submission, now time.Time) error {
	switch {
	case user == "" || s == nil || s.Key == "":
		return errors.New("state: submission without user or key")
	case !s.Expires.After(now):
		return fmt.Errorf("state: submission %q expires in the past", s.Key)
	}
	return nil
}

func encodeSubmission(s *Submission) ([]byte, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("state: encode submission: %w", err)
	}
	return b, nil
}

func decodeSubmission(b []byte) (*Submission, error) {
	var s Submission
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("state: decode submission: %w", err)
	}
	return &s, nil
}

func cloneSubmission(s *Submission) *Submission {
	c := *s
	c.SentCopy = slices.Clone(s.SentCopy)
	return &c
}

func sortSubmissions(ss []*Submission) {
	slices.SortFunc(ss, func(a, b *Submission) int { return strings.Compare(a.Key, b.Key) })
}
