package mailconv

import (
	"bytes"
	"strings"
)

// headerField is one unfolded header line.
type headerField struct {
	key   string // as written
	value string // unfolded, raw bytes (may be 8-bit), surrounding space trimmed
}

// header is a parsed header block, in order. It is our own lenient type
// because textproto.ReadHeader rejects lines without a colon, which broken
// mailers do emit; here such lines are skipped.
type header []headerField

// get returns the first value of key (case-insensitive), "" if absent.
func (h header) get(key string) string {
	for _, f := range h {
		if strings.EqualFold(f.key, key) {
			return f.value
		}
	}
	return ""
}

// splitHeader separates the header block of an entity from its body. The
// header ends at the first empty line; an entity with no empty line is all
// header when its first line looks like a header field, else all body (a
// MIME part may legally have no header at all: RFC 2046 5.1.1).
func splitHeader(data []byte) (hdr header, body []byte, sawField bool) {
	rest := data
	var lines [][]byte
	for len(rest) > 0 {
		line, next := cutLine(rest)
		trimmed := bytes.TrimRight(line, "\r\n")
		if len(trimmed) == 0 {
			return parseHeaderLines(lines), next, true
		}
		if len(lines) == 0 && !looksLikeField(trimmed) && trimmed[0] != ' ' && trimmed[0] != '\t' {
			// First line is not a header field: no header, all body.
			return nil, data, false
		}
		lines = append(lines, trimmed)
		rest = next
	}
	return parseHeaderLines(lines), nil, len(lines) > 0
}

// cutLine returns the first line of b including its line ending, and the rest.
func cutLine(b []byte) (line, rest []byte) {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i+1], b[i+1:]
	}
	return b, nil
}

// looksLikeField reports whether line starts with "name:" where name is
// printable ASCII without spaces (RFC 5322 2.2 field-name).
func looksLikeField(line []byte) bool {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return false
	}
	for _, c := range line[:i] {
		if c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

// parseHeaderLines unfolds continuation lines and drops lines that are not
// fields.
func parseHeaderLines(lines [][]byte) header {
	var h header
	var folded []string // pieces of the field being unfolded; joined once
	flush := func() {
		if len(h) > 0 && len(folded) > 0 {
			last := &h[len(h)-1]
			last.value = strings.TrimSpace(last.value + " " + strings.Join(folded, " "))
		}
		folded = folded[:0]
	}
	for _, l := range lines {
		if l[0] == ' ' || l[0] == '\t' {
			if len(h) > 0 {
				folded = append(folded, strings.TrimSpace(string(l)))
			}
			continue
		}
		flush()
		if !looksLikeField(l) {
			continue
		}
		i := bytes.IndexByte(l, ':')
		h = append(h, headerField{key: string(l[:i]), value: strings.TrimSpace(string(l[i+1:]))})
	}
	flush()
	return h
}
