package mailconv

import (
	"strings"
	"unicode/utf8"
)

// truncateUTF8 cuts s to at most n bytes without splitting a UTF-8
// sequence (MS-ASAIRS TruncationSize counts bytes).
func truncateUTF8(s string, n int) string {
	if n >= len(s) {
		return s
	}
	if n <= 0 {
		return ""
	}
	cut := n
	// Back up at most 3 bytes to the start of the rune straddling the cut.
	for i := 0; i < utf8.UTFMax-1 && cut > 0 && !utf8.RuneStart(s[cut]); i++ {
		cut--
	}
	if !utf8.RuneStart(s[cut]) {
		cut = n // not UTF-8 here (raw MIME bytes): a plain byte cut is all we can do
	}
	return s[:cut]
}

// maxPreview is the largest AirSyncBase:Preview the spec allows
// (MS-ASAIRS 2.2.2.35.4: 0..255 characters).
const maxPreview = 255

// preview returns the first n characters of text with whitespace collapsed.
func preview(text string, n int) string {
	if n <= 0 {
		return ""
	}
	n = min(n, maxPreview)
	var b strings.Builder
	count := 0
	for _, f := range strings.Fields(text) {
		for _, r := range f {
			if count >= n {
				return strings.TrimRight(b.String(), " ")
			}
			b.WriteRune(r)
			count++
		}
		if count >= n {
			break
		}
		b.WriteByte(' ')
		count++
	}
	return strings.TrimRight(b.String(), " ")
}
