package mailconv

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestAttachmentsAndOpenPart(t *testing.T) {
	raw := readEML(t, "attachments.eml")
	atts, err := Attachments(raw, "7:1042")
	if err != nil {
		t.Fatal(err)
	}
	png := bytes.Repeat(func() []byte {
		b := make([]byte, 256)
		for i := range b {
			b[i] = byte(i)
		}
		return b
	}(), 4)
	pdf := bytes.Repeat([]byte("%PDF-1.4 fake pdf content\n"), 10)
	tests := []struct {
		path        string
		name        string
		contentType string
		method      int
		inline      bool
		want        []byte // exact decoded content, or nil
		prefix      string // else the content starts with this
	}{
		{"1.2", "attachment-1.2.png", "image/png", MethodNormal, true, png, ""},
		{"2", "Grüße €.pdf", "application/pdf", MethodNormal, false, pdf, ""},
		{"3", "résumé.txt", "text/plain", MethodNormal, false, []byte("plain attachment text"), ""},
		{"4", "Forwarded original.eml", "message/rfc822", MethodEmbedded, false, nil, "From: Carol <carol@example.com>"},
	}
	if len(atts) != len(tests) {
		t.Fatalf("got %d attachments: %+v", len(atts), atts)
	}
	for i, tc := range tests {
		a := atts[i]
		if a.PartPath != tc.path || a.DisplayName != tc.name || a.ContentType != tc.contentType ||
			a.Method != tc.method || a.Inline != tc.inline || a.FileReference != "7:1042:"+tc.path {
			t.Errorf("attachment %d = %+v", i, a)
		}
		sid, path, ok := ParseFileReference(a.FileReference)
		if !ok || sid != "7:1042" || path != tc.path {
			t.Errorf("ParseFileReference(%q) = %q %q %v", a.FileReference, sid, path, ok)
		}
		r, pa, err := OpenPart(raw, path)
		if err != nil {
			t.Fatalf("OpenPart(%s): %v", path, err)
		}
		got, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("read part %s: %v", path, err)
		}
		if pa.DisplayName != tc.name {
			t.Errorf("OpenPart(%s) name %q", path, pa.DisplayName)
		}
		if tc.want != nil && !bytes.Equal(got, tc.want) {
			t.Errorf("part %s content %q", path, got)
		}
		if tc.want != nil && a.EstimatedSize != int64(len(tc.want)) {
			t.Errorf("part %s EstimatedSize %d, want %d", path, a.EstimatedSize, len(tc.want))
		}
		if tc.prefix != "" && !strings.HasPrefix(string(got), tc.prefix) {
			t.Errorf("part %s starts %.40q", path, got)
		}
	}
	// Parts inside the attached message are reachable by IMAP numbering.
	r, _, err := OpenPart(raw, "4.2")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(r); string(got) != "inner attachment" {
		t.Errorf("part 4.2 = %q", got)
	}
	for _, bad := range []string{"9", "1.9", "0", "", "a", "1..2", "-1"} {
		if _, _, err := OpenPart(raw, bad); !errors.Is(err, ErrPartNotFound) {
			t.Errorf("OpenPart(%q) err = %v", bad, err)
		}
	}
	// A single-part message's body is part 1.
	r, _, err = OpenPart(readEML(t, "plain.eml"), "1")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(r); !strings.Contains(string(got), "café") {
		t.Errorf("plain part 1 = %q", got)
	}
}

func TestParseFileReference(t *testing.T) {
	tests := []struct {
		ref, sid, path string
		ok             bool
	}{
		{"7:1042:2.1", "7:1042", "2.1", true},
		{"7:1042:1", "7:1042", "1", true},
		{"a:b:c:3", "a:b:c", "3", true},
		{"7:1042:", "", "", false},
		{":2", "", "", false},
		{"2", "", "", false},
		{"7:1042:2.x", "", "", false},
		{"7:1042:02", "", "", false},
		{"7:1042:2.0", "", "", false},
	}
	for _, tc := range tests {
		sid, path, ok := ParseFileReference(tc.ref)
		if sid != tc.sid || path != tc.path || ok != tc.ok {
			t.Errorf("ParseFileReference(%q) = %q, %q, %v", tc.ref, sid, path, ok)
		}
	}
}
