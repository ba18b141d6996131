package imap

import (
	"context"
	"fmt"
	"slices"

	imapv2 "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// BinarySize asks the decoded size of one MIME part (FETCH BINARY.SIZE,
// RFC 3516 4.2): what the part is once its Content-Transfer-Encoding is
// undone, without transferring it. ok is false when the server does not
// offer BINARY; a caller that needs the size then has to decode the part.
func (s *Session) BinarySize(ctx context.Context, uid uint32, part []int) (size int64, ok bool, err error) {
	if !s.caps.Binary {
		return 0, false, nil
	}
	if err := s.requireSelected("binary size"); err != nil {
		return 0, false, err
	}
	opts := &imapv2.FetchOptions{UID: true, BinarySectionSize: []*imapv2.FetchItemBinarySectionSize{{Part: part}}}
	found := false
	err = s.do(ctx, "binary size", 1, func() error {
		cmd := s.client.Fetch(UIDs(uid).wire(), opts)
		for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
			for item := msg.Next(); item != nil; item = msg.Next() {
				if bs, isSize := item.(imapclient.FetchItemDataBinarySectionSize); isSize && slices.Equal(bs.Part, part) {
					size, found = int64(bs.Size), true
				}
			}
		}
		return cmd.Close()
	})
	if err != nil {
		return 0, false, err
	}
	if !found {
		return 0, false, fmt.Errorf("imap binary size uid %d: %w", uid, ErrNoMessage)
	}
	return size, true, nil
}
