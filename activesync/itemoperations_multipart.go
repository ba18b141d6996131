package activesync

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// ContentTypeMultipart is the media type of a multipart ItemOperations
// answer (MS-ASCMD 2.2.1.10.1).
const ContentTypeMultipart = "application/vnd.ms-sync.multipart"

// maxMultipartParts bounds the parts of one answer (one per Fetch).
const maxMultipartParts = 1 << 10

// multipartItemOperations answers ItemOperations in the multipart form a
// client asks for with MS-ASAcceptMultiPart: T (MS-ASHTTP 2.2.1.1.2.5, or
// the AcceptMultiPart option of the base64 query): the WBXML is part 0 and
// each fetched content is a later part, raw rather than base64, which an
// itemoperations:Part element names in place of Data (MS-ASCMD 2.2.3.130,
// MS-ASAIRS 2.2.2.33).
//
// The body is a MultiPartResponse (MS-ASCMD 2.2.1.10.1.1): PartsCount, then
// an Offset and a Length per part, then the parts, all counted from the
// start of the body; the integers are 4-byte little-endian, as every
// binary integer of MS-AS* (e.g. the base64 query, MS-ASHTTP 2.2.1.1.1.1).
// The lengths come first, so every part's size must be known before the
// first byte is written. The last attachment of the request is streamed
// from the Backend as the last part and never held in memory: its size is
// the Backend's exact decoded size, or, when the Backend does not know it,
// counted by reading the attachment once before it is opened again. It is
// opened after every other operation ran, because an open attachment holds
// one of the user's upstream connections until it is read. Item bodies
// are held as the inline form holds them; other attachments are held too,
// all of them together bounded by maxInlineAttachment.
func multipartItemOperations(ctx context.Context, c *call, be ItemFetcher, ops []*wbxml.Element) error {
	resp := wbxml.New(wbxml.ItemOperations, "ItemOperations")
	resp.AddText(wbxml.ItemOperations, "Status", strconv.Itoa(ItemOpsStatusOK))
	out := resp.Add(wbxml.ItemOperations, "Response")
	last := lastAttachmentFetch(ops)
	var (
		parts     [][]byte // parts 1..n held in memory
		budget    = c.s.maxInlineAttachment()
		stream    *streamedPart
		streamOp  *wbxml.Element // the last attachment Fetch, run last
		streamOut *wbxml.Element // its place in the answer
	)
	defer func() {
		if stream != nil {
			stream.rc.Close()
		}
	}()
	for i, op := range ops {
		if op.Space != wbxml.ItemOperations {
			continue
		}
		if len(parts) >= maxMultipartParts {
			return statusError(StatusInvalidContent, http.StatusBadRequest, "too many operations for a multipart answer", nil)
		}
		switch {
		case isAttachmentFetch(op) && i == last:
			streamOp, streamOut = op, out.Add(wbxml.ItemOperations, "Fetch")
		case isAttachmentFetch(op):
			el, props, st, err := openAttachmentFetch(ctx, c, be, op)
			if err != nil {
				return err
			}
			out.Append(el)
			if st.rc == nil {
				continue // a status says why not
			}
			data, err := io.ReadAll(io.LimitReader(st.rc, budget+1))
			st.rc.Close()
			if err != nil {
				return fmt.Errorf("reading attachment: %w", err)
			}
			if int64(len(data)) > budget {
				// Only the last attachment is streamed; this one is refused
				// as the inline form refuses one over its bound.
				el.Children = []*wbxml.Element{
					{Space: wbxml.ItemOperations, Name: "Status", Text: strconv.Itoa(ItemOpsStatusServerError)},
					{Space: wbxml.AirSyncBase, Name: "FileReference", Text: fileReference(op)},
				}
				continue
			}
			budget -= int64(len(data))
			parts = append(parts, data)
			props.AddText(wbxml.ItemOperations, "Part", strconv.Itoa(len(parts)))
		case op.Name == "Fetch":
			el, err := fetchOne(ctx, c, be, op)
			if err != nil {
				return err
			}
			// MS-ASCMD 2.2.3.130: Part replaces Data in airsyncbase:Body.
			body := el.Child(wbxml.ItemOperations, "Properties").Child(wbxml.AirSyncBase, "Body")
			if d := body.Child(wbxml.AirSyncBase, "Data"); d != nil {
				data := d.Opaque
				if !d.IsOpaque {
					data = []byte(d.Text)
				}
				parts = append(parts, data)
				*d = wbxml.Element{Space: wbxml.ItemOperations, Name: "Part", Text: strconv.Itoa(len(parts))}
			}
			out.Append(el)
		default:
			el, err := operation(ctx, c, be, op)
			if err != nil {
				return err
			}
			out.Append(el)
		}
	}
	var streamSize int64
	if streamOp != nil {
		el, props, st, err := openAttachmentFetch(ctx, c, be, streamOp)
		if err != nil {
			return err
		}
		*streamOut = *el
		if st.rc != nil {
			stream, streamSize = st, st.size
			props.AddText(wbxml.ItemOperations, "Part", strconv.Itoa(len(parts)+1))
		}
	}
	doc, err := wbxml.Encode(resp)
	if err != nil {
		return err
	}
	c.trace("response", resp, len(doc))
	head, total := multipartHeader(len(doc), parts, stream != nil, streamSize)
	if total > math.MaxUint32 {
		// Offsets and lengths are 4 bytes.
		return statusError(StatusServerError, http.StatusInternalServerError, fmt.Sprintf("multipart answer of %d bytes", total), nil)
	}
	w := c.w
	w.Header().Set("Content-Type", ContentTypeMultipart)
	w.Header().Set("Content-Length", strconv.FormatInt(total, 10))
	w.WriteHeader(http.StatusOK)
	c.wrote = true
	c.status = ItemOpsStatusOK
	for _, b := range append([][]byte{head, doc}, parts...) {
		if _, err := w.Write(b); err != nil {
			c.log.Info("client went away during the answer", "err", err)
			return nil
		}
	}
	if stream == nil {
		return nil
	}
	// A source shorter than its announced size ends the body short of its
	// Content-Length, which the client's HTTP stack reports.
	n, readErr, writeErr := copyToClient(w, stream.rc, streamSize)
	if readErr == nil && writeErr == nil {
		if k, _ := stream.rc.Read(make([]byte, 1)); k > 0 {
			// The Backend's size was wrong: the device got the announced
			// bytes, the rest is cut; say so for whoever debugs it.
			c.log.Warn("attachment longer than its announced size", "ref", stream.ref, "size", streamSize)
		}
	}
	c.logStreamEnd("attachment", n, readErr, writeErr, "ref", stream.ref, "multipart", true)
	return nil
}

