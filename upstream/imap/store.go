package imap

import (
	"context"
	"fmt"
	"io"
	"time"

	imapv2 "github.com/emersion/go-imap/v2"
)

// StoreOp says how Store combines flags with those already set.
type StoreOp int

const (
	StoreAdd    StoreOp = iota // +FLAGS
	StoreRemove                // -FLAGS
	StoreSet                   // FLAGS (replace)
)

// Store changes flags of messages in the selected mailbox with one silent
// UID STORE (the server sends no FETCH back, except MODSEQ updates under
// CONDSTORE, which are discarded).
func (s *Session) Store(ctx context.Context, uids UIDSet, op StoreOp, flags []string) error {
	if err := s.requireSelected("store"); err != nil {
		return err
	}
	if uids.Empty() {
		return nil
	}
	var wireOp imapv2.StoreFlagsOp
	switch op {
	case StoreAdd:
		wireOp = imapv2.StoreFlagsAdd
	case StoreRemove:
		wireOp = imapv2.StoreFlagsDel
	case StoreSet:
		wireOp = imapv2.StoreFlagsSet
	default:
		return fmt.Errorf("imap store: unknown op %d", op)
	}
	sf := &imapv2.StoreFlags{Op: wireOp, Silent: true, Flags: toFlags(flags)}
	return s.do(ctx, "store", 1, func() error {
		return s.client.Store(uids.wire(), sf, nil).Close()
	})
}

// Move moves messages of the selected mailbox to dest and returns old UID
// → new UID when the server reports COPYUID (UIDPLUS); the map is empty
// otherwise. Uses UID MOVE (one command); without MOVE it falls back to
// UID COPY + UID STORE +FLAGS.SILENT \Deleted + UID EXPUNGE (three; with
// no UIDPLUS the last is a plain EXPUNGE, which also removes other
// messages already marked \Deleted).
func (s *Session) Move(ctx context.Context, uids UIDSet, dest string) (map[uint32]uint32, error) {
	if err := s.requireSelected("move"); err != nil {
		return nil, err
	}
	if uids.Empty() {
		return map[uint32]uint32{}, nil
	}
	n := 1
	if !s.caps.Move {
		n = 3
	}
	var src, dst []uint32
	err := s.do(ctx, "move", n, func() error {
		d, err := s.client.Move(uids.wire(), dest).Wait()
		if err != nil {
			return err
		}
		src, dst = expandUIDs(d.SourceUIDs), expandUIDs(d.DestUIDs)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return pairUIDs(src, dst), nil
}

// pairUIDs zips COPYUID's source and destination lists; mismatched lengths
// (a broken server) give no mapping rather than a wrong one.
func pairUIDs(src, dst []uint32) map[uint32]uint32 {
	m := make(map[uint32]uint32, len(src))
	if len(src) != len(dst) {
		return m
	}
	for i := range src {
		m[src[i]] = dst[i]
	}
	return m
}

// Expunge permanently removes messages of the selected mailbox: UID STORE
// +FLAGS.SILENT \Deleted, then UID EXPUNGE (UIDPLUS). Without UIDPLUS the
// second step is EXPUNGE, which also removes other \Deleted messages.
func (s *Session) Expunge(ctx context.Context, uids UIDSet) error {
	if err := s.Store(ctx, uids, StoreAdd, []string{`\Deleted`}); err != nil || uids.Empty() {
		return err
	}
	return s.do(ctx, "expunge", 1, func() error {
		if s.caps.UIDPlus {
			return s.client.UIDExpunge(uids.wire()).Close()
		}
		return s.client.Expunge().Close()
	})
}

// Append stores a message of exactly size bytes read from r in mailbox and
// returns its UID when the server reports APPENDUID (UIDPLUS), else 0. A
// zero date lets the server use the current time.
func (s *Session) Append(ctx context.Context, mailbox string, flags []string, date time.Time, r io.Reader, size int64) (uint32, error) {
	opts := &imapv2.AppendOptions{Flags: toFlags(flags), Time: date}
	var uid uint32
	err := s.do(ctx, "append", 1, func() error {
		cmd := s.client.Append(mailbox, size, opts)
		if _, err := io.CopyN(cmd, r, size); err != nil {
			// The literal is incomplete: the connection cannot be resynced.
			_ = s.client.Close()
			return fmt.Errorf("copy message: %w", err)
		}
		if err := cmd.Close(); err != nil {
			return err
		}
		d, err := cmd.Wait()
		if err != nil {
			return err
		}
		uid = uint32(d.UID)
		return nil
	})
	return uid, err
}

func toFlags(flags []string) []imapv2.Flag {
	out := make([]imapv2.Flag, len(flags))
	for i, f := range flags {
		out[i] = imapv2.Flag(f)
	}
	return out
}
