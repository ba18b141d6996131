package send

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"slices"
	"strings"
	"testing"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/idlebridge/idlebridge/activesync"
)

var sendAttachment = func() []byte {
	b := make([]byte, 3000)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}()

func b64Lines(b []byte) string {
	s := base64.StdEncoding.EncodeToString(b)
	var out strings.Builder
	for len(s) > 76 {
		out.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	return out.String() + s + "\r\n"
}

// deviceMessage is what a phone composes: UTF-8 subject (RFC 2047), an
// 8-bit body and a binary attachment.
func deviceMessage(extraHeader string) string {
	return "From: Alice <alice@example.test>\r\n" +
		"To: \"Bob B.\" <bob@example.test>\r\n" +
		"Cc: =?UTF-8?B?SsO2cmc=?= <joerg@example.test>\r\n" +
		"Bcc: secret@example.test\r\n" +
		"Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=\r\n" + extraHeader +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"dev-b\"\r\n\r\n" +
		"--dev-b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
		"Grüße, das ist 8-bit — ✓\r\n" +
		"--dev-b\r\nContent-Type: application/octet-stream; name=\"data.bin\"\r\nContent-Disposition: attachment; filename=\"data.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		b64Lines(sendAttachment) +
		"--dev-b--\r\n"
}

// attachmentSums returns the SHA-256 of every decoded attachment.
func attachmentSums(t *testing.T, raw []byte) map[string][32]byte {
	t.Helper()
	h, body, err := splitMessage(raw)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][32]byte{}
	for _, p := range attachmentsOf(parseMIME(h, body)) {
		_, params, _ := mime.ParseMediaType(p.hdr.Get("Content-Disposition"))
		var r io.Reader = bytes.NewReader(p.body)
		if strings.EqualFold(p.hdr.Get("Content-Transfer-Encoding"), "base64") {
			r = base64.NewDecoder(base64.StdEncoding, &crlfStripper{r: r})
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		out[params["filename"]] = sha256.Sum256(b)
	}
	return out
}

type crlfStripper struct{ r io.Reader }

func (c *crlfStripper) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	j := 0
	for _, b := range p[:n] {
		if b != '\r' && b != '\n' {
			p[j] = b
			j++
		}
	}
	return j, err
}

func headerOf(t *testing.T, raw []byte, key string) string {
	t.Helper()
	h, _, err := splitMessage(raw)
	if err != nil {
		t.Fatal(err)
	}
	return h.Get(key)
}