// streamedPart is an attachment opened for a multipart answer.
type streamedPart struct {
	ref  string
	size int64
	rc   io.ReadCloser
}

func fileReference(op *wbxml.Element) string { return op.ChildText(wbxml.AirSyncBase, "FileReference") }

func isAttachmentFetch(op *wbxml.Element) bool {
	return op.Is(wbxml.ItemOperations, "Fetch") && op.Has(wbxml.AirSyncBase, "FileReference")
}

// openAttachmentFetch opens the attachment of a Fetch and returns its
// answer element (Status, FileReference, Properties with ContentType; the
// caller adds Part) with the opened attachment and its exact size. When
// the Backend answers with a command status, the element carries it and
// the returned part has no reader.
func openAttachmentFetch(ctx context.Context, c *call, be ItemFetcher, op *wbxml.Element) (el, props *wbxml.Element, p *streamedPart, err error) {
	ref := op.ChildText(wbxml.AirSyncBase, "FileReference")
	el = wbxml.New(wbxml.ItemOperations, "Fetch")
	p = &streamedPart{ref: ref}
	if store := op.ChildText(wbxml.ItemOperations, "Store"); store != "" && !strings.EqualFold(store, "Mailbox") {
		el.AddText(wbxml.ItemOperations, "Status", strconv.Itoa(ItemOpsStatusUnsupportedStore))
		return el, nil, p, nil
	}
	ctype, size, rc, err := be.OpenAttachment(ctx, c.acct, c.q.DeviceID, ref)
	if err == nil && size <= 0 {
		// The Backend cannot tell the decoded size (an encoded part on a
		// provider without IMAP BINARY): count it, then open it again.
		size, err = io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			return nil, nil, nil, fmt.Errorf("reading attachment: %w", err)
		}
		if size > 0 {
			ctype, _, rc, err = be.OpenAttachment(ctx, c.acct, c.q.DeviceID, ref)
		} else {
			rc = io.NopCloser(eofReader{})
		}
	}
	if err != nil {
		code, ok := commandStatusOf(err)
		if !ok {
			return nil, nil, nil, err
		}
		el.AddText(wbxml.ItemOperations, "Status", strconv.Itoa(code))
		el.AddText(wbxml.AirSyncBase, "FileReference", ref)
		return el, nil, p, nil
	}
	p.rc, p.size = rc, size
	el.AddText(wbxml.ItemOperations, "Status", strconv.Itoa(ItemOpsStatusOK))
	el.AddText(wbxml.AirSyncBase, "FileReference", ref)
	props = el.Add(wbxml.ItemOperations, "Properties")
	props.AddText(wbxml.AirSyncBase, "ContentType", ctype)
	return el, props, p, nil
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// multipartHeader builds PartsCount and the PartMetaData array (MS-ASCMD
// 2.2.1.10.1.1.1) for the WBXML part, the parts held in memory and the
// streamed part if any, and returns it with the total body length.
func multipartHeader(docLen int, parts [][]byte, streamed bool, streamSize int64) ([]byte, int64) {
	sizes := []int64{int64(docLen)}
	for _, p := range parts {
		sizes = append(sizes, int64(len(p)))
	}
	if streamed {
		sizes = append(sizes, streamSize)
	}
	head := binary.LittleEndian.AppendUint32(nil, uint32(len(sizes)))
	off := int64(4 + 8*len(sizes))
	for _, n := range sizes {
		head = binary.LittleEndian.AppendUint32(head, uint32(off))
		head = binary.LittleEndian.AppendUint32(head, uint32(n))
		off += n
	}
	return head, off
}
