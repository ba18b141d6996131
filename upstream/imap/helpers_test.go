package imap

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/internal/testenv"
)

// plainConfig is a fresh Dovecot user over plain IMAP on loopback.
func plainConfig(t *testing.T) Config {
	t.Helper()
	addr, pw := testenv.IMAP(t)
	return Config{
		Addr: addr, Security: SecurityNone,
		Username: testenv.UniqueUser(t), Password: pw,
		DialTimeout: 10 * time.Second, CommandTimeout: 30 * time.Second,
	}
}

// testCA loads the test CA as a root pool.
func testCA(t *testing.T, caFile string) *tls.Config {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatalf("read CA: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in %s", caFile)
	}
	return &tls.Config{RootCAs: pool}
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustDial(t *testing.T, cfg Config) *Session {
	t.Helper()
	s, err := Dial(testCtx(t), cfg)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// simpleMessage is a small text/plain message; header values are written
// as given (so tests can pass RFC 2047 encoded words).
func simpleMessage(from, to, subject, body string) []byte {
	return []byte(fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: Mon, 02 Jan 2006 15:04:05 +0000\r\n"+
		"Message-ID: <%d@test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n",
		from, to, subject, time.Now().UnixNano(), body))
}

func mustAppend(t *testing.T, s *Session, mailbox string, raw []byte, flags ...string) uint32 {
	t.Helper()
	uid, err := s.Append(testCtx(t), mailbox, flags, time.Time{}, bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return uid
}

func mustSelect(t *testing.T, s *Session, mailbox string) Status {
	t.Helper()
	st, err := s.Select(testCtx(t), mailbox, false)
	if err != nil {
		t.Fatalf("Select %s: %v", mailbox, err)
	}
	return st
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

func errorsIs(err, target error) bool { return errors.Is(err, target) }

func base64Std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func base64Decode(s string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(strings.ReplaceAll(s, "\r\n", ""))
}

func sha256Sum(b []byte) []byte { h := sha256.Sum256(b); return h[:] }

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
