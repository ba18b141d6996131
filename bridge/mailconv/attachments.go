package mailconv

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"strconv"
	"strings"

	"github.com/idlebridge/idlebridge/activesync/items"
)

// Attachment describes one attachment (also used by ItemOperations and
// GetAttachment to find and stream a part).
type Attachment struct {
	FileReference string // "<serverID>:<part path>"
	PartPath      string // IMAP section, e.g. "2.1"
	DisplayName   string
	ContentType   string
	ContentID     string // without angle brackets
	EstimatedSize int64  // decoded size, estimated from the encoded size
	Method        int    // MS-ASAIRS 2.2.2.31: 1 normal, 5 embedded message
	Inline        bool
}

// Attachment methods used (MS-ASAIRS 2.2.2.31).
const (
	MethodNormal   = 1
	MethodEmbedded = 5
)

// Attachments lists the attachments of raw as the Email item shows them.
// It never fails on a broken message; the error is reserved for callers
// that want to tell "no attachments" from "could not read".
func Attachments(raw []byte, serverID string) ([]Attachment, error) {
	t := parseTree(raw)
	return attachmentsOf(analyze(t), serverID), nil
}

func attachmentsOf(c *content, serverID string) []Attachment {
	out := make([]Attachment, 0, len(c.attachments))
	for _, e := range c.attachments {
		out = append(out, describe(e, serverID))
	}
	return out
}

// describe builds the Attachment for one entity.
func describe(e *entity, serverID string) Attachment {
	a := Attachment{
		FileReference: serverID + ":" + e.path,
		PartPath:      e.path,
		ContentType:   e.mediaType,
		ContentID:     strings.Trim(strings.TrimSpace(e.hdr.get("Content-ID")), "<>"),
		EstimatedSize: estimateDecodedSize(e),
		Method:        MethodNormal,
	}
	disp, dparams := parseValueParams(e.hdr.get("Content-Disposition"))
	a.Inline = disp == "inline" || (disp == "" && a.ContentID != "" && e.parentMulti == "multipart/related")
	name := dparams["filename"]
	if name == "" {
		name = e.params["name"]
	}
	// Many mailers put RFC 2047 encoded-words inside the quoted parameter.
	name = strings.TrimSpace(decodeHeaderText(name))
	if e.isMessage() {
		a.Method = MethodEmbedded
		if name == "" && e.encap != nil {
			name = decodeHeaderText(e.encap.hdr.get("Subject"))
		}
		if name == "" {
			name = "message"
		}
		// MS-ASAIRS 2.2.2.31: an embedded message has an .eml file name.
		if !strings.HasSuffix(strings.ToLower(name), ".eml") {
			name += ".eml"
		}
	}
	if name == "" {
		name = "attachment-" + e.path + extensionFor(e.mediaType)
	}
	a.DisplayName = sanitizeFileName(name)
	return a
}

// sanitizeFileName drops path components and control characters a sender
// may have put in a file name.
func sanitizeFileName(s string) string {
	if i := strings.LastIndexAny(s, `/\`); i >= 0 && i < len(s)-1 {
		s = s[i+1:]
	}
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	return clean(s)
}

// extensionFor returns a file extension for a media type, "" if unknown.
func extensionFor(mediaType string) string {
	switch mediaType {
	case "text/plain":
		return ".txt"
	case "text/html":
		return ".html"
	case "text/calendar":
		return ".ics"
	}
	if exts, err := mime.ExtensionsByType(mediaType); err == nil && len(exts) > 0 {
		return exts[0]
	}
	return ""
}

// estimateDecodedSize estimates the size of an entity's content after
// transfer decoding without decoding it: base64 carries 3 bytes per 4
// alphabet characters; quoted-printable and others are close to their
// encoded length.
func estimateDecodedSize(e *entity) int64 {
	if strings.EqualFold(strings.TrimSpace(e.hdr.get("Content-Transfer-Encoding")), "base64") {
		n := 0
		for _, c := range e.body {
			if isBase64Char(c) {
				n++
			}
		}
		return int64(n) * 3 / 4
	}
	return int64(len(e.body))
}

// attachmentItems is AirSyncBase:Attachments (MS-ASAIRS 2.2.2.7/2.2.2.8).
func attachmentItems(atts []Attachment) []items.Attachment {
	if len(atts) == 0 {
		return nil
	}
	out := make([]items.Attachment, len(atts))
	for i, a := range atts {
		out[i] = items.Attachment{DisplayName: a.DisplayName, FileReference: a.FileReference, Method: a.Method,
			EstimatedDataSize: a.EstimatedSize, ContentID: a.ContentID, IsInline: a.Inline}
	}
	return out
}

// ParseFileReference splits "7:1042:2.1" into serverID "7:1042" and part
// path "2.1" (MIME part numbering as IMAP BODY[2.1]).
func ParseFileReference(ref string) (serverID, partPath string, ok bool) {
	i := strings.LastIndexByte(ref, ':')
	if i <= 0 || i == len(ref)-1 {
		return "", "", false
	}
	serverID, partPath = ref[:i], ref[i+1:]
	if !validPartPath(partPath) {
		return "", "", false
	}
	return serverID, partPath, true
}

// validPartPath reports whether p is dot-separated positive numbers.
func validPartPath(p string) bool {
	if p == "" || len(p) > 200 {
		return false
	}
	for _, seg := range strings.Split(p, ".") {
		n, err := strconv.Atoi(seg)
		if err != nil || n <= 0 || seg[0] == '0' {
			return false
		}
	}
	return true
}

// OpenPart returns the content of a MIME part of raw by part path with the
// transfer encoding removed (no charset conversion: attachments are bytes).
// Base64 content is decoded while it is read. For a message/rfc822 part the
// reader yields the attached message as an .eml.
func OpenPart(raw []byte, partPath string) (io.Reader, Attachment, error) {
	if !validPartPath(partPath) {
		return nil, Attachment{}, fmt.Errorf("open part %q: %w", partPath, ErrPartNotFound)
	}
	t := parseTree(raw)
	e := t.find(partPath)
	if e == nil {
		return nil, Attachment{}, fmt.Errorf("open part %q: %w", partPath, ErrPartNotFound)
	}
	a := describe(e, "")
	a.FileReference = ""
	if e.isMultipart() {
		return bytes.NewReader(e.body), a, nil
	}
	return transferDecoder(e.hdr.get("Content-Transfer-Encoding"), e.body), a, nil
}
