package imap

import (
	"context"
	"fmt"
	"io"

	imapv2 "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// BatchResult says what a FetchMessages call could not hand over.
type BatchResult struct {
	// Oversize are the UIDs whose body was larger than maxBytes; their
	// bytes were read off the wire and discarded, fn was not called.
	Oversize []uint32
}

// FetchMessages fetches the full RFC 822 bodies (BODY.PEEK[], so \Seen is
// not set) of many messages in one UID FETCH and calls fn once per message
// as each arrives, in the server's order. Only one body is held at a time
// and each is read into a buffer of its announced literal size, which must
// not exceed maxBytes: a larger one is drained and listed in
// BatchResult.Oversize instead, so callers should only ask for messages
// they know to be small (RFC822.SIZE from FetchSummaries) and take the big
// ones another way. fn owns body and may keep it.
//
// A UID the server does not answer for (expunged by another session, never
// existed) is simply absent: fn is not called for it; callers compare with
// what they asked for. A tagged NO/BAD is returned as *ServerError after
// fn has seen every message that did arrive (a server may answer NO when
// it could not read some of the messages yet send the others). If fn
// returns an error it is not called again, the rest of the response is
// drained so the connection stays usable, and that error is returned.
// The whole batch is one command for Stats and is bounded by one command
// timeout, so callers should keep batches to a size the link can move in
// that time.
func (s *Session) FetchMessages(ctx context.Context, uids UIDSet, maxBytes int64, fn func(uid uint32, body []byte) error) (BatchResult, error) {
	const op = "fetch messages"
	var res BatchResult
	if err := s.requireSelected(op); err != nil {
		return res, err
	}
	if maxBytes <= 0 {
		return res, fmt.Errorf("imap %s: maxBytes must be positive, got %d", op, maxBytes)
	}
	if uids.Empty() {
		return res, nil
	}
	section := &imapv2.FetchItemBodySection{Peek: true}
	opts := &imapv2.FetchOptions{UID: true, BodySection: []*imapv2.FetchItemBodySection{section}}
	var fnErr error
	err := s.do(ctx, op, 1, func() error {
		cmd := s.client.Fetch(uids.wire(), opts)
		seen := make(map[uint32]bool)
		var rerr error
		for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
			m, err := readBatchMessage(msg, maxBytes)
			if err != nil {
				if rerr == nil {
					rerr = err
				}
				continue
			}
			// UID 0: a unilateral update that is not one of ours. A body
			// already handed over is not handed over twice.
			if m.uid == 0 || !m.hasBody || seen[m.uid] {
				continue
			}
			seen[m.uid] = true
			if m.oversize {
				res.Oversize = append(res.Oversize, m.uid)
				continue
			}
			if fnErr == nil {
				fnErr = fn(m.uid, m.body)
			}
		}
		if err := cmd.Close(); err != nil {
			return err
		}
		return rerr
	})
	if err != nil {
		return res, err
	}
	if fnErr != nil {
		return res, fmt.Errorf("imap %s: %w", op, fnErr)
	}
	return res, nil
}

// batchMessage is one FETCH response of a batch, read to its end.
type batchMessage struct {
	uid      uint32
	body     []byte
	hasBody  bool
	oversize bool
}

// readBatchMessage reads one message's items. The server may send UID
// after BODY[] (the order of FETCH items is its choice, RFC 3501 7.4.2),
// so the body is kept until the message ends and only then paired with
// its UID. An error is a transport failure inside the literal.
func readBatchMessage(msg *imapclient.FetchMessageData, maxBytes int64) (batchMessage, error) {
	var m batchMessage
	for item := msg.Next(); item != nil; item = msg.Next() {
		switch it := item.(type) {
		case imapclient.FetchItemDataUID:
			m.uid = uint32(it.UID)
		case imapclient.FetchItemDataBodySection:
			if it.Literal == nil || m.hasBody {
				continue // NIL body, or a second section we did not ask for
			}
			m.hasBody = true
			size := it.Literal.Size()
			if size > maxBytes || size < 0 {
				m.oversize = true
				if _, err := io.Copy(io.Discard, it.Literal); err != nil {
					return m, err
				}
				continue
			}
			buf := make([]byte, size)
			if _, err := io.ReadFull(it.Literal, buf); err != nil {
				return m, err
			}
			m.body = buf
		}
	}
	return m, nil
}
