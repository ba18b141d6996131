package activesync

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

func itemFetcher(b Backend) bool { _, ok := b.(ItemFetcher); return ok }

// handleItemOperations answers ItemOperations (MS-ASCMD 2.2.1.10): Fetch
// of an item or of an attachment, and EmptyFolderContents. The last
// attachment Fetch of a request is streamed (base64 inside the WBXML, or
// raw in a multipart answer), so a large attachment never sits in memory
// whole; it runs after the other operations, as an open attachment holds
// one of the user's upstream connections until it is read.
func handleItemOperations(ctx context.Context, c *call) (*wbxml.Element, error) {
	be := c.s.Backend.(ItemFetcher)
	ops := c.req.Children
	if c.q.AcceptMultiPart {
		return nil, multipartItemOperations(ctx, c, be, ops)
	}
	last := lastAttachmentFetch(ops)
	resp := wbxml.New(wbxml.ItemOperations, "ItemOperations")
	resp.AddText(wbxml.ItemOperations, "Status", strconv.Itoa(ItemOpsStatusOK))
	out := resp.Add(wbxml.ItemOperations, "Response")
	var slot *wbxml.Element
	for i, op := range ops {
		if op.Space != wbxml.ItemOperations {
			continue
		}
		if i == last {
			slot = out.Add(wbxml.ItemOperations, "Fetch")
			continue
		}
		el, err := operation(ctx, c, be, op)
		if err != nil {
			return nil, err
		}
		out.Append(el)
	}
	if slot != nil {
		return nil, streamAttachmentFetch(ctx, c, be, resp, slot, ops[last])
	}
	return resp, nil
}

// lastAttachmentFetch is the index of the request's last attachment
// Fetch, -1 if none.
func lastAttachmentFetch(ops []*wbxml.Element) int {
	last := -1
	for i, op := range ops {
		if isAttachmentFetch(op) {
			last = i
		}
	}
	return last
}

// operation answers one operation of an ItemOperations request in the
// inline form.
func operation(ctx context.Context, c *call, be ItemFetcher, op *wbxml.Element) (*wbxml.Element, error) {
	switch op.Name {
	case "Fetch":
		return fetchOne(ctx, c, be, op)
	case "EmptyFolderContents":
		id := op.ChildText(wbxml.AirSync, "CollectionId")
		sub := op.Child(wbxml.ItemOperations, "Options").Has(wbxml.ItemOperations, "DeleteSubFolders")
		el := wbxml.New(wbxml.ItemOperations, "EmptyFolderContents")
		st := ItemOpsStatusOK
		if err := be.EmptyFolder(ctx, c.acct, c.q.DeviceID, id, sub); err != nil {
			code, ok := commandStatusOf(err)
			if !ok {
				return nil, err
			}
			st = code
		}
		el.AddText(wbxml.ItemOperations, "Status", strconv.Itoa(st))
		el.AddText(wbxml.AirSync, "CollectionId", id)
		c.log.Info("folder emptied", "collection", id, "status", st)
		return el, nil
	default:
		c.log.Info("item operation not supported", "op", op.Name)
		return unsupportedOperation(op), nil
	}
}

// unsupportedOperation answers an operation the bridge does not offer:
// conversation Move (MS-ASCMD 2.2.3.117.1) and the document library
// operations. A conversation Move must carry MoveAlways (2.2.3.118), which
// asks for the conversation's future mail to be moved too (MS-ASCON
// 2.2.2.8): a standing server-side rule that a bridge in front of a plain
// IMAP provider cannot keep, so moving only today's messages and saying
// Status 1 would be a promise broken by the next reply. (Finding today's
// messages would also mean reading every folder's headers, since
// ConversationId is derived from them, not stored.) Status 156 is "action not supported" (MS-ASCMD
// 2.2.3.177.8); 18 would ask the user for credentials. A Move answer
// carries the ConversationId the request named (2.2.3.35.1: required in
// the response), in the form it came (the id is a byte array, OPAQUE).
func unsupportedOperation(op *wbxml.Element) *wbxml.Element {
	el := wbxml.New(wbxml.ItemOperations, op.Name)
	el.AddText(wbxml.ItemOperations, "Status", strconv.Itoa(ItemOpsStatusActionNotSupported))
	if op.Name == "Move" {
		if id := op.Child(wbxml.ItemOperations, "ConversationId"); id != nil {
			el.Append(&wbxml.Element{Space: id.Space, Name: id.Name, Text: id.Text, Opaque: id.Opaque, IsOpaque: id.IsOpaque})
		}
	}
	return el
}

