package smtp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/idlebridge/idlebridge/internal/testenv"
)

const testMsg = "From: alice@example.test\r\nTo: bob@example.test\r\nSubject: =?UTF-8?B?R3LDvMOfZQ==?=\r\n\r\nGrüße — 8-bit body\r\n.leading dot\r\n"

func TestSendSecurityModes(t *testing.T) {
	for _, mode := range []string{SecurityNone, SecurityTLS, SecurityStartTLS} {
		t.Run(mode, func(t *testing.T) {
			serverTLS := mode
			if mode == SecurityNone {
				serverTLS = ""
			}
			ts, tc := startServer(t, serverOpts{user: "alice", pass: "s3cret", tls: serverTLS})
			cfg := Config{Addr: ts.Addr, Security: mode, TLSConfig: tc, Username: "alice", Password: "s3cret", Timeout: 5 * time.Second}
			err := Send(context.Background(), cfg, "alice@example.test", []string{"bob@example.test", "carol@example.test"}, strings.NewReader(testMsg))
			if err != nil {
				t.Fatal(err)
			}
			got := ts.messages()
			if len(got) != 1 {
				t.Fatalf("server got %d messages", len(got))
			}
			m := got[0]
			if m.User != "alice" || m.From != "alice@example.test" || strings.Join(m.Rcpts, ",") != "bob@example.test,carol@example.test" {
				t.Errorf("envelope = %+v", m)
			}
			if !bytes.Equal(m.Data, []byte(testMsg)) {
				t.Errorf("data changed:\n%q\nwant\n%q", m.Data, testMsg)
			}
		})
	}
}

func TestSendErrorKinds(t *testing.T) {
	refuse := &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	tests := []struct {
		name      string
		setup     func(*testServer)
		pass      string
		kind      Kind
		temporary bool
		code      int
	}{
		{"recipient refused", func(ts *testServer) { ts.rejectTo["bob@example.test"] = refuse }, "s3cret", KindRecipient, false, 550},
		{"too large", func(ts *testServer) {
			ts.dataErr = &gosmtp.SMTPError{Code: 552, EnhancedCode: gosmtp.EnhancedCode{5, 3, 4}, Message: "too big"}
		}, "s3cret", KindTooLarge, false, 552},
		{"temporary", func(ts *testServer) {
			ts.mailErr = &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "try later"}
		}, "s3cret", KindUnavailable, true, 451},
		{"closing", func(ts *testServer) {
			ts.mailErr = &gosmtp.SMTPError{Code: 421, EnhancedCode: gosmtp.EnhancedCode{4, 4, 2}, Message: "bye"}
		}, "s3cret", KindUnavailable, true, 421},
		{"auth failed", func(*testServer) {}, "wrong", KindAuth, false, 535},
		{"policy", func(ts *testServer) {
			ts.mailErr = &gosmtp.SMTPError{Code: 553, EnhancedCode: gosmtp.EnhancedCode{5, 7, 1}, Message: "not your address"}
		}, "s3cret", KindOther, false, 553},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, _ := startServer(t, serverOpts{user: "alice", pass: "s3cret"})
			tt.setup(ts)
			cfg := Config{Addr: ts.Addr, Security: SecurityNone, Username: "alice", Password: tt.pass, Timeout: 5 * time.Second}
			err := Send(context.Background(), cfg, "alice@example.test", []string{"bob@example.test"}, strings.NewReader(testMsg))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if e.Kind != tt.kind || e.Temporary != tt.temporary || e.Code != tt.code {
				t.Errorf("got kind %v temporary %v code %d (%v), want %v %v %d", e.Kind, e.Temporary, e.Code, e, tt.kind, tt.temporary, tt.code)
			}
			if tt.kind == KindRecipient && e.Recipient != "bob@example.test" {
				t.Errorf("recipient = %q", e.Recipient)
			}
			if n := len(ts.messages()); n != 0 {
				t.Errorf("server accepted %d messages", n)
			}
		})
	}
}

func TestSendServerLimit(t *testing.T) {
	// The server's own limit (SIZE / MaxMessageBytes) answers 552.
	ts, _ := startServer(t, serverOpts{maxBytes: 100})
	cfg := Config{Addr: ts.Addr, Security: SecurityNone, Timeout: 5 * time.Second}
	big := testMsg + strings.Repeat("x", 500) + "\r\n"
	err := Send(context.Background(), cfg, "alice@example.test", []string{"bob@example.test"}, strings.NewReader(big))
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindTooLarge {
		t.Fatalf("err = %v, want KindTooLarge", err)
	}
}

