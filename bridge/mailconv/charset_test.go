package mailconv

import (
	"strings"
	"testing"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
)

func TestBodyCharsets(t *testing.T) {
	tests := []struct {
		charset string
		enc     encoding.Encoding
		text    string
	}{
		{"ISO-2022-JP", japanese.ISO2022JP, "日本語のテキスト"},
		{"Shift_JIS", japanese.ShiftJIS, "日本語のテキスト"},
		{"EUC-JP", japanese.EUCJP, "日本語のテキスト"},
		{"GB18030", simplifiedchinese.GB18030, "中文邮件"},
		{"GBK", simplifiedchinese.GBK, "中文邮件"},
		{"Big5", traditionalchinese.Big5, "中文郵件"},
		{"EUC-KR", korean.EUCKR, "한국어 메일"},
		{"KOI8-R", charmap.KOI8R, "Привет, мир"},
		{"windows-1251", charmap.Windows1251, "Привет, мир"},
		{"ISO-8859-1", charmap.ISO8859_1, "Grüße, café"},
		{"iso-8859-2", charmap.ISO8859_2, "Zażółć gęślą"},
		{"ISO-8859-15", charmap.ISO8859_15, "Prix: 5€"},
		{"windows-1252", charmap.Windows1252, "“quoted” – dash"},
	}
	for _, tc := range tests {
		t.Run(tc.charset, func(t *testing.T) {
			encoded, err := tc.enc.NewEncoder().String(tc.text)
			if err != nil {
				t.Fatal(err)
			}
			raw := "From: a@example.com\nSubject: x\nContent-Type: text/plain; charset=" + tc.charset + "\n\n" + encoded
			ad, err := convert(t, []byte(raw), testMeta, prefPlain)
			if err != nil {
				t.Fatal(err)
			}
			if got := body(ad).ChildText(wbxml.AirSyncBase, "Data"); got != tc.text {
				t.Errorf("got %q, want %q", got, tc.text)
			}
		})
	}
}

func TestDecodeCharsetFallbacks(t *testing.T) {
	tests := []struct {
		in, charset, want string
	}{
		{"caf\xe9", "x-unknown-thing", "café"},
		{"caf\xe9", "", "café"},           // unlabeled 8-bit: Windows-1252
		{"caf\xc3\xa9", "", "café"},       // unlabeled but valid UTF-8
		{"bad\xff", "utf-8", "bad\uFFFD"}, // declared UTF-8 stays UTF-8
		{"a\x00b", "us-ascii", "ab"},      // NUL removed
	}
	for _, tc := range tests {
		if got := decodeCharset([]byte(tc.in), tc.charset); got != tc.want {
			t.Errorf("decodeCharset(%q, %q) = %q, want %q", tc.in, tc.charset, got, tc.want)
		}
	}
}

func TestDecodeHeaderText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"=?utf-8?q?caf=C3=A9?=", "café"},
		{"=?utf-8?q?a?= =?utf-8?q?b?=", "ab"},
		{"=?ISO-8859-1?Q?Andr=E9?= Pirard", "André Pirard"},
		{"=?x-bogus?Q?caf=E9?=", "café"},
		{"=?utf-8?B?!!bad!!?= =?utf-8?q?ok?=", "=?utf-8?B?!!bad!!?= ok"},
		{"Gr\xfc\xdfe", "Grüße"},
		{"plain", "plain"},
		{"=?utf-8?q?unterminated", "=?utf-8?q?unterminated"},
	}
	for _, tc := range tests {
		if got := decodeHeaderText(tc.in); got != tc.want {
			t.Errorf("decodeHeaderText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseValueParams(t *testing.T) {
	tests := []struct {
		in, value, key, want string
	}{
		{`text/plain; charset="utf-8"`, "text/plain", "charset", "utf-8"},
		{`attachment; filename*=UTF-8''%E2%82%AC%20rates.pdf`, "attachment", "filename", "€ rates.pdf"},
		{`attachment; filename*0="long "; filename*1="name.txt"`, "attachment", "filename", "long name.txt"},
		{`attachment; filename*0*=iso-8859-1''caf%E9; filename*1=".txt"`, "attachment", "filename", "café.txt"},
		{`Multipart/Mixed; boundary=abc; boundary=def`, "multipart/mixed", "boundary", "abc"},
		{`text/plain; garbage; charset=koi8-r`, "text/plain", "charset", "koi8-r"},
		{`attachment; filename="a \"quoted\" name"`, "attachment", "filename", `a "quoted" name`},
	}
	for _, tc := range tests {
		v, p := parseValueParams(tc.in)
		if v != tc.value || p[tc.key] != tc.want {
			t.Errorf("parseValueParams(%q) = %q, %q=%q", tc.in, v, tc.key, p[tc.key])
		}
	}
}

func TestDecodeQP(t *testing.T) {
	tests := []struct{ in, want string }{
		{"caf=C3=A9", "café"},
		{"soft=\r\nbreak", "softbreak"},
		{"bad =ZZ escape\x01", "bad =ZZ escape\x01"},
		{"trailing   \nx", "trailing\nx"},
		{"end=", "end"},
	}
	for _, tc := range tests {
		if got := string(decodeQP([]byte(tc.in))); got != tc.want {
			t.Errorf("decodeQP(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestHTMLToText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"<p>a</p><p>b</p>", "a\n\nb"},
		{"a<br>b<br/>c", "a\nb\nc"},
		{`<a href="mailto:x@example.com">x@example.com</a>`, "x@example.com"},
		{`<a href="#top">top</a>`, "top"},
		{`<a href="https://e.example/">  </a>`, "https://e.example/"},
		{"<pre>  keep\n   spacing</pre>", "keep\n   spacing"},
		{"<div><b>un</b>closed <i>tags", "unclosed tags"},
		{"&lt;&gt;&amp;&quot;&#8364;&euro;", `<>&"€€`},
		{"<style>x{}</style><script>y()</script>z", "z"},
		{`<img src="x.png" alt="Logo">`, "[Logo]"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := htmlToText(tc.in); got != tc.want {
			t.Errorf("htmlToText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if !strings.Contains(rewriteMetaCharset(`<meta charset="iso-8859-1">`), `charset="utf-8"`) {
		t.Error("meta charset not rewritten")
	}
}
