package send

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"strings"

	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/textproto"
)

// The send engine edits messages at the level of raw MIME parts: a part
// it does not need to change (an attachment, the device's own text when
// it only sends) is written back byte for byte, transfer encoding
// included. Only the text parts a reply or forward extends are decoded
// and re-encoded.

// Bounds on a message's MIME tree, so hostile input costs little.
const (
	maxMIMEDepth = 16
	maxMIMEParts = 1000
)

// mimePart is one entity: its header and, for a leaf, its body as stored
// (still transfer-encoded); for a multipart, its children.
type mimePart struct {
	hdr       textproto.Header
	body      []byte
	children  []*mimePart
	mediaType string // lower case; "text/plain" when absent
	params    map[string]string
}

func (p *mimePart) isMultipart() bool { return strings.HasPrefix(p.mediaType, "multipart/") }

// splitMessage parses the top-level header and returns the body bytes
// that follow it untouched.
func splitMessage(raw []byte) (textproto.Header, []byte, error) {
	end, sep := headerEnd(raw)
	head := raw
	var body []byte
	if end >= 0 {
		head, body = raw[:end+sep], raw[end+sep:]
	} else {
		head = append(bytes.Clone(raw), "\r\n\r\n"...)
	}
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(head)))
	if err != nil {
		return textproto.Header{}, nil, fmt.Errorf("message header: %w", err)
	}
	return h, body, nil
}

// headerEnd finds the blank line ending the header: the index where it
// starts and the length of the separator, or -1.
func headerEnd(raw []byte) (int, int) {
	if bytes.HasPrefix(raw, []byte("\r\n")) {
		return 0, 2
	}
	if bytes.HasPrefix(raw, []byte("\n")) {
		return 0, 1
	}
	crlf := bytes.Index(raw, []byte("\r\n\r\n"))
	lf := bytes.Index(raw, []byte("\n\n"))
	switch {
	case crlf >= 0 && (lf < 0 || crlf < lf):
		return crlf + 2, 2
	case lf >= 0:
		return lf + 1, 1
	}
	return -1, 0
}

// parseMIME builds the tree of a message. It never fails: what cannot be
// split is kept as an opaque leaf.
func parseMIME(hdr textproto.Header, body []byte) *mimePart {
	n := 0
	return parseEntity(hdr, body, 0, &n)
}

func parseEntity(hdr textproto.Header, body []byte, depth int, count *int) *mimePart {
	*count++
	p := &mimePart{hdr: hdr, body: body, mediaType: "text/plain"}
	if mt, params, err := mime.ParseMediaType(hdr.Get("Content-Type")); err == nil {
		p.mediaType, p.params = strings.ToLower(mt), params
	}
	if !p.isMultipart() || p.params["boundary"] == "" || depth >= maxMIMEDepth {
		return p
	}
	mr := textproto.NewMultipartReader(bytes.NewReader(body), p.params["boundary"])
	var children []*mimePart
	for *count < maxMIMEParts {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return p // malformed: keep the whole multipart as it was
		}
		b, err := io.ReadAll(part)
		if err != nil {
			return p
		}
		children = append(children, parseEntity(part.Header, b, depth+1, count))
	}
	p.children, p.body = children, nil
	return p
}

// writeMIME serialises a tree. Leaves are written as stored.
func writeMIME(w io.Writer, p *mimePart) error {
	if err := textproto.WriteHeader(w, p.hdr); err != nil {
		return err
	}
	if p.children == nil {
		_, err := w.Write(p.body)
		return err
	}
	b := p.params["boundary"]
	for _, c := range p.children {
		if _, err := io.WriteString(w, "--"+b+"\r\n"); err != nil {
			return err
		}
		if err := writeMIME(w, c); err != nil {
			return err
		}
		if _, err := io.WriteString(w, "\r\n"); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, "--"+b+"--\r\n")
	return err
}

// isAttachment reports whether a part is an attachment rather than body
// text: one with an explicit attachment disposition.
func isAttachment(p *mimePart) bool {
	disp, _, _ := mime.ParseMediaType(p.hdr.Get("Content-Disposition"))
	return strings.EqualFold(disp, "attachment")
}

// bodyLeaves finds the first inline text/plain and text/html leaves,
// not descending into attached messages.
func bodyLeaves(root *mimePart) (plain, html *mimePart) {
	var walk func(p *mimePart)
	walk = func(p *mimePart) {
		if plain != nil && html != nil {
			return
		}
		if p.children != nil {
			for _, c := range p.children {
				walk(c)
			}
			return
		}
		if isAttachment(p) || p.isMultipart() {
			return
		}
		switch p.mediaType {
		case "text/plain":
			if plain == nil {
				plain = p
			}
		case "text/html":
			if html == nil {
				html = p
			}
		}
	}
	walk(root)
	return plain, html
}