// fetchOne answers one Fetch with an item's properties or an attachment
// inline (base64), or the status that says why not.
func fetchOne(ctx context.Context, c *call, be ItemFetcher, op *wbxml.Element) (*wbxml.Element, error) {
	el := wbxml.New(wbxml.ItemOperations, "Fetch")
	status := func(code int) *wbxml.Element {
		el.Children = append([]*wbxml.Element{{Space: wbxml.ItemOperations, Name: "Status", Text: strconv.Itoa(code)}}, el.Children...)
		return el
	}
	if store := op.ChildText(wbxml.ItemOperations, "Store"); store != "" && !strings.EqualFold(store, "Mailbox") {
		return status(ItemOpsStatusUnsupportedStore), nil
	}
	opts := SyncOptions{MIMETruncation: -1, Conflict: 1}
	if o := op.Child(wbxml.ItemOperations, "Options"); o != nil {
		opts = parseOptions(o)
	}
	opts.Version = c.ver
	if ref := op.ChildText(wbxml.AirSyncBase, "FileReference"); ref != "" {
		el.AddText(wbxml.AirSyncBase, "FileReference", ref)
		ctype, _, rc, err := be.OpenAttachment(ctx, c.acct, c.q.DeviceID, ref)
		if err != nil {
			if code, ok := commandStatusOf(err); ok {
				return status(code), nil
			}
			return nil, err
		}
		defer rc.Close()
		data, err := io.ReadAll(io.LimitReader(rc, c.s.maxInlineAttachment()+1))
		if err != nil {
			return nil, fmt.Errorf("reading attachment: %w", err)
		}
		if int64(len(data)) > c.s.maxInlineAttachment() {
			return status(ItemOpsStatusServerError), nil
		}
		props := el.Add(wbxml.ItemOperations, "Properties")
		props.AddText(wbxml.AirSyncBase, "ContentType", ctype)
		props.AddText(wbxml.ItemOperations, "Data", base64.StdEncoding.EncodeToString(data))
		return status(ItemOpsStatusOK), nil
	}
	coll := op.ChildText(wbxml.AirSync, "CollectionId")
	sid := op.ChildText(wbxml.AirSync, "ServerId")
	// A Search result is fetched by its LongId instead of CollectionId
	// and ServerId (MS-ASCMD 2.2.3.98.1); the answer names it the same way.
	long := op.ChildText(wbxml.Search, "LongId")
	switch {
	case long != "":
		coll, sid = "", long
		el.AddText(wbxml.Search, "LongId", long)
	case coll == "" || sid == "":
		return status(ItemOpsStatusProtocolError), nil
	default:
		el.AddText(wbxml.AirSync, "CollectionId", coll)
		el.AddText(wbxml.AirSync, "ServerId", sid)
	}
	props, err := be.FetchItem(ctx, c.acct, c.q.DeviceID, coll, sid, opts)
	if err != nil {
		if code, ok := commandStatusOf(err); ok {
			return status(code), nil
		}
		return nil, err
	}
	if opts.Class != "" {
		el.AddText(wbxml.AirSync, "Class", opts.Class)
	} else {
		el.AddText(wbxml.AirSync, "Class", "Email")
	}
	el.Add(wbxml.ItemOperations, "Properties").Append(props.Children...)
	return status(ItemOpsStatusOK), nil
}

// maxInlineAttachment bounds the attachments of a request that are held
// in memory (all but the last, which is streamed without a bound).
func (s *Server) maxInlineAttachment() int64 { return 16 << 20 }

// newDataMarker returns what stands in for the attachment data while the
// surrounding document is encoded; its STR_I is then cut out and replaced
// by the streamed base64 text. It is random per answer, so no content of
// the document (a body, a content type from the message) can forge it.
func newDataMarker() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "\x01" + hex.EncodeToString(b[:]) + "\x01"
}

// streamAttachmentFetch completes resp with the attachment Fetch op in
// slot and writes the WBXML document around a base64 stream of the
// attachment.
func streamAttachmentFetch(ctx context.Context, c *call, be ItemFetcher, resp, slot *wbxml.Element, op *wbxml.Element) error {
	ref := op.ChildText(wbxml.AirSyncBase, "FileReference")
	if store := op.ChildText(wbxml.ItemOperations, "Store"); store != "" && !strings.EqualFold(store, "Mailbox") {
		slot.AddText(wbxml.ItemOperations, "Status", strconv.Itoa(ItemOpsStatusUnsupportedStore))
		c.s.writeWBXML(c, resp)
		c.wrote = true
		return nil
	}
	ctype, _, rc, err := be.OpenAttachment(ctx, c.acct, c.q.DeviceID, ref)
	if err != nil {
		code, ok := commandStatusOf(err)
		if !ok {
			return err
		}
		slot.AddText(wbxml.ItemOperations, "Status", strconv.Itoa(code))
		slot.AddText(wbxml.AirSyncBase, "FileReference", ref)
		c.s.writeWBXML(c, resp)
		c.wrote = true
		c.status = Status(code)
		return nil
	}
	defer rc.Close()
	marker := newDataMarker()
	slot.AddText(wbxml.ItemOperations, "Status", strconv.Itoa(ItemOpsStatusOK))
	slot.AddText(wbxml.AirSyncBase, "FileReference", ref)
	props := slot.Add(wbxml.ItemOperations, "Properties")
	props.AddText(wbxml.AirSyncBase, "ContentType", ctype)
	props.AddText(wbxml.ItemOperations, "Data", marker)
	doc, err := wbxml.Encode(resp)
	if err != nil {
		return err
	}
	c.trace("response", resp, len(doc))
	i := bytes.Index(doc, []byte(marker))
	if i < 0 {
		return errors.New("attachment marker lost in encoding")
	}
	prefix, suffix := doc[:i], doc[i+len(marker):]
	w := c.w
	w.Header().Set("Content-Type", ContentTypeWBXML)
	w.WriteHeader(http.StatusOK)
	c.wrote = true
	if _, err := w.Write(prefix); err != nil {
		c.logStreamEnd("attachment", 0, nil, err, "ref", ref)
		return nil
	}
	cw := &clientWriter{w: w}
	enc := base64.NewEncoder(base64.StdEncoding, cw)
	n, readErr, writeErr := copyToClient(enc, rc, -1)
	if readErr == nil && writeErr == nil {
		if err := enc.Close(); err != nil {
			writeErr = err
		}
	}
	if cw.err != nil {
		readErr, writeErr = nil, cw.err
	}
	if readErr == nil && writeErr == nil {
		if _, err := w.Write(suffix); err != nil {
			writeErr = err
		}
	}
	c.logStreamEnd("attachment", n, readErr, writeErr, "ref", ref)
	return nil
}
