package mailconv

import (
	"bytes"
	"io"
	"mime"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
	"golang.org/x/text/encoding/charmap"
)

// decodeCharset converts b from the named charset to valid UTF-8 without
// NUL bytes. It never fails: an unknown or broken charset falls back to
// Windows-1252 (a superset of the Latin-1 most unlabeled 8-bit mail is in),
// and undecodable bytes become U+FFFD.
func decodeCharset(b []byte, name string) string {
	name = strings.ToLower(strings.Trim(strings.TrimSpace(name), `"'`))
	switch name {
	case "", "us-ascii", "ascii", "utf-8", "utf8", "unicode-1-1-utf-8", "x-unknown", "unknown-8bit", "default":
		if utf8.Valid(b) {
			return clean(string(b))
		}
		if name == "utf-8" || name == "utf8" {
			return clean(strings.ToValidUTF8(string(b), "\uFFFD"))
		}
		return clean(windows1252(b))
	}
	r, err := charset.Reader(name, bytes.NewReader(b))
	if err != nil || r == nil {
		return clean(windows1252(b))
	}
	out, err := io.ReadAll(r)
	if err != nil && len(out) == 0 {
		return clean(windows1252(b))
	}
	return clean(strings.ToValidUTF8(string(out), "\uFFFD"))
}

// windows1252 decodes b as Windows-1252; it cannot fail.
func windows1252(b []byte) string {
	out, err := charmap.Windows1252.NewDecoder().Bytes(b)
	if err != nil {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(out)
}

// clean removes NUL bytes, which WBXML STR_I cannot carry, and guarantees
// valid UTF-8.
func clean(s string) string {
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}

// lenientCharsetReader is a mime.WordDecoder CharsetReader that never
// fails: unknown charsets read as Windows-1252.
func lenientCharsetReader(name string, input io.Reader) (io.Reader, error) {
	b, err := io.ReadAll(input)
	if err != nil {
		return nil, err
	}
	return strings.NewReader(decodeCharset(b, name)), nil
}

// decodeHeaderText decodes a raw header value: RFC 2047 encoded-words in any
// charset, raw 8-bit UTF-8 (RFC 6532), or raw 8-bit legacy bytes (read as
// Windows-1252). Encoded-words that do not decode are left as written.
func decodeHeaderText(raw string) string {
	if !utf8.ValidString(raw) {
		raw = windows1252([]byte(raw))
	}
	if !strings.Contains(raw, "=?") {
		return clean(raw)
	}
	dec := mime.WordDecoder{CharsetReader: lenientCharsetReader}
	if s, err := dec.DecodeHeader(raw); err == nil {
		return clean(s)
	}
	return clean(decodeWordsOneByOne(&dec, raw))
}

// decodeWordsOneByOne decodes each encoded-word on its own so that one
// broken word does not keep the rest of the header undecoded. Whitespace
// between two decoded words is dropped (RFC 2047 6.2).
func decodeWordsOneByOne(dec *mime.WordDecoder, s string) string {
	var b strings.Builder
	prevDecoded := false
	pendingSpace := ""
	for len(s) > 0 {
		start := strings.Index(s, "=?")
		if start < 0 {
			b.WriteString(pendingSpace)
			b.WriteString(s)
			break
		}
		end := encodedWordEnd(s[start:])
		if end < 0 {
			b.WriteString(pendingSpace)
			b.WriteString(s)
			break
		}
		before := s[:start]
		word := s[start : start+end]
		s = s[start+end:]
		decoded, err := dec.Decode(word)
		if err != nil {
			b.WriteString(pendingSpace)
			b.WriteString(before)
			b.WriteString(word)
			pendingSpace, prevDecoded = "", false
			continue
		}
		if prevDecoded && strings.TrimSpace(pendingSpace+before) == "" {
			// adjacent encoded-words: separating whitespace is not text
		} else {
			b.WriteString(pendingSpace)
			b.WriteString(before)
		}
		b.WriteString(decoded)
		pendingSpace, prevDecoded = "", true
	}
	return b.String()
}

// encodedWordEnd returns the length of the encoded-word at the start of s
// ("=?charset?enc?text?="), or -1.
func encodedWordEnd(s string) int {
	// skip "=?" then charset '?' enc '?' text '?='
	q := 0
	for i := 2; i < len(s); i++ {
		switch s[i] {
		case '?':
			q++
			if q == 3 && i+1 < len(s) && s[i+1] == '=' {
				return i + 2
			}
			if q >= 3 {
				return -1
			}
		case ' ', '\t', '\r', '\n':
			return -1
		}
	}
	return -1
}
