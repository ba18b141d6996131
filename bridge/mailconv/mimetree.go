package mailconv

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// Limits that keep hostile input from costing unbounded time or memory.
const (
	maxDepth = 20  // nesting of multiparts and message/rfc822
	maxParts = 500 // entities in one message
)

// entity is one node of a message's MIME tree.
type entity struct {
	path        string // IMAP section (RFC 3501 6.4.5): "1", "2.1"; "" for a multipart message root
	hdr         header
	mediaType   string            // lower-case type/subtype, defaulted per RFC 2045 5.2 / RFC 2046 5.1.5
	params      map[string]string // Content-Type parameters
	body        []byte            // body as it appears in raw, still transfer-encoded
	children    []*entity         // parts of a multipart
	encap       *entity           // the message inside a message/rfc822 part
	partOfAlt   bool              // direct child of multipart/alternative
	parentMulti string            // media type of the parent multipart, "" at the root
}

func (e *entity) isMultipart() bool { return strings.HasPrefix(e.mediaType, "multipart/") }

func (e *entity) isMessage() bool {
	return e.mediaType == "message/rfc822" || e.mediaType == "message/global"
}

// tree is a parsed message plus what went wrong while parsing it.
type tree struct {
	root     *entity
	count    int
	problems []string
	sawField bool // the top-level header had at least one field
}

func (t *tree) problem(format string, args ...any) {
	if len(t.problems) < 20 {
		t.problems = append(t.problems, fmt.Sprintf(format, args...))
	}
}

// parseTree parses raw into a MIME tree. It never fails; problems are
// recorded in tree.problems.
func parseTree(raw []byte) *tree {
	t := &tree{}
	// An mbox "From " separator line is not part of the message; some
	// servers and tools leave it in.
	if bytes.HasPrefix(raw, []byte("From ")) {
		_, raw = cutLine(raw)
	}
	hdr, body, saw := splitHeader(raw)
	t.sawField = saw && len(hdr) > 0
	t.root = t.parseEntity(hdr, body, "", true, "", 0)
	return t
}

// parseEntity builds the node for one entity. msgRoot says the entity is the
// top of a message (the whole message or the inside of a message/rfc822):
// a non-multipart message root is numbered base+".1" by IMAP.
func (t *tree) parseEntity(hdr header, body []byte, base string, msgRoot bool, parentMulti string, depth int) *entity {
	t.count++
	e := &entity{hdr: hdr, body: body, parentMulti: parentMulti}
	ct := hdr.get("Content-Type")
	e.mediaType, e.params = parseValueParams(ct)
	if ct == "" || !strings.Contains(e.mediaType, "/") {
		if ct != "" {
			t.problem("bad Content-Type %q", truncateForLog(ct))
		}
		// RFC 2046 5.1.5: parts of multipart/digest default to message/rfc822.
		if parentMulti == "multipart/digest" {
			e.mediaType = "message/rfc822"
		} else {
			e.mediaType = "text/plain"
		}
	}
	e.path = base
	if msgRoot && !e.isMultipart() {
		e.path = joinPath(base, "1")
	}
	if depth >= maxDepth || t.count >= maxParts {
		if e.isMultipart() || e.isMessage() {
			t.problem("MIME nesting or part count limit reached at %q", e.path)
		}
		return e
	}
	switch {
	case e.isMultipart():
		t.splitMultipart(e, depth)
	case e.isMessage():
		inner := decodeTransfer(hdr.get("Content-Transfer-Encoding"), body)
		ih, ib, _ := splitHeader(inner)
		e.encap = t.parseEntity(ih, ib, e.path, true, "", depth+1)
	}
	return e
}

