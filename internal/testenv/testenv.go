// Package testenv gives tests the real servers that the test command
// (deploy/testenv/run-tests.sh, behind `make test`) starts on loopback:
// Redis, Dovecot (IMAP), Radicale (CalDAV/CardDAV) and an SMTP sink.
//
// The script exports their addresses in IDLEBRIDGE_TEST_* variables. When a
// variable is missing the test is skipped with a message naming it — unless
// IDLEBRIDGE_TEST_REQUIRE=1 (CI), where a missing server is a failure.
package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Environment variables exported by deploy/testenv/run-tests.sh.
const (
	EnvRequire      = "IDLEBRIDGE_TEST_REQUIRE"       // "1": missing servers fail tests
	EnvRedisURL     = "IDLEBRIDGE_TEST_REDIS_URL"     // redis://127.0.0.1:PORT/0
	EnvRedisServer  = "IDLEBRIDGE_TEST_REDIS_SERVER"  // path of redis-server, for private instances
	EnvIMAPAddr     = "IDLEBRIDGE_TEST_IMAP_ADDR"     // 127.0.0.1:PORT, plain IMAP (STARTTLS offered)
	EnvIMAPSAddr    = "IDLEBRIDGE_TEST_IMAPS_ADDR"    // 127.0.0.1:PORT, implicit TLS
	EnvIMAPPassword = "IDLEBRIDGE_TEST_IMAP_PASSWORD" // the password of every test user
	EnvTLSCA        = "IDLEBRIDGE_TEST_TLS_CA"        // PEM file of the self-signed test CA
	EnvDAVURL       = "IDLEBRIDGE_TEST_DAV_URL"       // http://127.0.0.1:PORT/ (Radicale, any user/password)
	EnvSMTPAddr     = "IDLEBRIDGE_TEST_SMTP_ADDR"     // 127.0.0.1:PORT, SMTP sink
	EnvSMTPMaildir  = "IDLEBRIDGE_TEST_SMTP_MAILDIR"  // Maildir the sink writes to
)

// Required reports whether missing servers must fail tests (CI).
func Required() bool { return os.Getenv(EnvRequire) == "1" }

// Missing skips t, or fails it under IDLEBRIDGE_TEST_REQUIRE=1.
func Missing(t testing.TB, what string) {
	t.Helper()
	msg := what + " is not available (run the tests with `make test`, which starts the test servers)"
	if Required() {
		t.Fatal(msg + "; IDLEBRIDGE_TEST_REQUIRE=1 makes this a failure")
	}
	t.Skip(msg)
}

// Get returns the value of an IDLEBRIDGE_TEST_* variable, or skips/fails.
func Get(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		Missing(t, name)
	}
	return v
}

// RedisURL is the shared test Redis. Tests must namespace their keys (use
// UniqueUser) or flush nothing: several packages use it at once.
func RedisURL(t testing.TB) string { t.Helper(); return Get(t, EnvRedisURL) }

// IMAP returns the plain-IMAP address of the test Dovecot and the password
// every user has. Any user name logs in and gets its own empty mailbox, so
// tests isolate themselves with UniqueUser.
func IMAP(t testing.TB) (addr, password string) {
	t.Helper()
	return Get(t, EnvIMAPAddr), Get(t, EnvIMAPPassword)
}

// IMAPS returns the implicit-TLS address of the test Dovecot and the path
// of the CA certificate that signed its certificate.
func IMAPS(t testing.TB) (addr, caFile string) {
	t.Helper()
	return Get(t, EnvIMAPSAddr), Get(t, EnvTLSCA)
}

// DAVURL returns the base URL of the test Radicale (any user and password).
func DAVURL(t testing.TB) string { t.Helper(); return Get(t, EnvDAVURL) }

// SMTP returns the address of the SMTP sink and the Maildir it writes.
func SMTP(t testing.TB) (addr, maildir string) {
	t.Helper()
	return Get(t, EnvSMTPAddr), Get(t, EnvSMTPMaildir)
}

// Tool returns the path of an external program (e.g. wbxml2xml), or
// skips/fails when it is not installed.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, "program "+name)
	}
	return p
}

// UniqueUser returns a fresh user address such as
// "t-testname-1a2b3c4d@example.test", so tests sharing one server never see
// each other's mail or state.
func UniqueUser(t testing.TB) string {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := strings.ToLower(t.Name())
	name = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, name)
	if len(name) > 24 {
		name = name[:24]
	}
	return "t-" + name + "-" + hex.EncodeToString(b[:]) + "@example.test"
}
