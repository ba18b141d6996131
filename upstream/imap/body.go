package imap

import (
	"context"
	"errors"
	"fmt"
	"io"

	imapv2 "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// ErrNoMessage is returned when the requested UID is not in the mailbox
// (expunged meanwhile, or never existed).
var ErrNoMessage = errors.New("imap: no such message")

// FetchMessage streams the full RFC 822 message (BODY.PEEK[], so \Seen is
// not set) into w without holding it in memory, and returns the bytes
// written.
func (s *Session) FetchMessage(ctx context.Context, uid uint32, w io.Writer) (int64, error) {
	return s.fetchSection(ctx, "fetch message", uid, nil, w)
}

// FetchSection streams one MIME part (BODY.PEEK[1.2]) as stored, i.e.
// still in its Content-Transfer-Encoding (see BodyPart.Encoding); part is a
// BodyPart.Path.
func (s *Session) FetchSection(ctx context.Context, uid uint32, part []int, w io.Writer) (int64, error) {
	if len(part) == 0 {
		return 0, fmt.Errorf("imap fetch section: empty part path (use FetchMessage)")
	}
	return s.fetchSection(ctx, "fetch section", uid, part, w)
}

func (s *Session) fetchSection(ctx context.Context, op string, uid uint32, part []int, w io.Writer) (int64, error) {
	if err := s.requireSelected(op); err != nil {
		return 0, err
	}
	section := &imapv2.FetchItemBodySection{Peek: true, Part: part}
	opts := &imapv2.FetchOptions{UID: true, BodySection: []*imapv2.FetchItemBodySection{section}}
	var (
		written int64
		found   bool
		werr    error
	)
	err := s.do(ctx, op, 1, func() error {
		cmd := s.client.Fetch(UIDs(uid).wire(), opts)
		var rerr error
		for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
			for item := msg.Next(); item != nil; item = msg.Next() {
				body, ok := item.(imapclientBodySection)
				if !ok || body.Literal == nil {
					continue
				}
				found = true
				n, we, re := copyDraining(w, body.Literal)
				written += n
				if werr == nil {
					werr = we
				}
				if rerr == nil {
					rerr = re
				}
			}
		}
		if err := cmd.Close(); err != nil {
			return err
		}
		return rerr
	})
	if err != nil {
		return written, err
	}
	if werr != nil {
		return written, fmt.Errorf("imap %s: write: %w", op, werr)
	}
	if !found {
		return 0, fmt.Errorf("imap %s uid %d: %w", op, uid, ErrNoMessage)
	}
	return written, nil
}

// copyDraining copies r to w; if w fails it keeps reading r to its end,
// because go-imap's reader goroutine waits until the literal is consumed.
func copyDraining(w io.Writer, r io.Reader) (n int64, werr, rerr error) {
	buf := make([]byte, 32*1024)
	for {
		m, err := r.Read(buf)
		if m > 0 && werr == nil {
			k, e := w.Write(buf[:m])
			n += int64(k)
			if e == nil && k < m {
				e = io.ErrShortWrite
			}
			werr = e
		}
		if err == io.EOF {
			return n, werr, nil
		}
		if err != nil {
			return n, werr, err
		}
	}
}

// imapclientBodySection is go-imap's body section item, aliased so the
// type switch above reads plainly.
type imapclientBodySection = imapclient.FetchItemDataBodySection
