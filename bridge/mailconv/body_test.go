package mailconv

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// bigMessage is a ~100 KB single-part message whose text is multi-byte
// UTF-8 throughout, so any byte cut can land inside a rune.
func bigMessage(html bool) ([]byte, string) {
	text := strings.Repeat("äb€😀 ", 100*1024/12)
	ct := "text/plain"
	if html {
		ct = "text/html"
	}
	return []byte("From: a@example.com\r\nTo: b@example.com\r\nSubject: big\r\nContent-Type: " + ct +
		"; charset=utf-8\r\n\r\n" + text), text
}

func TestBodyTruncation(t *testing.T) {
	raw, text := bigMessage(false)
	for _, limit := range []int64{5000, 5001, 5002, 5003, 1, 3} {
		ad, err := convert(t, raw, testMeta, Options{Version: 141, BodyPrefs: []BodyPreference{{Type: BodyPlain, TruncationSize: limit}}})
		if err != nil {
			t.Fatal(err)
		}
		b := body(ad)
		data := b.ChildText(wbxml.AirSyncBase, "Data")
		if int64(len(data)) > limit || int64(len(data)) < limit-3 || !utf8.ValidString(data) || !strings.HasPrefix(text, data) {
			t.Errorf("limit %d: got %d bytes, valid=%v", limit, len(data), utf8.ValidString(data))
		}
		if b.ChildText(wbxml.AirSyncBase, "Truncated") != "1" {
			t.Errorf("limit %d: Truncated not 1", limit)
		}
		if got := b.ChildText(wbxml.AirSyncBase, "EstimatedDataSize"); got != strconv.Itoa(len(text)) {
			t.Errorf("limit %d: EstimatedDataSize %s, want %d", limit, got, len(text))
		}
	}
}

func TestBodySelection(t *testing.T) {
	bigHTML, _ := bigMessage(true)
	alt := readEML(t, "alternative.eml")
	plain := readEML(t, "plain.eml")
	smime := readEML(t, "smime.eml")
	tests := []struct {
		name      string
		raw       []byte
		opts      Options
		wantType  string
		wantTrunc string
		wantData  bool
		contains  string
	}{
		{"AllOrNone too big falls to next preference", bigHTML,
			Options{Version: 141, BodyPrefs: []BodyPreference{{Type: BodyHTML, TruncationSize: 1000, AllOrNone: true}, {Type: BodyPlain, TruncationSize: 200}}},
			"1", "1", true, "äb€"},
		{"AllOrNone only preference sends no data", bigHTML,
			Options{Version: 141, BodyPrefs: []BodyPreference{{Type: BodyHTML, TruncationSize: 1000, AllOrNone: true}}},
			"2", "1", false, ""},
		{"AllOrNone that fits", alt,
			Options{Version: 141, BodyPrefs: []BodyPreference{{Type: BodyHTML, TruncationSize: 100000, AllOrNone: true}}},
			"2", "0", true, "<b>version</b>"},
		{"HTML first but plain-only message uses later plain preference", plain,
			Options{Version: 141, BodyPrefs: []BodyPreference{{Type: BodyHTML}, {Type: BodyPlain}}},
			"1", "0", true, "café"},
		{"MIME with MIMESupport 2", alt,
			Options{Version: 141, MIMESupport: 2, BodyPrefs: []BodyPreference{{Type: BodyMIME}, {Type: BodyHTML}}},
			"4", "0", true, "--ALT-BOUNDARY--"},
		{"MIME refused for non-S/MIME with MIMESupport 1", alt,
			Options{Version: 141, MIMESupport: 1, BodyPrefs: []BodyPreference{{Type: BodyMIME}, {Type: BodyHTML}}},
			"2", "0", true, "<b>version</b>"},
		{"S/MIME with MIMESupport 1 gets MIME first", smime,
			Options{Version: 141, MIMESupport: 1, BodyPrefs: []BodyPreference{{Type: BodyHTML}}},
			"4", "0", true, "application/pkcs7-mime"},
		{"12.1 MIMESupport 2 without BodyPreference, MIMETruncation 1", bigHTML,
			Options{Version: 121, MIMESupport: 2, MIMETruncation: 1},
			"4", "1", true, "Subject: big"},
		{"12.1 MIMESupport 2, MIMETruncation 8 = whole", alt,
			Options{Version: 121, MIMESupport: 2, MIMETruncation: 8},
			"4", "0", true, "--ALT-BOUNDARY--"},
		{"MIME truncated by TruncationSize", bigHTML,
			Options{Version: 141, MIMESupport: 2, BodyPrefs: []BodyPreference{{Type: BodyMIME, TruncationSize: 300}}},
			"4", "1", true, "From: a@example.com"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ad, err := convert(t, tc.raw, testMeta, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			b := body(ad)
			if got := b.ChildText(wbxml.AirSyncBase, "Type"); got != tc.wantType {
				t.Errorf("Type = %s, want %s", got, tc.wantType)
			}
			if got := b.ChildText(wbxml.AirSyncBase, "Truncated"); got != tc.wantTrunc {
				t.Errorf("Truncated = %s, want %s", got, tc.wantTrunc)
			}
			d := b.Child(wbxml.AirSyncBase, "Data")
			if (d != nil) != tc.wantData {
				t.Fatalf("Data present = %v, want %v", d != nil, tc.wantData)
			}
			if d != nil && !strings.Contains(d.Text, tc.contains) {
				t.Errorf("Data lacks %q: %.200s", tc.contains, d.Text)
			}
			if tc.opts.MIMETruncation == 1 && (len(d.Text) > 4096 || len(d.Text) < 4093) {
				t.Errorf("MIMETruncation 1 gave %d bytes, want 4093..4096", len(d.Text))
			}
			if tc.wantType == "4" && tc.wantTrunc == "0" && d.Text != string(tc.raw) {
				t.Errorf("untruncated MIME differs from the raw message")
			}
		})
	}
}

