package send

import (
	"bytes"
	"encoding/base64"
	"mime/quotedprintable"
	"strings"
)

// maxLineOctets is the longest line SMTP carries (RFC 5321 4.5.3.1.6:
// 1000 octets with the CRLF). Phones compose HTML mail as one line of
// several kilobytes under Content-Transfer-Encoding 8bit; sent as it is,
// the submission server refuses the message (500 line too long) and the
// user's mail is not sent. Such parts are re-encoded before submission:
// text as quoted-printable, anything else as base64, both of which keep
// lines short and carry the same content.
const maxLineOctets = 998

// hasLongLine reports whether b has a line longer than maxLineOctets
// (the line break not counted).
func hasLongLine(b []byte) bool {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		line := b
		if i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if len(bytes.TrimSuffix(line, []byte("\r"))) > maxLineOctets {
			return true
		}
	}
	return false
}

// fitLines re-encodes every leaf of the tree that has a line too long for
// SMTP and reports whether it changed any. Leaves already short are left
// byte for byte; message/* parts cannot take a transfer encoding other
// than 7bit/8bit/binary (RFC 2046 5.2.1) and are left too.
func fitLines(p *mimePart) bool {
	if p.children != nil {
		changed := false
		for _, c := range p.children {
			changed = fitLines(c) || changed
		}
		return changed
	}
	if !hasLongLine(p.body) || strings.HasPrefix(p.mediaType, "message/") || p.isMultipart() {
		return false
	}
	content, ok := decodeTransfer(p.hdr.Get("Content-Transfer-Encoding"), p.body)
	if !ok {
		return false
	}
	var b bytes.Buffer
	if strings.HasPrefix(p.mediaType, "text/") {
		w := quotedprintable.NewWriter(&b)
		_, _ = w.Write(content)
		_ = w.Close()
		p.hdr.Set("Content-Transfer-Encoding", "quoted-printable")
	} else {
		s := base64.StdEncoding.EncodeToString(content)
		for len(s) > 76 {
			b.WriteString(s[:76] + "\r\n")
			s = s[76:]
		}
		b.WriteString(s + "\r\n")
		p.hdr.Set("Content-Transfer-Encoding", "base64")
	}
	p.body = b.Bytes()
	return true
}

// decodeTransfer undoes a part's transfer encoding; ok is false when the
// body does not decode (it is then left as the device sent it).
func decodeTransfer(cte string, body []byte) ([]byte, bool) {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		clean := bytes.Map(func(r rune) rune {
			if r == '\r' || r == '\n' || r == ' ' || r == '\t' {
				return -1
			}
			return r
		}, body)
		out, err := base64.StdEncoding.DecodeString(string(clean))
		return out, err == nil
	case "quoted-printable":
		var out bytes.Buffer
		if _, err := out.ReadFrom(quotedprintable.NewReader(bytes.NewReader(body))); err != nil {
			return nil, false
		}
		return out.Bytes(), true
	}
	return body, true // 7bit, 8bit, binary, absent: the bytes are the content
}
