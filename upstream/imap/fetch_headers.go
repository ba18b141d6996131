package imap

import (
	"context"

	imapv2 "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// FetchHeaderFields returns, per UID, the named header fields of the
// given messages of the selected mailbox (BODY.PEEK[HEADER.FIELDS (...)]:
// the fields as raw header lines and the closing empty line), in one
// command and without setting \Seen. Messages the server does not answer
// for are absent.
func (s *Session) FetchHeaderFields(ctx context.Context, uids UIDSet, fields []string) (map[uint32][]byte, error) {
	if err := s.requireSelected("fetch headers"); err != nil {
		return nil, err
	}
	out := map[uint32][]byte{}
	if uids.Empty() {
		return out, nil
	}
	section := &imapv2.FetchItemBodySection{Specifier: imapv2.PartSpecifierHeader, HeaderFields: fields, Peek: true}
	opts := &imapv2.FetchOptions{UID: true, BodySection: []*imapv2.FetchItemBodySection{section}}
	err := s.fetchEach(ctx, "fetch headers", uids, opts, func(b *imapclient.FetchMessageBuffer) {
		out[uint32(b.UID)] = b.FindBodySection(section)
	})
	return out, err
}