func TestSendUnavailable(t *testing.T) {
	ts, _ := startServer(t, serverOpts{})
	addr := ts.Addr
	// A closed port: connect refused is an outage, not a permanent error.
	cfg := Config{Addr: "127.0.0.1:1", Security: SecurityNone, Timeout: 2 * time.Second}
	err := Send(context.Background(), cfg, "a@example.test", []string{"b@example.test"}, strings.NewReader(testMsg))
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindUnavailable || !e.Temporary {
		t.Fatalf("closed port: err = %v", err)
	}
	// Cancelled context.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = Send(ctx, Config{Addr: addr, Security: SecurityNone}, "a@example.test", []string{"b@example.test"}, strings.NewReader(testMsg))
	if !errors.As(err, &e) || e.Kind != KindUnavailable {
		t.Fatalf("cancelled: err = %v", err)
	}
}

func TestSendRefusesCleartextAuth(t *testing.T) {
	cfg := Config{Addr: "192.0.2.1:25", Security: SecurityNone, Username: "u", Password: "p", Timeout: time.Second}
	err := Send(context.Background(), cfg, "a@example.test", []string{"b@example.test"}, strings.NewReader(testMsg))
	var e *Error
	if !errors.As(err, &e) || e.Stage != "connect" || !strings.Contains(e.Msg, "without TLS") {
		t.Fatalf("err = %v", err)
	}
	if err := Send(context.Background(), Config{Addr: "127.0.0.1:1"}, "a@x", nil, strings.NewReader("")); err == nil {
		t.Fatal("no recipients accepted")
	}
}

func TestSendSMTPUTF8(t *testing.T) {
	utf8Msg := "From: alice@example.test\r\nTo: jörg@bücher.example\r\nSubject: Grüße\r\n\r\nhi\r\n"
	ts, _ := startServer(t, serverOpts{utf8: true})
	cfg := Config{Addr: ts.Addr, Security: SecurityNone, Timeout: 5 * time.Second}
	if err := Send(context.Background(), cfg, "alice@example.test", []string{"jörg@bücher.example"}, strings.NewReader(utf8Msg)); err != nil {
		t.Fatal(err)
	}
	if m := ts.messages(); len(m) != 1 || !m[0].UTF8 {
		t.Fatalf("SMTPUTF8 not used: %+v", m)
	}
	// Without SMTPUTF8 on the server a UTF-8 address cannot go.
	ts2, _ := startServer(t, serverOpts{})
	cfg.Addr = ts2.Addr
	err := Send(context.Background(), cfg, "alice@example.test", []string{"jörg@bücher.example"}, strings.NewReader(utf8Msg))
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindRecipient {
		t.Fatalf("err = %v", err)
	}
}

// TestSendToSink submits to the test environment's aiosmtpd sink, a
// server that is not go-smtp, and reads the envelope it recorded.
func TestSendToSink(t *testing.T) {
	addr, maildir := testenv.SMTP(t)
	marker := "sink-" + time.Now().Format("150405.000000000")
	msg := "From: alice@example.test\r\nTo: bob@example.test\r\nSubject: " + marker + "\r\n\r\nGrüße\r\n"
	cfg := Config{Addr: addr, Security: SecurityNone, Timeout: 5 * time.Second}
	if err := Send(context.Background(), cfg, "alice@example.test", []string{"bob@example.test", "carol@example.test"}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	m := findSinkMessage(t, maildir, marker)
	if got := m.Header.Get("X-MailFrom"); got != "alice@example.test" {
		t.Errorf("X-MailFrom = %q", got)
	}
	if got := m.Header.Get("X-RcptTo"); got != "bob@example.test, carol@example.test" {
		t.Errorf("X-RcptTo = %q", got)
	}
}

func findSinkMessage(t *testing.T, maildir, subject string) *mail.Message {
	t.Helper()
	for range 50 {
		files, _ := filepath.Glob(filepath.Join(maildir, "new", "*"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			m, err := mail.ReadMessage(bufio.NewReader(bytes.NewReader(b)))
			if err == nil && m.Header.Get("Subject") == subject {
				return m
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("message %q not in the sink", subject)
	return nil
}