// splitMultipart finds the parts of a multipart entity. A missing boundary
// parameter is guessed from the first "--" line; a missing close delimiter
// ends the last part at the end of the data.
func (t *tree) splitMultipart(e *entity, depth int) {
	boundary := e.params["boundary"]
	if boundary == "" {
		boundary = guessBoundary(e.body)
		if boundary == "" {
			t.problem("multipart without boundary at %q; treated as text", e.path)
			e.mediaType = "text/plain"
			if e.path == "" {
				e.path = "1"
			}
			return
		}
		t.problem("multipart without boundary at %q; guessed %q", e.path, truncateForLog(boundary))
	}
	parts, closed := splitParts(e.body, boundary)
	if !closed {
		t.problem("multipart at %q has no close delimiter", e.path)
	}
	if len(parts) == 0 {
		t.problem("multipart at %q has no parts", e.path)
	}
	for i, p := range parts {
		if t.count >= maxParts {
			t.problem("part count limit reached")
			break
		}
		ph, pb, _ := splitHeader(p)
		c := t.parseEntity(ph, pb, joinPath(e.path, strconv.Itoa(i+1)), false, e.mediaType, depth+1)
		c.partOfAlt = e.mediaType == "multipart/alternative"
		e.children = append(e.children, c)
	}
}

// splitParts returns the bodies between boundary delimiter lines (RFC 2046
// 5.1.1) and whether the close delimiter was seen. The CRLF before a
// delimiter belongs to the delimiter, not to the part.
func splitParts(body []byte, boundary string) (parts [][]byte, closed bool) {
	delim := []byte("--" + boundary)
	start := -1 // start of the current part, -1 while in the preamble
	pos := 0
	for pos <= len(body) {
		i := bytes.Index(body[pos:], delim)
		if i < 0 {
			break
		}
		at := pos + i
		if at > 0 && body[at-1] != '\n' {
			pos = at + len(delim)
			continue
		}
		line, _ := cutLine(body[at:])
		after := bytes.TrimRight(line[len(delim):], " \t\r\n")
		isClose := bytes.HasPrefix(after, []byte("--"))
		if len(after) > 0 && !isClose {
			// "--boundaryX": a longer string that merely starts with the boundary.
			pos = at + len(delim)
			continue
		}
		if start >= 0 {
			end := at
			if end > start && body[end-1] == '\n' {
				end--
				if end > start && body[end-1] == '\r' {
					end--
				}
			}
			parts = append(parts, body[start:end])
		}
		if isClose {
			return parts, true
		}
		start = at + len(line)
		pos = start
		if len(parts) >= maxParts {
			return parts, false
		}
	}
	if start >= 0 && start <= len(body) {
		parts = append(parts, body[start:])
	}
	return parts, false
}

// guessBoundary returns the boundary of the first line that looks like a
// delimiter ("--" followed by at least one more character).
func guessBoundary(body []byte) string {
	rest := body
	for len(rest) > 0 {
		line, next := cutLine(rest)
		rest = next
		l := bytes.TrimRight(line, " \t\r\n")
		if len(l) > 2 && l[0] == '-' && l[1] == '-' && len(l) <= 72 {
			b := string(l[2:])
			return strings.TrimSuffix(b, "--")
		}
	}
	return ""
}

func joinPath(base, n string) string {
	if base == "" {
		return n
	}
	return base + "." + n
}

// walk visits e and its descendants depth-first, the outer node first;
// it descends into message/rfc822 only when intoMessages is set.
func (e *entity) walk(intoMessages bool, visit func(*entity) bool) bool {
	if !visit(e) {
		return false
	}
	for _, c := range e.children {
		if !c.walk(intoMessages, visit) {
			return false
		}
	}
	if intoMessages && e.encap != nil {
		return e.encap.walk(intoMessages, visit)
	}
	return true
}

// find returns the entity with that IMAP section path, or nil.
func (t *tree) find(path string) *entity {
	var found *entity
	t.root.walk(true, func(e *entity) bool {
		if e.path == path {
			found = e
			return false
		}
		return true
	})
	return found
}

func truncateForLog(s string) string {
	if len(s) > 60 {
		return truncateUTF8(s, 60) + "…"
	}
	return s
}
