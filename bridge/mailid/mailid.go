// Package mailid is the form of the IDs the bridge gives mail items and
// their parts: "<folderID>:<UID>" server IDs (DESIGN.md, IDs) and "1.2.3"
// MIME part paths. The mail engine and the send engine both read them.
package mailid

import (
	"strconv"
	"strings"
)

// Item server IDs are "<folderID>:<UID>" (DESIGN.md, IDs): short, opaque to
// the device, and parseable without a lookup.

// Item builds the server ID of a message.
func Item(folderID string, uid uint32) string {
	return folderID + ":" + strconv.FormatUint(uint64(uid), 10)
}

// ParseItem splits a server ID; ok is false for anything that is not
// "<non-empty folder>:<UID 1..2^32-1>".
func ParseItem(id string) (folderID string, uid uint32, ok bool) {
	i := strings.LastIndexByte(id, ':')
	if i <= 0 || i == len(id)-1 {
		return "", 0, false
	}
	n, err := strconv.ParseUint(id[i+1:], 10, 32)
	if err != nil || n == 0 {
		return "", 0, false
	}
	return id[:i], uint32(n), true
}

// ParsePartPath parses "1.2.3" into [1 2 3]; empty or zero parts fail.
func ParsePartPath(s string) ([]int, bool) {
	if s == "" || len(s) > 64 {
		return nil, false
	}
	fields := strings.Split(s, ".")
	out := make([]int, 0, len(fields))
	for _, f := range fields {
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 || n > 10000 {
			return nil, false
		}
		out = append(out, n)
	}
	return out, true
}

// FormatPartPath is the inverse of ParsePartPath.
func FormatPartPath(p []int) string {
	var b strings.Builder
	for i, n := range p {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.Itoa(n))
	}
	return b.String()
}
