package mail

import (
	"context"
	"encoding/base64"
	"io"
	"mime/quotedprintable"
	"slices"
	"strings"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/login"
	"github.com/idlebridge/idlebridge/bridge/mailconv"
	"github.com/idlebridge/idlebridge/bridge/mailid"
	"github.com/idlebridge/idlebridge/bridge/outage"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

// OpenAttachment implements activesync.ItemFetcher. The FileReference is
// mailconv's "<folder>:<uid>:<part path>". The part is streamed from the
// server (BODY.PEEK[part]) through a transfer decoder, so a large
// attachment is never held in memory; the IMAP session stays lent out
// until the reader is closed or drained. size is the exact decoded size:
// the part's size when it is not encoded, the server's BINARY.SIZE (RFC
// 3516) for base64, which a multipart ItemOperations answer needs before
// the data; 0 when unknown (quoted-printable, or no BINARY).
func (m *Engine) OpenAttachment(ctx context.Context, a activesync.Account, deviceID, fileRef string) (string, int64, io.ReadCloser, error) {
	notFound := activesync.CommandStatus(activesync.ItemOpsStatusNotFound, "no such attachment")
	acct, err := login.Of(a)
	if err != nil {
		return "", 0, nil, err
	}
	serverID, partPath, ok := mailconv.ParseFileReference(fileRef)
	if !ok {
		return "", 0, nil, notFound
	}
	folder, uid, ok := mailid.ParseItem(serverID)
	if !ok {
		return "", 0, nil, notFound
	}
	path, ok := mailid.ParsePartPath(partPath)
	if !ok {
		return "", 0, nil, notFound
	}
	mailbox, ok, err := m.mailboxOf(ctx, acct.Address(), folder)
	if err != nil {
		return "", 0, nil, outage.Store(err)
	}
	if !ok {
		return "", 0, nil, notFound
	}
	s, release, err := m.up.Acquire(ctx, acct)
	if err != nil {
		return "", 0, nil, err
	}
	part, err := findPart(ctx, s, mailbox, uid, path)
	if err != nil || part == nil {
		release(s.Broken())
		if err == nil || isServerNo(err) {
			return "", 0, nil, notFound
		}
		return "", 0, nil, outage.Upstream(err)
	}
	// The size must be what the decoder below yields. Base64 decodes to
	// one length whoever decodes it, so the server's BINARY.SIZE holds;
	// quoted-printable decoders differ on trailing white space, so its
	// size stays unknown (0), as does one the server refuses to compute
	// (NO [UNKNOWN-CTE]).
	var size int64
	switch strings.ToLower(part.Encoding) {
	case "base64":
		n, ok, err := s.BinarySize(ctx, uid, path)
		if err != nil && !isServerNo(err) {
			release(s.Broken())
			return "", 0, nil, outage.Upstream(err)
		}
		if ok {
			size = n
		}
	case "quoted-printable":
	default:
		size = int64(part.Size)
	}
	pr, pw := io.Pipe()
	go func() {
		_, err := s.FetchSection(ctx, uid, path, pw)
		pw.CloseWithError(err)
		release(s.Broken())
	}()
	ctype := part.MIMEType()
	if part.Type == "message" {
		ctype = "message/rfc822"
	}
	var r io.Reader = pr
	switch strings.ToLower(part.Encoding) {
	case "base64":
		r = base64.NewDecoder(base64.RawStdEncoding, &base64Alphabet{r: pr})
	case "quoted-printable":
		r = quotedprintable.NewReader(pr)
	}
	return ctype, size, &pipeReadCloser{Reader: r, pr: pr}, nil
}

// findPart selects the mailbox read-only and finds a part by path in the
// message's BODYSTRUCTURE; nil when there is no such message or part.
func findPart(ctx context.Context, s *imap.Session, mailbox string, uid uint32, path []int) (*imap.BodyPart, error) {
	if _, err := s.Select(ctx, mailbox, true); err != nil {
		return nil, err
	}
	sums, err := s.FetchSummaries(ctx, imap.UIDs(uid), 0)
	if err != nil || len(sums) == 0 || sums[0].Body == nil {
		return nil, err
	}
	var found *imap.BodyPart
	sums[0].Body.Walk(func(p *imap.BodyPart) {
		if found == nil && p.Type != "multipart" && slices.Equal(p.Path, path) {
			found = p
		}
	})
	return found, nil
}

// pipeReadCloser closes the pipe so the fetching goroutine stops writing
// (the session drains the rest of the literal and goes back to the pool).
type pipeReadCloser struct {
	io.Reader
	pr *io.PipeReader
}

func (p *pipeReadCloser) Close() error { return p.pr.Close() }

// base64Alphabet passes only base64 alphabet bytes: line breaks, padding
// and stray characters are dropped, as RFC 2045 6.8 asks decoders to
// ignore them (a RawStdEncoding decoder then needs no padding).
type base64Alphabet struct{ r io.Reader }

func (f *base64Alphabet) Read(p []byte) (int, error) {
	for {
		n, err := f.r.Read(p)
		k := 0
		for _, c := range p[:n] {
			if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' {
				p[k] = c
				k++
			}
		}
		if k > 0 || err != nil {
			return k, err
		}
	}
}
