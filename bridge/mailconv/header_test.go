package mailconv

import (
	"testing"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

func TestSplitHeader(t *testing.T) {
	tests := []struct {
		name, in, key, want, body string
		saw                       bool
	}{
		{"folded", "Subject: a\r\n  b\r\n\tc\r\nX: y\r\n\r\nbody", "Subject", "a b c", "body", true},
		{"junk line skipped", "Subject: s\nthis is junk\nTo: t\n\nbody", "To", "t", "body", true},
		{"no header", "just text\n\nmore", "Subject", "", "just text\n\nmore", false},
		{"header only", "Subject: s\n", "Subject", "s", "", true},
		{"part without header", "\nbody", "Content-Type", "", "body", true},
	}
	for _, tc := range tests {
		h, body, saw := splitHeader([]byte(tc.in))
		if h.get(tc.key) != tc.want || string(body) != tc.body || saw != tc.saw {
			t.Errorf("%s: %s=%q body=%q saw=%v", tc.name, tc.key, h.get(tc.key), body, saw)
		}
	}
}

func TestMboxFromLineIgnored(t *testing.T) {
	raw := []byte("From alice@example.org Tue Mar  4 10:15:00 2025\nFrom: alice@example.org\nSubject: mbox\n\nhello\n")
	ad, err := convert(t, raw, testMeta, prefPlain)
	if err != nil {
		t.Fatal(err)
	}
	if ad.ChildText(wbxml.Email, "Subject") != "mbox" || body(ad).ChildText(wbxml.AirSyncBase, "Data") != "hello\n" {
		t.Errorf("mbox message: %q / %q", ad.ChildText(wbxml.Email, "Subject"), body(ad).ChildText(wbxml.AirSyncBase, "Data"))
	}
}