func TestSendMailEnvelopeContentAndSentCopy(t *testing.T) {
	e := newSendEnv(t, "")
	msg := deviceMessage("")
	err := e.sender.Send(e.ctx, e.acct, "dev1", &activesync.OutgoingMail{Kind: "SendMail", ClientID: "c1", MIME: []byte(msg), SaveInSent: true})
	if err != nil {
		t.Fatal(err)
	}
	got := e.smtp.all()
	if len(got) != 1 {
		t.Fatalf("%d submissions", len(got))
	}
	sub := got[0]
	if sub.from != e.acct.Address() {
		t.Errorf("MAIL FROM %q, want %q", sub.from, e.acct.Address())
	}
	if want := []string{"bob@example.test", "joerg@example.test", "secret@example.test"}; !slices.Equal(sub.rcpts, want) {
		t.Errorf("RCPT %v, want %v", sub.rcpts, want)
	}
	if bytes.Contains(sub.data, []byte("secret@example.test")) || headerOf(t, sub.data, "Bcc") != "" {
		t.Error("Bcc transmitted")
	}
	// The body after the header is exactly the device's.
	_, devBody, _ := splitMessage([]byte(msg))
	_, wireBody, _ := splitMessage(sub.data)
	if !bytes.Equal(devBody, wireBody) {
		t.Error("body bytes changed")
	}
	if s := headerOf(t, sub.data, "Subject"); s != "=?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=" {
		t.Errorf("Subject %q", s)
	}
	if headerOf(t, sub.data, "Date") == "" || !strings.HasSuffix(headerOf(t, sub.data, "Message-Id"), "@example.test>") {
		t.Errorf("Date/Message-ID not added: %q %q", headerOf(t, sub.data, "Date"), headerOf(t, sub.data, "Message-Id"))
	}
	if sums := attachmentSums(t, sub.data); sums["data.bin"] != sha256.Sum256(sendAttachment) {
		t.Error("attachment changed")
	}

	sent, flags := e.mailboxMessages(t, "Sent")
	if len(sent) != 1 {
		t.Fatalf("Sent holds %d messages, want 1", len(sent))
	}
	if !slices.Contains(flags[0], `\Seen`) {
		t.Errorf("Sent copy flags %v", flags[0])
	}
	if headerOf(t, sent[0], "Bcc") != "secret@example.test" {
		t.Error("Sent copy lost Bcc")
	}
	if headerOf(t, sent[0], "Message-Id") != headerOf(t, sub.data, "Message-Id") {
		t.Error("Sent copy is not the message sent")
	}

	// A retried ClientId sends nothing and files nothing.
	if err := e.sender.Send(e.ctx, e.acct, "dev1", &activesync.OutgoingMail{Kind: "SendMail", ClientID: "c1", MIME: []byte(msg), SaveInSent: true}); err != nil {
		t.Fatal(err)
	}
	if n := len(e.smtp.all()); n != 1 {
		t.Errorf("retried ClientId: %d submissions, want 1", n)
	}
	if sent, _ := e.mailboxMessages(t, "Sent"); len(sent) != 1 {
		t.Errorf("retried ClientId: Sent holds %d", len(sent))
	}
	// The same ClientId from another device is another message.
	if err := e.sender.Send(e.ctx, e.acct, "dev2", &activesync.OutgoingMail{Kind: "SendMail", ClientID: "c1", MIME: []byte(msg)}); err != nil {
		t.Fatal(err)
	}
	if n := len(e.smtp.all()); n != 2 {
		t.Errorf("other device: %d submissions, want 2", n)
	}
}

const originalMessage = "From: =?UTF-8?Q?Carol_M=C3=BCller?= <carol@example.test>\r\n" +
	"To: t@example.test\r\n" +
	"Date: Mon, 02 Mar 2026 10:00:00 +0100\r\n" +
	"Subject: Quarterly numbers\r\n" +
	"Message-ID: <orig-1@example.test>\r\n" +
	"References: <root-0@example.test>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=\"orig-b\"\r\n\r\n" +
	"--orig-b\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
	"Here are the n=FCmbers.\r\nSecond line.\r\n" +
	"--orig-b\r\nContent-Type: application/pdf; name=\"report.pdf\"\r\nContent-Disposition: attachment; filename=\"report.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"

func originalWithAttachment() (string, []byte) {
	pdf := bytes.Repeat([]byte("%PDF-1.4 \x00\xff binary "), 200)
	return originalMessage + b64Lines(pdf) + "--orig-b--\r\n", pdf
}

const replyMessage = "From: t@example.test\r\nTo: carol@example.test\r\nSubject: Re: Quarterly numbers\r\n" +
	"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n" +
	"--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThanks, looks good.\r\n" +
	"--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>Thanks, looks good.</p></body></html>\r\n" +
	"--alt--\r\n"

