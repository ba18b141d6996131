package bridge

import (
	"bytes"
	"context"
	"errors"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/bridge/mailconv"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

// batchBytes bounds the summed size of the messages one batch FETCH asks
// for. A usual window (100 messages of tens of kilobytes) is one command;
// a window of messages just under LargeMessage is cut into a few, so each
// command still moves in well under the IMAP command timeout.
const batchBytes = 16 << 20

// errNotInBatch: the server's answer to a batch FETCH had no body for the
// message (expunged meanwhile, or the server could not read it).
var errNotInBatch = errors.New("message absent from the batch FETCH answer")

// fetchedItem is one message converted for a Sync Add or Fetch.
type fetchedItem struct {
	uid  uint32
	id   string
	sig  string
	data *wbxml.Element
}

// fetchItems fetches and converts messages of the selected mailbox, in the
// order given. Small messages (up to LargeMessage) come in batches of one
// UID FETCH each, converted as they stream in so only one raw body is held
// at a time; large ones are rebuilt from their structure (readLarge). One
// message that cannot be fetched is skipped with a log line (and, not
// being in the result, is not recorded as sent, so the next Sync retries
// it); one that cannot be parsed is sent as mailconv's placeholder. Only a
// broken connection fails the whole call.
func (m *Mail) fetchItems(ctx context.Context, s *imap.Session, folderID string, uids []uint32, opts mailconv.Options) ([]fetchedItem, error) {
	if len(uids) == 0 {
		return nil, nil
	}
	sums, err := s.FetchSummaries(ctx, imap.UIDs(uids...), 0)
	if err != nil {
		return nil, err
	}
	byUID := make(map[uint32]*imap.Summary, len(sums))
	for i := range sums {
		byUID[sums[i].UID] = &sums[i]
	}
	done, err := m.fetchSmall(ctx, s, folderID, uids, byUID, opts)
	if err != nil {
		return nil, err
	}
	out := make([]fetchedItem, 0, len(uids))
	for _, uid := range uids {
		sum, ok := byUID[uid]
		if !ok {
			continue // expunged since the plan; the next Sync sends the Delete if needed
		}
		id := itemID(folderID, uid)
		if m.batched(sum) {
			if it, ok := done[uid]; ok {
				out = append(out, it)
			} else {
				m.log.Warn("sync: message skipped, fetch failed", "item", id, "size", sum.Size, "err", errNotInBatch)
			}
			continue
		}
		raw, truncated, err := m.readMessage(ctx, s, sum)
		if err != nil {
			if errors.Is(err, imap.ErrBroken) || ctx.Err() != nil {
				return nil, err
			}
			m.log.Warn("sync: message skipped, fetch failed", "item", id, "size", sum.Size, "err", err)
			continue
		}
		if it, ok := m.convert(folderID, sum, raw, truncated, opts); ok {
			out = append(out, it)
		}
	}
	return out, nil
}

// batched says whether a message is fetched whole in a batch: it is small
// enough to hold. Large messages without a structure to rebuild from are
// still fetched whole, but one by one, as readMessage does.
func (m *Mail) batched(sum *imap.Summary) bool {
	return sum.Size <= m.opts.LargeMessage
}

// fetchSmall fetches and converts the batched messages among uids, in
// FETCHes of at most batchBytes. A batch the server answers with NO still
// yields what arrived; the messages missing from it are the caller's to
// report.
func (m *Mail) fetchSmall(ctx context.Context, s *imap.Session, folderID string, uids []uint32, byUID map[uint32]*imap.Summary, opts mailconv.Options) (map[uint32]fetchedItem, error) {
	done := make(map[uint32]fetchedItem, len(uids))
	take := func(uid uint32, body []byte) error {
		sum, ok := byUID[uid]
		if !ok || !m.batched(sum) {
			return nil // not asked for
		}
		if it, ok := m.convert(folderID, sum, body, false, opts); ok {
			done[uid] = it
		}
		return nil
	}
	var (
		chunk []uint32
		size  int64 // summed RFC822.SIZE of chunk
	)
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		res, err := s.FetchMessages(ctx, imap.UIDs(chunk...), m.opts.LargeMessage, take)
		chunk, size = chunk[:0], 0
		if err != nil {
			if errors.Is(err, imap.ErrBroken) || ctx.Err() != nil {
				return err
			}
			m.log.Warn("sync: batch fetch failed, missing messages are skipped", "folder", folderID, "err", err)
		}
		if len(res.Oversize) > 0 {
			// RFC822.SIZE said small, the literal said otherwise.
			m.log.Warn("sync: messages larger than announced", "folder", folderID, "uids", res.Oversize)
		}
		return nil
	}
	for _, uid := range uids {
		sum, ok := byUID[uid]
		if !ok || !m.batched(sum) {
			continue
		}
		if len(chunk) > 0 && size+sum.Size > batchBytes {
			if err := flush(); err != nil {
				return nil, err
			}
		}
		chunk = append(chunk, uid)
		size += sum.Size
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return done, nil
}

// convert turns one message into its Sync ApplicationData; ok is false
// when there is nothing to send.
func (m *Mail) convert(folderID string, sum *imap.Summary, raw []byte, truncated bool, opts mailconv.Options) (fetchedItem, bool) {
	id := itemID(folderID, sum.UID)
	data, err := mailconv.ToApplicationData(raw, mailconv.Meta{
		ServerID: id, Flags: sum.Flags, InternalDate: sum.InternalDate, Size: sum.Size, Truncated: truncated,
	}, opts)
	if err != nil {
		m.log.Warn("sync: message converted with problems", "item", id, "err", err)
	}
	if data == nil {
		return fetchedItem{}, false
	}
	return fetchedItem{uid: sum.UID, id: id, sig: flagSignature(sum.Flags), data: data}, true
}

// readMessage returns a message's bytes, one command (or, for a large
// message rebuilt by readLarge, a few) per message. Messages above
// LargeMessage are not read whole: see readLarge.
func (m *Mail) readMessage(ctx context.Context, s *imap.Session, sum *imap.Summary) ([]byte, bool, error) {
	if sum.Size > m.opts.LargeMessage && sum.Body != nil {
		raw, err := m.readLarge(ctx, s, sum)
		return raw, true, err
	}
	var buf bytes.Buffer
	if sum.Size > 0 && sum.Size <= m.opts.LargeMessage {
		buf.Grow(int(sum.Size))
	}
	if _, err := s.FetchMessage(ctx, sum.UID, &buf); err != nil {
		return nil, false, err
	}
	return buf.Bytes(), false, nil
}
