package imap

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestRespReaderLiteralsAndSplits(t *testing.T) {
	in := "* STATUS {8}\r\nCaf&AOk- (MESSAGES 3 UIDNEXT 9)\r\n" +
		"* 4 EXISTS\r\n" +
		"w1 OK [CAPABILITY IMAP4rev1 NOTIFY IDLE] Logged in\r\n" +
		"* LIST (\\HasNoChildren) \"/\" \"Sent\"\r\n"
	// One byte per Read: every boundary falls inside a token once.
	rr := newRespReader(iotest.OneByteReader(strings.NewReader(in)))
	var got []response
	for {
		line, err := rr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("next: %v", err)
		}
		r, err := parseResponse(line)
		if err != nil {
			t.Fatalf("parse %q: %v", line, err)
		}
		got = append(got, r)
	}
	if len(got) != 4 {
		t.Fatalf("got %d responses, want 4: %+v", len(got), got)
	}
	if st := got[0].status; st == nil || st.Mailbox != "Caf&AOk-" || st.Items["MESSAGES"] != 3 || st.Items["UIDNEXT"] != 9 {
		t.Errorf("STATUS with a literal name = %+v", got[0].status)
	}
	if got[1].kind != "EXISTS" || got[1].num != 4 {
		t.Errorf("EXISTS = %+v", got[1])
	}
	if got[2].tag != "w1" || got[2].kind != "OK" || got[2].code != "CAPABILITY" || !strings.Contains(got[2].args, "NOTIFY") || got[2].text != "Logged in" {
		t.Errorf("tagged OK = %+v", got[2])
	}
	if got[3].kind != "LIST" || got[3].raw != `(\HasNoChildren) "/" "Sent"` {
		t.Errorf("LIST = %+v", got[3])
	}
}

// A read that times out half way through a response loses nothing.
type stutterReader struct {
	chunks []string
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func (s *stutterReader) Read(p []byte) (int, error) {
	if len(s.chunks) == 0 {
		return 0, io.EOF
	}
	c := s.chunks[0]
	s.chunks = s.chunks[1:]
	if c == "" {
		return 0, timeoutErr{}
	}
	return copy(p, c), nil
}

func TestRespReaderKeepsPartialAcrossTimeouts(t *testing.T) {
	rr := newRespReader(&stutterReader{chunks: []string{"* STATUS \"Se", "", "nt\" (MESS", "", "AGES 2)\r\n"}})
	var line []byte
	var err error
	for range 5 {
		if line, err = rr.next(); err == nil {
			break
		}
		if !isTimeout(err) {
			t.Fatalf("next: %v", err)
		}
	}
	if string(line) != `* STATUS "Sent" (MESSAGES 2)` {
		t.Fatalf("line = %q", line)
	}
}

func TestRespReaderBounds(t *testing.T) {
	rr := newRespReader(strings.NewReader("* STATUS {999999999}\r\n"))
	rr.max = 1024
	if _, err := rr.next(); !errors.Is(err, errResponseTooLong) {
		t.Fatalf("huge literal: err = %v, want errResponseTooLong", err)
	}
	rr = newRespReader(strings.NewReader(strings.Repeat("x", 5000)))
	rr.max = 1024
	if _, err := rr.next(); !errors.Is(err, errResponseTooLong) {
		t.Fatalf("endless line: err = %v, want errResponseTooLong", err)
	}
}

func TestParseResponseRejects(t *testing.T) {
	for _, in := range []string{"", "*", "* ", "* STATUS", "* STATUS x (MESSAGES)", "* STATUS x (MESSAGES 1", "w1 OK [CODE", "* STATUS {5}\r\nab"} {
		if _, err := parseResponse([]byte(in)); err == nil {
			t.Errorf("parseResponse(%q) = nil error", in)
		}
	}
}

func TestMUTF7(t *testing.T) {
	for utf8, wire := range map[string]string{
		"INBOX":           "INBOX",
		"Café & Co":       "Caf&AOk- &- Co",
		"台北/日本語":          "&U,BTFw-/&ZeVnLIqe-",
		"~peter/mail/日本語": "~peter/mail/&ZeVnLIqe-",
		"😀":               "&2D3eAA-",
	} {
		if got := encodeMUTF7(utf8); got != wire {
			t.Errorf("encode(%q) = %q, want %q", utf8, got, wire)
		}
		got, err := decodeMUTF7(wire)
		if err != nil || got != utf8 {
			t.Errorf("decode(%q) = %q, %v; want %q", wire, got, err, utf8)
		}
	}
	for _, bad := range []string{"&", "&AOk", "&A-", "a\x00b", "&2D0-"} {
		if _, err := decodeMUTF7(bad); err == nil {
			t.Errorf("decode(%q) = nil error", bad)
		}
	}
}

// FuzzWatchResponses feeds server bytes to the watcher connection's
// reader and parser: no panic, bounded output, and a STATUS that parses
// names a mailbox.
func FuzzWatchResponses(f *testing.F) {
	f.Add([]byte("* STATUS {3}\r\nabc (MESSAGES 1)\r\n* 3 EXISTS\r\nw1 OK [CAPABILITY IMAP4rev1] x\r\n"))
	f.Add([]byte("* OK [NOTIFICATIONOVERFLOW] too many\r\n+ idling\r\n* LIST () \"/\" {2+}\r\nab\r\n"))
	f.Add([]byte("* STATUS \"a\\\"b\" (UIDNEXT 18446744073709551615 HIGHESTMODSEQ 9)\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		rr := newRespReader(bytes.NewReader(in))
		rr.max = 4096
		for range 64 {
			line, err := rr.next()
			if err != nil {
				return
			}
			if len(line) > rr.max {
				t.Fatalf("response of %d bytes over the bound %d", len(line), rr.max)
			}
			r, err := parseResponse(line)
			if err == nil && r.kind == "STATUS" && r.status == nil {
				t.Fatal("STATUS without its data")
			}
		}
	})
}

// FuzzMUTF7 checks that decoding never panics and that encoding valid
// UTF-8 round-trips.
func FuzzMUTF7(f *testing.F) {
	f.Add("Caf&AOk- &- Co")
	f.Add("&2D3eAA-")
	f.Fuzz(func(t *testing.T, s string) {
		if dec, err := decodeMUTF7(s); err == nil {
			if _, err := decodeMUTF7(encodeMUTF7(dec)); err != nil {
				t.Fatalf("re-encoding %q: %v", dec, err)
			}
		}
		if !strings.ContainsRune(s, 0xfffd) && strings.ToValidUTF8(s, "") == s {
			back, err := decodeMUTF7(encodeMUTF7(s))
			if err != nil || back != s {
				t.Fatalf("round trip %q → %q → %q, %v", s, encodeMUTF7(s), back, err)
			}
		}
	})
}
