// Package mailrig is the test set-up every mail test shares: a fresh
// user on the test Dovecot (internal/testenv) with the account the bridge
// would log in as, the stores, a second IMAP client playing "another mail
// client" of the user, and small messages. The rigs of bridge/,
// bridge/mail, bridge/send and bridge/imappools are built on it, so a
// change of how a test user is made is made once.
//
// It imports none of the packages whose tests use it (imappools, mail,
// send, bridge), so their in-package tests can.
package mailrig

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/bridge/accounts"
	"github.com/idlebridge/idlebridge/bridge/login"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/internal/testenv"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

// Context is a test's context: cancelled at its end, and bounded, so a
// hung server fails the test instead of the whole run.
func Context(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// EmbeddedStore is a fresh bbolt store in the test's temporary directory.
func EmbeddedStore(t testing.TB) state.Store {
	t.Helper()
	st, err := state.OpenEmbedded(filepath.Join(t.TempDir(), "state.db"), state.EmbeddedOptions{NoSync: true})
	if err != nil {
		t.Fatalf("OpenEmbedded: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// RedisStore is a store on the test Redis (users are unique per test, so
// tests share the database).
func RedisStore(t testing.TB) state.Store {
	t.Helper()
	client, err := state.OpenRedisClient(testenv.RedisURL(t))
	if err != nil {
		t.Fatalf("OpenRedisClient: %v", err)
	}
	st := state.NewRedisStore(client, state.RedisOptions{OwnClient: true})
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// Endpoint is a plain-text endpoint at a test server's address.
func Endpoint(t testing.TB, addr string) accounts.Endpoint {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	p, _ := strconv.Atoi(port)
	return accounts.Endpoint{Host: host, Port: p, Security: accounts.SecurityNone}
}

// Account is a fresh pass-through user of the test Dovecot, and the IMAP
// config to log in as it directly.
func Account(t testing.TB) (*login.Account, imap.Config) {
	t.Helper()
	return account(t, "", accounts.ModePassthrough)
}

// SendAccount is a fresh app-password user of the test Dovecot who
// submits to smtpAddr, and the IMAP config to log in as it directly.
func SendAccount(t testing.TB, smtpAddr string) (*login.Account, imap.Config) {
	t.Helper()
	return account(t, smtpAddr, accounts.ModeAppPassword)
}

func account(t testing.TB, smtpAddr string, mode string) (*login.Account, imap.Config) {
	t.Helper()
	addr, pw := testenv.IMAP(t)
	user := testenv.UniqueUser(t)
	u := &accounts.User{Address: user, IMAP: Endpoint(t, addr), Login: accounts.Login{Mode: mode}}
	if smtpAddr != "" {
		u.SMTP = Endpoint(t, smtpAddr)
	}
	acct := &login.Account{Principal: &accounts.Principal{User: u, Upstream: accounts.Credentials{Username: user, Password: pw}}}
	cfg := imap.Config{Addr: addr, Security: imap.SecurityNone, Username: user, Password: pw,
		DialTimeout: 10 * time.Second, CommandTimeout: 2 * time.Minute}
	return acct, cfg
}

// Dial is a second IMAP client of the user ("another mail client"),
// logged out at the test's end.
func Dial(t testing.TB, cfg imap.Config) *imap.Session {
	t.Helper()
	s, err := imap.Dial(Context(t), cfg)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Message is a small text/plain message with a unique Message-ID.
func Message(subject, body string) []byte {
	return fmt.Appendf(nil, "From: Alice <alice@example.test>\r\nTo: bob@example.test\r\nSubject: %s\r\n"+
		"Date: Mon, 02 Jan 2006 15:04:05 +0000\r\nMessage-ID: <%s.%d@test>\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n", subject, subject, time.Now().UnixNano(), body)
}

// Seed appends n small messages to mailbox.
func Seed(t testing.TB, s *imap.Session, mailbox string, n int) {
	t.Helper()
	ctx := Context(t)
	for i := range n {
		raw := Message("seed "+strconv.Itoa(i), "body "+strconv.Itoa(i))
		if _, err := s.Append(ctx, mailbox, nil, time.Time{}, bytes.NewReader(raw), int64(len(raw))); err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
	}
}

// Messages returns every message of a mailbox with its flags, read with
// s (selected read-only).
func Messages(t testing.TB, s *imap.Session, mailbox string) (msgs [][]byte, flags [][]string) {
	t.Helper()
	ctx := Context(t)
	if _, err := s.Select(ctx, mailbox, true); err != nil {
		t.Fatal(err)
	}
	infos, err := s.FetchFlags(ctx, imap.AllUIDs(), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, fi := range infos {
		var b bytes.Buffer
		if _, err := s.FetchMessage(ctx, fi.UID, &b); err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, b.Bytes())
		flags = append(flags, fi.Flags)
	}
	return msgs, flags
}