func TestSmartReply(t *testing.T) {
	e := newSendEnv(t, "")
	orig, _ := originalWithAttachment()
	id, uid := e.appendOriginal(t, orig)
	err := e.sender.Send(e.ctx, e.acct, "dev1", &activesync.OutgoingMail{Kind: "SmartReply", ClientID: "r1",
		SourceFolderID: e.folderID(t, "INBOX"), SourceItemID: id, MIME: []byte(replyMessage), SaveInSent: true})
	if err != nil {
		t.Fatal(err)
	}
	got := e.smtp.all()
	if len(got) != 1 {
		t.Fatalf("%d submissions", len(got))
	}
	wire := got[0].data
	if v := headerOf(t, wire, "In-Reply-To"); v != "<orig-1@example.test>" {
		t.Errorf("In-Reply-To %q", v)
	}
	if v := headerOf(t, wire, "References"); v != "<root-0@example.test> <orig-1@example.test>" {
		t.Errorf("References %q", v)
	}
	h, body, _ := splitMessage(wire)
	plain, html := bodyLeaves(parseMIME(h, body))
	if plain == nil || html == nil {
		t.Fatal("reply lost its text parts")
	}
	pt, ht := decodeText(plain), decodeText(html)
	for _, want := range []string{"Thanks, looks good.", "On Mon, 02 Mar 2026 10:00:00 +0100, Carol Müller <carol@example.test> wrote:", "> Here are the nümbers.", "> Second line."} {
		if !strings.Contains(pt, want) {
			t.Errorf("plain reply lacks %q:\n%s", want, pt)
		}
	}
	if !strings.Contains(ht, "<blockquote") || !strings.Contains(ht, "Here are the nümbers.") || !strings.Contains(ht, "</blockquote></body>") {
		t.Errorf("html reply:\n%s", ht)
	}
	if len(attachmentSums(t, wire)) != 0 {
		t.Error("a reply carries the original's attachment")
	}
	_, flags := e.mailboxMessages(t, "INBOX")
	if len(flags) != 1 || !slices.Contains(flags[0], `\Answered`) {
		t.Errorf("original flags %v (uid %d)", flags, uid)
	}
	if sent, _ := e.mailboxMessages(t, "Sent"); len(sent) != 1 {
		t.Errorf("Sent holds %d", len(sent))
	}
}

func TestSmartForward(t *testing.T) {
	e := newSendEnv(t, "")
	orig, pdf := originalWithAttachment()
	id, _ := e.appendOriginal(t, orig)
	fwd := "From: t@example.test\r\nTo: dave@example.test\r\nSubject: Fwd: Quarterly numbers\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee below.\r\n"
	err := e.sender.Send(e.ctx, e.acct, "dev1", &activesync.OutgoingMail{Kind: "SmartForward", ClientID: "f1", SourceItemID: id, MIME: []byte(fwd)})
	if err != nil {
		t.Fatal(err)
	}
	got := e.smtp.all()
	if len(got) != 1 {
		t.Fatalf("%d submissions", len(got))
	}
	wire := got[0].data
	if sums := attachmentSums(t, wire); sums["report.pdf"] != sha256.Sum256(pdf) {
		t.Errorf("forwarded attachment not byte-exact: %v", sums)
	}
	h, body, _ := splitMessage(wire)
	root := parseMIME(h, body)
	if root.mediaType != "multipart/mixed" || h.Get("To") != "dave@example.test" {
		t.Errorf("forward root %s, To %q", root.mediaType, h.Get("To"))
	}
	plain, _ := bodyLeaves(root)
	if pt := decodeText(plain); !strings.Contains(pt, "See below.") || !strings.Contains(pt, "Forwarded message") || !strings.Contains(pt, "Here are the nümbers.") {
		t.Errorf("forward text:\n%s", pt)
	}
	if headerOf(t, wire, "In-Reply-To") != "" {
		t.Error("forward got In-Reply-To")
	}
	_, flags := e.mailboxMessages(t, "INBOX")
	if len(flags) != 1 || !slices.Contains(flags[0], "$Forwarded") {
		t.Errorf("original flags %v", flags)
	}
	// SaveInSent was not asked for.
	if sent, _ := e.mailboxMessages(t, "Sent"); len(sent) != 0 {
		t.Errorf("Sent holds %d without SaveInSent", len(sent))
	}
}

func TestSmartReplyReplaceMime(t *testing.T) {
	e := newSendEnv(t, "")
	orig, _ := originalWithAttachment()
	id, _ := e.appendOriginal(t, orig)
	full := "From: t@example.test\r\nTo: carol@example.test\r\nSubject: Re\r\n\r\nComplete text by the phone.\r\n"
	if err := e.sender.Send(e.ctx, e.acct, "dev1", &activesync.OutgoingMail{Kind: "SmartReply", SourceItemID: id, ReplaceMime: true, MIME: []byte(full)}); err != nil {
		t.Fatal(err)
	}
	wire := e.smtp.all()[0].data
	_, body, _ := splitMessage(wire)
	if string(body) != "Complete text by the phone.\r\n" {
		t.Errorf("ReplaceMime body changed: %q", body)
	}
	if headerOf(t, wire, "In-Reply-To") != "<orig-1@example.test>" {
		t.Error("ReplaceMime reply not threaded")
	}
}

