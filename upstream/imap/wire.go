package imap

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// The watcher connection (watchconn.go) speaks a few IMAP commands itself
// instead of through go-imap: go-imap has no NOTIFY (RFC 5465) and drops
// the unsolicited STATUS responses NOTIFY is about, and its client holds a
// reader goroutine and 8 KiB of buffers per connection, which at ten
// thousand parked users is most of the bridge's memory. This file is the
// reading half: whole responses with their literals, and the few tokens
// the watcher needs from them.

// Bounds on what a server may send the watcher connection. Anything the
// watcher asks for is small (STATUS, LIST, flag FETCHes); a larger
// response is a broken or hostile server.
const (
	wireReadBuf     = 512     // the reader's buffer, held while idle
	wireMaxResponse = 1 << 20 // one response, literals included
	wireKeepLine    = 4 << 10 // a line buffer larger than this is dropped after use
)

// errResponseTooLong is returned by respReader.next for a response over
// wireMaxResponse.
var errResponseTooLong = errors.New("imap: response too long")

// respReader returns one IMAP response at a time: the line, with any
// literals ({n}CRLF followed by n bytes) kept inline, without the final
// CRLF. It keeps a partial response across read errors, so a read
// deadline used to wake the reader (watchconn.go) loses nothing.
type respReader struct {
	r          io.Reader
	buf        []byte
	start, end int
	line       []byte
	need       int // literal bytes still to copy into line
	// max bounds one response; 0 means wireMaxResponse.
	max int
}

func newRespReader(r io.Reader) *respReader { return &respReader{r: r} }

// buffered reports whether bytes are waiting in the reader: a burst of
// responses is handled whole before its changes are announced.
func (rr *respReader) buffered() bool { return rr.end > rr.start }

func (rr *respReader) limit() int {
	if rr.max > 0 {
		return rr.max
	}
	return wireMaxResponse
}

// next returns the next complete response. The slice is valid until the
// following call.
func (rr *respReader) next() ([]byte, error) {
	if cap(rr.line) > wireKeepLine {
		rr.line = nil // a big response passed; do not keep its buffer
	}
	if rr.line == nil {
		rr.line = make([]byte, 0, 128)
	}
	if rr.buf == nil {
		rr.buf = make([]byte, wireReadBuf)
	}
	for {
		if rr.start == rr.end {
			if err := rr.fill(); err != nil {
				return nil, err
			}
			continue
		}
		avail := rr.buf[rr.start:rr.end]
		if rr.need > 0 {
			n := min(rr.need, len(avail))
			rr.line = append(rr.line, avail[:n]...)
			rr.start += n
			rr.need -= n
			continue
		}
		i := bytes.IndexByte(avail, '\n')
		if i < 0 {
			if len(rr.line)+len(avail) > rr.limit() {
				return nil, errResponseTooLong
			}
			rr.line = append(rr.line, avail...)
			rr.start = rr.end
			continue
		}
		if len(rr.line)+i+1 > rr.limit() {
			return nil, errResponseTooLong
		}
		rr.line = append(rr.line, avail[:i+1]...)
		rr.start += i + 1
		if n, ok := literalAtEnd(rr.line); ok {
			if n > rr.limit()-len(rr.line) {
				return nil, errResponseTooLong
			}
			rr.need = n
			continue
		}
		out := bytes.TrimSuffix(bytes.TrimSuffix(rr.line, []byte("\n")), []byte("\r"))
		rr.line = rr.line[:0]
		return out, nil
	}
}

