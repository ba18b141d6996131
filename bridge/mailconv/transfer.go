package mailconv

import (
	"bytes"
	"encoding/base64"
	"io"
	"strings"
)

// transferDecoder returns a reader that removes the Content-Transfer-Encoding
// from body. Base64 is decoded as a stream (attachments can be large);
// quoted-printable is decoded leniently in memory (QP parts are text, and
// mime/quotedprintable stops at the first stray control byte).
// Unknown encodings pass through unchanged.
func transferDecoder(cte string, body []byte) io.Reader {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		return base64.NewDecoder(base64.RawStdEncoding, &base64Filter{r: bytes.NewReader(body)})
	case "quoted-printable":
		return bytes.NewReader(decodeQP(body))
	default:
		return bytes.NewReader(body)
	}
}

// decodeTransfer is transferDecoder read to the end; a decoding error keeps
// what was decoded before it.
func decodeTransfer(cte string, body []byte) []byte {
	out, _ := io.ReadAll(transferDecoder(cte, body))
	return out
}

// base64Filter drops every byte outside the base64 alphabet, padding
// included, so line breaks, stray spaces and junk after the data do not
// stop decoding (RFC 2045 6.8: such characters must be ignored).
type base64Filter struct{ r io.Reader }

func (f *base64Filter) Read(p []byte) (int, error) {
	for {
		n, err := f.r.Read(p)
		k := 0
		for _, c := range p[:n] {
			if isBase64Char(c) {
				p[k] = c
				k++
			}
		}
		if k > 0 || err != nil {
			if err == io.EOF && k > 0 {
				err = nil
			}
			return k, err
		}
	}
}

func isBase64Char(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/'
}

// decodeQP decodes quoted-printable, keeping malformed escapes literally.
func decodeQP(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for len(b) > 0 {
		line, rest := cutLine(b)
		b = rest
		content := bytes.TrimRight(line, "\r\n")
		eol := line[len(content):]
		// RFC 2045 6.7 (3): trailing whitespace is not data.
		content = bytes.TrimRight(content, " \t")
		soft := false
		if bytes.HasSuffix(content, []byte("=")) {
			soft = true
			content = content[:len(content)-1]
		}
		for i := 0; i < len(content); i++ {
			c := content[i]
			if c == '=' && i+2 < len(content) && isHex(content[i+1]) && isHex(content[i+2]) {
				out = append(out, unhex(content[i+1])<<4|unhex(content[i+2]))
				i += 2
				continue
			}
			out = append(out, c)
		}
		if !soft {
			out = append(out, eol...)
		}
	}
	return out
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
