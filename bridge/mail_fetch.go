package bridge

import (
	"bytes"
	"context"
	"errors"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/bridge/mailconv"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

// fetchedItem is one message converted for a Sync Add or Fetch.
type fetchedItem struct {
	uid  uint32
	id   string
	sig  string
	data *wbxml.Element
}

// fetchItems fetches and converts messages of the selected mailbox, in the
// order given. One message that cannot be fetched is skipped with a log
// line (and, not being in the result, is not recorded as sent, so the next
// Sync retries it); one that cannot be parsed is sent as mailconv's
// placeholder. Only a broken connection fails the whole call.
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
	out := make([]fetchedItem, 0, len(uids))
	for _, uid := range uids {
		sum, ok := byUID[uid]
		id := itemID(folderID, uid)
		if !ok {
			continue // expunged since the plan; the next Sync sends the Delete if needed
		}
		raw, truncated, err := m.readMessage(ctx, s, sum)
		if err != nil {
			if errors.Is(err, imap.ErrBroken) || ctx.Err() != nil {
				return nil, err
			}
			m.log.Warn("sync: message skipped, fetch failed", "item", id, "size", sum.Size, "err", err)
			continue
		}
		data, cerr := mailconv.ToApplicationData(raw, mailconv.Meta{
			ServerID: id, Flags: sum.Flags, InternalDate: sum.InternalDate, Size: sum.Size, Truncated: truncated,
		}, opts)
		if cerr != nil {
			m.log.Warn("sync: message converted with problems", "item", id, "err", cerr)
		}
		if data == nil {
			continue
		}
		out = append(out, fetchedItem{uid: uid, id: id, sig: flagSignature(sum.Flags), data: data})
	}
	return out, nil
}

// readMessage returns a message's bytes. Messages above LargeMessage are
// not read whole: see readLarge.
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