func TestSendFailures(t *testing.T) {
	e := newSendEnv(t, "")
	simple := "From: t@example.test\r\nTo: bob@example.test\r\nSubject: x\r\n\r\nhi\r\n"
	tests := []struct {
		name       string
		setup      func(*captureSMTP)
		mail       activesync.OutgoingMail
		wantStatus int  // 0: no CommandStatus
		wantRetry  bool // ErrUnavailable
	}{
		{"recipient refused", func(c *captureSMTP) {
			c.rejectTo["bob@example.test"] = &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "unknown"}
		}, activesync.OutgoingMail{Kind: "SendMail", MIME: []byte(simple)}, 116, false},
		{"too large", func(c *captureSMTP) {
			c.dataErr = &gosmtp.SMTPError{Code: 552, EnhancedCode: gosmtp.EnhancedCode{5, 3, 4}, Message: "too big"}
		}, activesync.OutgoingMail{Kind: "SendMail", MIME: []byte(simple)}, 122, false},
		{"temporary", func(c *captureSMTP) {
			c.mailErr = &gosmtp.SMTPError{Code: 421, EnhancedCode: gosmtp.EnhancedCode{4, 3, 2}, Message: "shutting down"}
		}, activesync.OutgoingMail{Kind: "SendMail", ClientID: "tmp", MIME: []byte(simple)}, 0, true},
		{"auth failed", func(c *captureSMTP) { c.pass = "other" }, activesync.OutgoingMail{Kind: "SendMail", MIME: []byte(simple)}, 120, false},
		{"no recipients", nil, activesync.OutgoingMail{Kind: "SendMail", MIME: []byte("From: t@example.test\r\nSubject: x\r\n\r\nhi\r\n")}, 119, false},
		{"bad recipient", nil, activesync.OutgoingMail{Kind: "SendMail", MIME: []byte("To: <<nope\r\n\r\nhi\r\n")}, 116, false},
		{"unknown original", nil, activesync.OutgoingMail{Kind: "SmartReply", SourceItemID: "999:1", MIME: []byte(simple)}, 150, false},
		{"expunged original", nil, activesync.OutgoingMail{Kind: "SmartForward", SourceItemID: "1:4000000", MIME: []byte(simple)}, 150, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pass := e.smtp.pass
			e.smtp.set(func(c *captureSMTP) {
				if tt.setup != nil {
					tt.setup(c)
				}
			})
			t.Cleanup(func() {
				e.smtp.set(func(c *captureSMTP) {
					c.rejectTo = map[string]*gosmtp.SMTPError{}
					c.mailErr, c.dataErr, c.pass = nil, nil, pass
				})
			})
			m := tt.mail
			if m.Kind == "SmartForward" {
				m.SourceItemID = e.folderID(t, "INBOX") + ":4000000"
			}
			err := e.sender.Send(e.ctx, e.acct, "dev1", &m)
			var ae *activesync.Error
			switch {
			case tt.wantRetry:
				if !errors.Is(err, activesync.ErrUnavailable) {
					t.Fatalf("err %v, want ErrUnavailable", err)
				}
			case !errors.As(err, &ae) || int(ae.Status) != tt.wantStatus:
				t.Fatalf("err %v, want status %d", err, tt.wantStatus)
			}
			if n := len(e.smtp.all()); n != 0 {
				t.Errorf("%d submissions accepted", n)
			}
		})
	}
	// A temporary failure released the ClientId: the retry sends.
	if err := e.sender.Send(e.ctx, e.acct, "dev1", &activesync.OutgoingMail{Kind: "SendMail", ClientID: "tmp", MIME: []byte(simple)}); err != nil {
		t.Fatal(err)
	}
	if n := len(e.smtp.all()); n != 1 {
		t.Errorf("retry after a temporary failure: %d submissions", n)
	}
}
