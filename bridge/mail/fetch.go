package mail

import (
	"bytes"
	"context"
	"errors"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/bridge/imip"
	"github.com/idlebridge/idlebridge/bridge/mailconv"
	"github.com/idlebridge/idlebridge/bridge/mailid"
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
	// cancel is the iTIP CANCEL the message carries, nil for any other.
	cancel *imip.Meeting
}

// fetchResult is what fetchItems got of the messages it was asked for.
type fetchResult struct {
	items []fetchedItem
	// failed are messages still upstream that could not be fetched or
	// converted; the caller decides when to try again (see skipBook).
	failed []*imap.Summary
	// cut: the byte budget stopped the list; the rest was not fetched.
	cut bool
}

// fetchItems fetches and converts messages of the selected mailbox, in the
// order given. Small messages (up to LargeMessage) come in batches of one
// UID FETCH each, converted as they stream in so only one raw body is held
// at a time; large ones are rebuilt from their structure (readLarge). One
// message that cannot be fetched or converted is left out and reported in
// failed (one that cannot be parsed is still sent, as mailconv's
// placeholder). Only a broken connection fails the whole call.
//
// maxBytes bounds the converted items as SyncCollection.MaxBytes does
// (0: no bound; negative: nothing is fetched); with firstFree the first
// message goes even when larger. Messages are first cut by their
// announced size, so a window of large messages is not fetched whole only
// to be dropped, then by the size of what they converted to.
func (m *Engine) fetchItems(ctx context.Context, s *imap.Session, folderID string, uids []uint32, opts mailconv.Options, maxBytes int64, firstFree bool) (fetchResult, error) {
	var fr fetchResult
	if len(uids) == 0 {
		return fr, nil
	}
	if maxBytes < 0 {
		fr.cut = true
		return fr, nil
	}
	sums, err := s.FetchSummaries(ctx, imap.UIDs(uids...), 0)
	if err != nil {
		return fr, err
	}
	byUID := make(map[uint32]*imap.Summary, len(sums))
	for i := range sums {
		byUID[sums[i].UID] = &sums[i]
	}
	if maxBytes > 0 {
		uids, fr.cut = m.cutBySize(uids, byUID, maxBytes, truncationOf(opts), firstFree)
	}
	done, err := m.fetchSmall(ctx, s, folderID, uids, byUID, opts)
	if err != nil {
		return fr, err
	}
	fr.items = make([]fetchedItem, 0, len(uids))
	var total int64
	for _, uid := range uids {
		sum, ok := byUID[uid]
		if !ok {
			continue // expunged since the plan; the next Sync sends the Delete if needed
		}
		id := mailid.Item(folderID, uid)
		var (
			it  fetchedItem
			got bool
		)
		var fault error
		if m.opts.FetchFault != nil {
			fault = m.opts.FetchFault(folderID, uid)
		}
		switch {
		case fault != nil:
			m.log.Warn("sync: message skipped, fetch failed", "item", id, "size", sum.Size, "err", fault)
		case m.batched(sum):
			if it, got = done[uid]; !got {
				m.log.Warn("sync: message skipped, fetch failed", "item", id, "size", sum.Size, "err", errNotInBatch)
			}
		default:
			raw, truncated, err := m.readMessage(ctx, s, sum)
			if err != nil {
				if errors.Is(err, imap.ErrBroken) || ctx.Err() != nil {
					return fr, err
				}
				m.log.Warn("sync: message skipped, fetch failed", "item", id, "size", sum.Size, "err", err)
				break
			}
			it, got = m.convert(folderID, sum, raw, truncated, opts)
		}
		if !got {
			fr.failed = append(fr.failed, sum)
			continue
		}
		size := activesync.DataSize(it.data)
		if maxBytes > 0 && (len(fr.items) > 0 || !firstFree) && total+size > maxBytes {
			fr.cut = true
			break
		}
		total += size
		fr.items = append(fr.items, it)
	}
	return fr, nil
}

// cutBySize keeps the head of uids whose announced sizes fit maxBytes
// (with firstFree at least one message, however large, so that none is
// too large ever to reach the device). A large message counts as LargeMessage: only its
// text parts are read (readLarge); with truncated bodies (trunc > 0) a
// message counts as its body's truncation plus room for the headers.
func (m *Engine) cutBySize(uids []uint32, byUID map[uint32]*imap.Summary, maxBytes, trunc int64, firstFree bool) ([]uint32, bool) {
	var total int64
	for i, uid := range uids {
		sum, ok := byUID[uid]
		if !ok {
			continue
		}
		est := min(sum.Size, m.opts.LargeMessage)
		if trunc > 0 {
			est = min(est, trunc+headerRoom)
		}
		if (i > 0 || !firstFree) && total+est > maxBytes {
			return uids[:i], true
		}
		total += est
	}
	return uids, false
}

// headerRoom is what an item's fields besides its body are counted as
// when its body is truncated.
const headerRoom = 4 << 10

// truncationOf is the largest body an item can carry when every body
// preference truncates; 0 when some does not (or none is given).
func truncationOf(opts mailconv.Options) int64 {
	var most int64
	for _, bp := range opts.BodyPrefs {
		if bp.TruncationSize <= 0 || bp.Type == 4 {
			return 0 // a MIME body carries the whole message
		}
		most = max(most, bp.TruncationSize)
	}
	return most
}

// batched says whether a message is fetched whole in a batch: it is small
// enough to hold. Large messages without a structure to rebuild from are
// still fetched whole, but one by one, as readMessage does.
func (m *Engine) batched(sum *imap.Summary) bool {
	return sum.Size <= m.opts.LargeMessage
}

// fetchSmall fetches and converts the batched messages among uids, in
// FETCHes of at most batchBytes. A batch the server answers with NO still
// yields what arrived; the messages missing from it are the caller's to
// report.
func (m *Engine) fetchSmall(ctx context.Context, s *imap.Session, folderID string, uids []uint32, byUID map[uint32]*imap.Summary, opts mailconv.Options) (map[uint32]fetchedItem, error) {
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
func (m *Engine) convert(folderID string, sum *imap.Summary, raw []byte, truncated bool, opts mailconv.Options) (fetchedItem, bool) {
	id := mailid.Item(folderID, sum.UID)
	data, err := mailconv.ToApplicationData(raw, mailconv.Meta{
		ServerID: id, Flags: sum.Flags, InternalDate: sum.InternalDate, Size: sum.Size, Truncated: truncated,
	}, opts)
	if err != nil {
		m.log.Warn("sync: message converted with problems", "item", id, "err", err)
	}
	if data == nil {
		return fetchedItem{}, false
	}
	it := fetchedItem{uid: sum.UID, id: id, sig: flagSignature(sum.Flags), data: data}
	if data.ChildText(wbxml.Email, "MessageClass") == imip.ClassCanceled {
		// Read again for the calendar (rare: only cancellations).
		it.cancel, _ = mailconv.Invitation(raw, opts)
	}
	return it, true
}

// readMessage returns a message's bytes, one command (or, for a large
// message rebuilt by readLarge, a few) per message. Messages above
// LargeMessage are not read whole: see readLarge.
func (m *Engine) readMessage(ctx context.Context, s *imap.Session, sum *imap.Summary) ([]byte, bool, error) {
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
