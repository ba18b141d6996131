package mailconv

import (
	"fmt"
	"strings"
	"testing"
)

// typicalMessage builds a ~20 KB multipart/alternative newsletter-like
// message with quoted-printable parts.
func typicalMessage() []byte {
	var plain, html strings.Builder
	for i := 0; plain.Len() < 6000; i++ {
		fmt.Fprintf(&plain, "Paragraph %d: Gr=C3=BC=C3=9Fe, the quick brown fox jumps over the lazy dog.=\r\n More text follows here.\r\n\r\n", i)
	}
	for i := 0; html.Len() < 12000; i++ {
		fmt.Fprintf(&html, "<p style=3D\"margin:0\">Paragraph %d: Gr=C3=BC=C3=9Fe, the <a href=3D\"https://example.com/%d\">quick</a> brown fox.</p>\r\n", i, i)
	}
	return []byte("From: News <news@example.com>\r\nTo: Bob <bob@example.com>\r\nSubject: =?utf-8?q?Weekly_news_=E2=98=95?=\r\n" +
		"Date: Wed, 05 Mar 2025 08:00:00 +0000\r\nMessage-ID: <bench@example.com>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: quoted-printable\r\n\r\n" + plain.String() + "\r\n--b1\r\nContent-Type: text/html; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: quoted-printable\r\n\r\n<html><body>" + html.String() + "</body></html>\r\n--b1--\r\n")
}

func BenchmarkToApplicationData(b *testing.B) {
	raw := typicalMessage()
	opts := Options{Version: 161, BodyPrefs: []BodyPreference{{Type: BodyHTML, TruncationSize: 32768, Preview: 255}}}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ToApplicationData(raw, testMeta, opts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkToApplicationDataPlainFromHTML(b *testing.B) {
	raw := typicalMessage()
	// Only the HTML alternative: forces the HTML→text conversion.
	i := strings.Index(string(raw), "--b1\r\nContent-Type: text/html")
	raw = append([]byte("From: a@example.com\r\nContent-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n"), raw[i:]...)
	opts := Options{Version: 161, BodyPrefs: []BodyPreference{{Type: BodyPlain, Preview: 255}}}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ToApplicationData(raw, testMeta, opts); err != nil {
			b.Fatal(err)
		}
	}
}