// decodeText returns a text leaf's content as UTF-8: transfer encoding
// removed and charset converted (unknown charsets pass through).
func decodeText(p *mimePart) string {
	var r io.Reader = bytes.NewReader(p.body)
	switch strings.ToLower(strings.TrimSpace(p.hdr.Get("Content-Transfer-Encoding"))) {
	case "base64":
		clean := bytes.Map(func(r rune) rune {
			if r == '\r' || r == '\n' || r == ' ' || r == '\t' {
				return -1
			}
			return r
		}, p.body)
		r = base64.NewDecoder(base64.RawStdEncoding, bytes.NewReader(bytes.TrimRight(clean, "=")))
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	}
	if cs := p.params["charset"]; cs != "" && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "us-ascii") {
		if cr, err := charset.Reader(cs, r); err == nil {
			r = cr
		}
	}
	b, _ := io.ReadAll(io.LimitReader(r, 32<<20)) // a broken tail still yields the head
	return string(b)
}

// setText replaces a text leaf's content with UTF-8 text, quoted-printable
// encoded. Other header fields of the part (for the root: From, To...)
// stay as they were.
func setText(p *mimePart, mediaType, text string) {
	p.hdr.Del("Content-Transfer-Encoding")
	p.hdr.Set("Content-Type", mime.FormatMediaType(mediaType, map[string]string{"charset": "utf-8"}))
	p.hdr.Set("Content-Transfer-Encoding", "quoted-printable")
	var b bytes.Buffer
	w := quotedprintable.NewWriter(&b)
	_, _ = io.WriteString(w, text)
	_ = w.Close()
	p.body = b.Bytes()
	p.mediaType, p.params = mediaType, map[string]string{"charset": "utf-8"}
}

// contentOnly keeps the Content-* fields of h (what describes an entity,
// as opposed to the message's envelope fields).
func contentOnly(h textproto.Header) textproto.Header {
	out := h.Copy()
	for f := out.Fields(); f.Next(); {
		if !strings.HasPrefix(strings.ToLower(f.Key()), "content-") {
			f.Del()
		}
	}
	return out
}

// withoutContent is the complement of contentOnly.
func withoutContent(h textproto.Header) textproto.Header {
	out := h.Copy()
	for f := out.Fields(); f.Next(); {
		if strings.HasPrefix(strings.ToLower(f.Key()), "content-") {
			f.Del()
		}
	}
	return out
}

// appendAttachments adds parts to the message: into a top-level
// multipart/mixed as more children, or by wrapping the message's content
// in a new multipart/mixed.
func appendAttachments(root *mimePart, parts []*mimePart) *mimePart {
	if len(parts) == 0 {
		return root
	}
	if root.mediaType == "multipart/mixed" && root.children != nil {
		root.children = append(root.children, parts...)
		return root
	}
	inner := &mimePart{hdr: contentOnly(root.hdr), body: root.body, children: root.children,
		mediaType: root.mediaType, params: root.params}
	outer := &mimePart{hdr: withoutContent(root.hdr), mediaType: "multipart/mixed",
		params: map[string]string{"boundary": newBoundary()}}
	outer.hdr.Set("Content-Type", mime.FormatMediaType("multipart/mixed", outer.params))
	if !outer.hdr.Has("MIME-Version") {
		outer.hdr.Set("MIME-Version", "1.0")
	}
	outer.children = append([]*mimePart{inner}, parts...)
	return outer
}

func newBoundary() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return "=_ib_" + hex.EncodeToString(b[:])
}

// attachmentsOf lists the leaves of a message that are not its body
// text: attachments and inline images, attached messages whole. Each
// keeps only its Content-* fields and its stored bytes.
func attachmentsOf(root *mimePart) []*mimePart {
	plain, html := bodyLeaves(root)
	var out []*mimePart
	var walk func(p *mimePart)
	walk = func(p *mimePart) {
		if p.children != nil {
			for _, c := range p.children {
				walk(c)
			}
			return
		}
		if p == plain || p == html || p == root || p.isMultipart() {
			return
		}
		out = append(out, &mimePart{hdr: contentOnly(p.hdr), body: p.body, mediaType: p.mediaType, params: p.params})
	}
	walk(root)
	return out
}
