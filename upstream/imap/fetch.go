package imap

import (
	"context"
	"slices"
	"strings"
	"time"

	imapv2 "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Summary is what a mail list needs of one message, without its body.
type Summary struct {
	UID          uint32
	Flags        []string // e.g. `\Seen`, `$Forwarded`
	ModSeq       uint64   // 0 without CONDSTORE
	InternalDate time.Time
	Size         int64 // RFC822.SIZE
	Envelope     *Envelope
	Body         *BodyPart // BODYSTRUCTURE tree
}

// FlagInfo is the cheap per-message state used for incremental sync.
type FlagInfo struct {
	UID    uint32
	Flags  []string
	ModSeq uint64 // 0 without CONDSTORE
}

// FetchSummaries fetches envelope, structure, flags, date and size of the
// given messages in one command. With changedSince > 0 (and CONDSTORE) only
// messages whose MODSEQ is above it are returned. Sorted by UID.
func (s *Session) FetchSummaries(ctx context.Context, uids UIDSet, changedSince uint64) ([]Summary, error) {
	if err := s.requireSelected("fetch"); err != nil {
		return nil, err
	}
	if uids.Empty() {
		return nil, nil
	}
	opts := &imapv2.FetchOptions{
		UID: true, Flags: true, InternalDate: true, RFC822Size: true, Envelope: true,
		BodyStructure: &imapv2.FetchItemBodyStructure{Extended: true},
	}
	s.addModSeq(opts, changedSince)
	var out []Summary
	err := s.fetchEach(ctx, "fetch", uids, opts, func(b *imapclient.FetchMessageBuffer) {
		out = append(out, Summary{
			UID:          uint32(b.UID),
			Flags:        flagStrings(b.Flags),
			ModSeq:       b.ModSeq,
			InternalDate: b.InternalDate,
			Size:         b.RFC822Size,
			Envelope:     envelopeFrom(b.Envelope),
			Body:         bodyFrom(b.BodyStructure),
		})
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Summary) int { return cmpUID(a.UID, b.UID) })
	return out, nil
}

// FetchFlags is the cheap incremental path: UID FETCH <set> (UID FLAGS
// MODSEQ) (CHANGEDSINCE n), one command whatever the number of messages.
// Pass AllUIDs() to cover the whole mailbox. Without CONDSTORE,
// changedSince is ignored and every selected message is returned.
// Sorted by UID.
func (s *Session) FetchFlags(ctx context.Context, uids UIDSet, changedSince uint64) ([]FlagInfo, error) {
	if err := s.requireSelected("fetch flags"); err != nil {
		return nil, err
	}
	if uids.Empty() {
		return nil, nil
	}
	opts := &imapv2.FetchOptions{UID: true, Flags: true}
	s.addModSeq(opts, changedSince)
	var out []FlagInfo
	err := s.fetchEach(ctx, "fetch flags", uids, opts, func(b *imapclient.FetchMessageBuffer) {
		out = append(out, FlagInfo{UID: uint32(b.UID), Flags: flagStrings(b.Flags), ModSeq: b.ModSeq})
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b FlagInfo) int { return cmpUID(a.UID, b.UID) })
	return out, nil
}

func (s *Session) addModSeq(opts *imapv2.FetchOptions, changedSince uint64) {
	if s.caps.CondStore {
		opts.ModSeq = true
		opts.ChangedSince = changedSince
	}
}

// fetchEach runs one UID FETCH and hands each complete message to f. It
// always drains the command so the connection stays in step.
func (s *Session) fetchEach(ctx context.Context, op string, uids UIDSet, opts *imapv2.FetchOptions, f func(*imapclient.FetchMessageBuffer)) error {
	return s.do(ctx, op, 1, func() error {
		cmd := s.client.Fetch(uids.wire(), opts)
		var firstErr error
		for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
			b, err := msg.Collect()
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			if b.UID == 0 {
				continue // not one of ours (a unilateral update without UID)
			}
			f(b)
		}
		if err := cmd.Close(); err != nil {
			return err
		}
		return firstErr
	})
}

// flagStrings converts flags, dropping \Recent: it is per session
// (RFC 3501 2.3.2), cannot be stored, and would make two sessions disagree.
func flagStrings(flags []imapv2.Flag) []string {
	out := make([]string, 0, len(flags))
	for _, f := range flags {
		if strings.EqualFold(string(f), `\Recent`) {
			continue
		}
		out = append(out, string(f))
	}
	return out
}

func cmpUID(a, b uint32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
