package send

import (
	"bytes"
	"mime/quotedprintable"
	"strings"
	"testing"

	"github.com/idlebridge/idlebridge/activesync"
)

// A phone's HTML mail is often one line of several kilobytes under 8bit;
// submitted as it is, the server refuses it and the mail is not sent.
func TestSendMailLongLinesAreReencoded(t *testing.T) {
	e := newSendEnv(t, "")
	html := "<html><body>" + strings.Repeat("Grüße und viele Wörter ohne Zeilenumbruch. ", 150) + "</body></html>"
	msg := "From: Alice <alice@example.test>\r\nTo: bob@example.test\r\nSubject: long\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nshort text\r\n" +
		"--b1\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + html + "\r\n" +
		"--b1--\r\n"
	if !hasLongLine([]byte(msg)) {
		t.Fatal("test message has no long line")
	}
	if err := e.sender.Send(e.ctx, e.acct, "dev1", &activesync.OutgoingMail{Kind: "SendMail", ClientID: "long1", MIME: []byte(msg), SaveInSent: true}); err != nil {
		t.Fatalf("send: %v", err)
	}
	got := e.smtp.all()
	if len(got) != 1 {
		t.Fatalf("%d submissions", len(got))
	}
	wire := got[0].data
	if hasLongLine(wire) {
		t.Error("the submitted message still has a line over 998 octets")
	}
	hdr, body, err := splitMessage(wire)
	if err != nil {
		t.Fatal(err)
	}
	root := parseMIME(hdr, body)
	if len(root.children) != 2 {
		t.Fatalf("%d parts, want 2", len(root.children))
	}
	plain, htmlPart := root.children[0], root.children[1]
	if !bytes.Equal(plain.body, []byte("short text")) || plain.hdr.Get("Content-Transfer-Encoding") != "8bit" {
		t.Errorf("the short part changed: %q %q", plain.hdr.Get("Content-Transfer-Encoding"), plain.body)
	}
	if cte := htmlPart.hdr.Get("Content-Transfer-Encoding"); cte != "quoted-printable" {
		t.Fatalf("HTML part CTE %q, want quoted-printable", cte)
	}
	var dec bytes.Buffer
	if _, err := dec.ReadFrom(quotedprintable.NewReader(bytes.NewReader(htmlPart.body))); err != nil {
		t.Fatal(err)
	}
	if strings.TrimRight(dec.String(), "\r\n") != html {
		t.Error("the HTML content changed in re-encoding")
	}
	sent, _ := e.mailboxMessages(t, "Sent")
	if len(sent) != 1 || hasLongLine(sent[0]) {
		t.Errorf("Sent copy: %d messages, or still long lines", len(sent))
	}
}

func TestFitLinesLeavesShortPartsAndDecodesEncodings(t *testing.T) {
	long := strings.Repeat("x", 1500)
	for _, tc := range []struct {
		name, ctype, cte, body string
		want                   string // CTE after, "" = unchanged
	}{
		{"short 8bit", "text/plain", "8bit", "hello\r\n", ""},
		{"long 8bit text", "text/html", "8bit", long, "quoted-printable"},
		{"long binary attachment", "application/octet-stream", "binary", long, "base64"},
		{"long qp rewrapped", "text/plain", "quoted-printable", long, "quoted-printable"},
		{"long message/rfc822 left", "message/rfc822", "8bit", long, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := "Content-Type: " + tc.ctype + "\r\nContent-Transfer-Encoding: " + tc.cte + "\r\n\r\n" + tc.body
			hdr, body, err := splitMessage([]byte(raw))
			if err != nil {
				t.Fatal(err)
			}
			p := parseMIME(hdr, body)
			changed := fitLines(p)
			if tc.want == "" {
				if changed || string(p.body) != tc.body {
					t.Fatalf("changed a part that needs no change")
				}
				return
			}
			if !changed || p.hdr.Get("Content-Transfer-Encoding") != tc.want || hasLongLine(p.body) {
				t.Fatalf("changed %v, CTE %q, long %v", changed, p.hdr.Get("Content-Transfer-Encoding"), hasLongLine(p.body))
			}
			got, ok := decodeTransfer(tc.want, p.body)
			want, _ := decodeTransfer(tc.cte, []byte(tc.body))
			if !ok || !bytes.Equal(bytes.TrimRight(got, "\r\n"), want) {
				t.Fatal("content changed")
			}
		})
	}
}

// FuzzFitLines: any message a device sends is re-encoded without a panic,
// and a leaf fitLines rewrote has no line SMTP would refuse.
func FuzzFitLines(f *testing.F) {
	f.Add([]byte("Content-Type: text/html\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + strings.Repeat("a", 1200)))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Transfer-Encoding: base64\r\n\r\n" + strings.Repeat("QUFB", 400) + "\r\n--x--\r\n"))
	f.Add([]byte("Content-Transfer-Encoding: quoted-printable\r\n\r\n=ZZ" + strings.Repeat("b", 1000)))
	f.Fuzz(func(t *testing.T, raw []byte) {
		hdr, body, err := splitMessage(raw)
		if err != nil {
			return
		}
		root := parseMIME(hdr, body)
		before := map[*mimePart][]byte{}
		var walk func(p *mimePart, fn func(*mimePart))
		walk = func(p *mimePart, fn func(*mimePart)) {
			if p.children == nil {
				fn(p)
			}
			for _, c := range p.children {
				walk(c, fn)
			}
		}
		walk(root, func(p *mimePart) { before[p] = p.body })
		fitLines(root)
		walk(root, func(p *mimePart) {
			if !bytes.Equal(before[p], p.body) && hasLongLine(p.body) {
				t.Fatalf("rewritten part still has a long line")
			}
		})
		var b bytes.Buffer
		if err := writeMIME(&b, root); err != nil {
			t.Fatal(err)
		}
	})
}