func TestPreview(t *testing.T) {
	tests := []struct {
		file string
		n    int
		want string
	}{
		{"alternative.eml", 255, "Plain version of the digest."},
		{"alternative.eml", 13, "Plain version"},
		{"plain.eml", 30, "Hi Bob, shall we meet at the c"},
		{"htmlonly.eml", 40, "Order confirmed Thanks & welcome, café l"},
	}
	for _, tc := range tests {
		opts := Options{Version: 141, BodyPrefs: []BodyPreference{{Type: BodyHTML, Preview: tc.n}}}
		ad, _ := convert(t, readEML(t, tc.file), testMeta, opts)
		if got := body(ad).ChildText(wbxml.AirSyncBase, "Preview"); got != tc.want {
			t.Errorf("%s/%d: preview %q, want %q", tc.file, tc.n, got, tc.want)
		}
	}
	if got := preview(strings.Repeat("x", 1000), 1000); utf8.RuneCountInString(got) != maxPreview {
		t.Errorf("preview not capped at %d: %d", maxPreview, len(got))
	}
}

func TestMetaTruncatedMarksBody(t *testing.T) {
	raw := readEML(t, "plain.eml")
	meta := testMeta
	meta.Truncated, meta.Size = true, 50000
	ad, _ := convert(t, raw[:len(raw)-20], meta, Options{Version: 141, MIMESupport: 2, BodyPrefs: []BodyPreference{{Type: BodyMIME}}})
	b := body(ad)
	if b.ChildText(wbxml.AirSyncBase, "Truncated") != "1" || b.ChildText(wbxml.AirSyncBase, "EstimatedDataSize") != "50000" {
		t.Errorf("truncated fetch: %v %v", b.ChildText(wbxml.AirSyncBase, "Truncated"), b.ChildText(wbxml.AirSyncBase, "EstimatedDataSize"))
	}
}