func (rr *respReader) fill() error {
	rr.start, rr.end = 0, 0
	n, err := rr.r.Read(rr.buf)
	rr.end = n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// literalAtEnd reports whether a line read so far (ending in LF) ends in a
// literal announcement, {n} or {n+} (LITERAL+), and its length.
func literalAtEnd(line []byte) (int, bool) {
	l := bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
	if len(l) < 3 || l[len(l)-1] != '}' {
		return 0, false
	}
	open := bytes.LastIndexByte(l, '{')
	if open < 0 {
		return 0, false
	}
	digits := bytes.TrimSuffix(l[open+1:len(l)-1], []byte("+"))
	if len(digits) == 0 || len(digits) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// tokens walks one response.
type tokens struct {
	b []byte
	i int
}

func (t *tokens) done() bool { return t.i >= len(t.b) }

func (t *tokens) peek() byte {
	if t.done() {
		return 0
	}
	return t.b[t.i]
}

// sp consumes one space.
func (t *tokens) sp() bool {
	if t.peek() == ' ' {
		t.i++
		return true
	}
	return false
}

// special consumes c.
func (t *tokens) special(c byte) bool {
	if t.peek() == c {
		t.i++
		return true
	}
	return false
}

// atom reads atom characters (RFC 3501 ATOM-CHAR, plus ']' outside
// response codes, which callers handle, and '\' for flags).
func (t *tokens) atom() (string, bool) {
	start := t.i
	for !t.done() {
		c := t.b[t.i]
		if c <= ' ' || c >= 0x7f || c == '(' || c == ')' || c == '{' || c == '"' || c == '[' || c == ']' {
			break
		}
		t.i++
	}
	return string(t.b[start:t.i]), t.i > start
}

// number reads a decimal number of up to 20 digits (mod-sequences are
// 63-bit).
func (t *tokens) number() (uint64, bool) {
	start := t.i
	for !t.done() && t.b[t.i] >= '0' && t.b[t.i] <= '9' {
		t.i++
	}
	if t.i == start || t.i-start > 20 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(t.b[start:t.i]), 10, 64)
	return n, err == nil
}

// astring reads an atom, a quoted string or a literal (the reader kept
// literals inline).
func (t *tokens) astring() (string, bool) {
	switch t.peek() {
	case '"':
		t.i++
		var sb strings.Builder
		for !t.done() {
			c := t.b[t.i]
			t.i++
			switch c {
			case '"':
				return sb.String(), true
			case '\\':
				if t.done() {
					return "", false
				}
				sb.WriteByte(t.b[t.i])
				t.i++
			default:
				sb.WriteByte(c)
			}
		}
		return "", false
	case '{':
		end := bytes.Index(t.b[t.i:], []byte("}\r\n"))
		if end < 0 {
			return "", false
		}
		n, ok := literalAtEnd(t.b[t.i : t.i+end+3])
		if !ok {
			return "", false
		}
		t.i += end + 3
		if n > len(t.b)-t.i {
			return "", false
		}
		s := string(t.b[t.i : t.i+n])
		t.i += n
		return s, true
	default:
		start := t.i
		for !t.done() {
			c := t.b[t.i]
			// ASTRING-CHAR: ATOM-CHAR and ']'.
			if c <= ' ' || c >= 0x7f || c == '(' || c == ')' || c == '{' || c == '"' {
				break
			}
			t.i++
		}
		return string(t.b[start:t.i]), t.i > start
	}
}

// rest returns what is left of the response.
func (t *tokens) rest() string {
	s := string(t.b[min(t.i, len(t.b)):])
	t.i = len(t.b)
	return s
}

// response is one parsed server response, as far as the watcher cares.
type response struct {
	tag    string // "" for untagged, "+" for a continuation request
	num    uint64 // for "* n EXISTS" and the like
	kind   string // upper case: OK, NO, BAD, BYE, PREAUTH, EXISTS, EXPUNGE, FETCH, STATUS, LIST, CAPABILITY, ...
	code   string // response code atom, upper case, for OK/NO/BAD/BYE/PREAUTH
	args   string // the code's arguments (CAPABILITY list)
	text   string
	status *mailboxStatus // for STATUS
	raw    string         // for LIST: everything after "LIST "
}

// mailboxStatus is an unsolicited or requested STATUS response. Each
// field is set only when the server sent it (NOTIFY sends only what
// changed).
type mailboxStatus struct {
	Mailbox string // as sent: modified UTF-7 unless UTF8=ACCEPT
	Items   map[string]uint64
}

// parseResponse parses one response from respReader.next.
func parseResponse(line []byte) (response, error) {
	t := &tokens{b: line}
	var r response
	switch {
	case t.special('+'):
		r.tag = "+"
		t.sp()
		r.text = t.rest()
		return r, nil
	case t.special('*'):
	default:
		tag, ok := t.atom()
		if !ok {
			return r, fmt.Errorf("imap: bad response %q", clip(line))
		}
		r.tag = tag
	}
	if !t.sp() {
		return r, fmt.Errorf("imap: bad response %q", clip(line))
	}
	if c := t.peek(); c >= '0' && c <= '9' {
		n, ok := t.number()
		if !ok || !t.sp() {
			return r, fmt.Errorf("imap: bad response %q", clip(line))
		}
		r.num = n
	}
	kind, ok := t.atom()
	if !ok {
		return r, fmt.Errorf("imap: bad response %q", clip(line))
	}
	r.kind = strings.ToUpper(kind)
	switch r.kind {
	case "OK", "NO", "BAD", "BYE", "PREAUTH":
		t.sp()
		if t.special('[') {
			code, _ := t.atom()
			r.code = strings.ToUpper(code)
			if t.sp() {
				end := bytes.IndexByte(t.b[t.i:], ']')
				if end < 0 {
					return r, fmt.Errorf("imap: unterminated response code in %q", clip(line))
				}
				r.args = string(t.b[t.i : t.i+end])
				t.i += end
			}
			if !t.special(']') {
				return r, fmt.Errorf("imap: unterminated response code in %q", clip(line))
			}
			t.sp()
		}
		r.text = t.rest()
	case "CAPABILITY":
		t.sp()
		r.args = t.rest()
	case "STATUS":
		if !t.sp() {
			return r, fmt.Errorf("imap: bad STATUS %q", clip(line))
		}
		st, err := parseStatus(t)
		if err != nil {
			return r, fmt.Errorf("imap: bad STATUS %q: %w", clip(line), err)
		}
		r.status = st
	case "LIST":
		t.sp()
		r.raw = t.rest()
	default:
		r.text = t.rest()
	}
	return r, nil
}

// parseStatus reads `mailbox SP "(" [att SP number *(SP att SP number)] ")"`
// (RFC 9051 mailbox-data STATUS).
func parseStatus(t *tokens) (*mailboxStatus, error) {
	name, ok := t.astring()
	if !ok {
		return nil, errors.New("mailbox name")
	}
	st := &mailboxStatus{Mailbox: name, Items: map[string]uint64{}}
	if !t.sp() || !t.special('(') {
		return nil, errors.New("attribute list")
	}
	for n := 0; !t.special(')'); n++ {
		if n > 0 && !t.sp() {
			return nil, errors.New("attribute list")
		}
		att, ok := t.atom()
		if !ok || !t.sp() {
			return nil, errors.New("attribute")
		}
		v, ok := t.number()
		if !ok {
			return nil, errors.New("attribute value")
		}
		if n >= 16 {
			return nil, errors.New("too many attributes")
		}
		st.Items[strings.ToUpper(att)] = v
	}
	return st, nil
}

// clip shortens a response for an error message.
func clip(b []byte) string {
	const n = 120
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
