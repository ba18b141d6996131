package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idlebridge/idlebridge/internal/testenv"
	"github.com/idlebridge/idlebridge/upstream/dav"
)

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func hostPort(t *testing.T, addr string) (string, string) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return h, p
}

// TestCheckUser runs check-user against the real test Dovecot, Radicale and
// SMTP sink.
func TestCheckUser(t *testing.T) {
	clearConfigEnv(t)
	imapAddr, password := testenv.IMAP(t)
	imapsAddr, caFile := testenv.IMAPS(t)
	davURL := testenv.DAVURL(t)
	smtpAddr, _ := testenv.SMTP(t)
	_, imapPort := hostPort(t, imapAddr)
	_, imapsPort := hostPort(t, imapsAddr)
	_, smtpPort := hostPort(t, smtpAddr)
	_, deadPort := hostPort(t, closedPort(t))

	const envVar = "IDLEBRIDGE_TEST_CHECKUSER_PASSWORD"
	tests := []struct {
		name     string
		file     string // user file; %s verbs filled in below
		password string // "" = the right one
		noCA     bool   // do not trust the test CA
		wantErr  []string
		wantOut  []string
	}{
		{
			name: "good passthrough user over STARTTLS",
			file: "imap: {host: 127.0.0.1, port: " + imapPort + ", security: starttls}\n" +
				"smtp: {host: 127.0.0.1, port: " + smtpPort + ", security: none}\n" +
				"caldav: " + davURL + "\ncarddav: " + davURL + "\nlogin: {mode: passthrough}\n",
			wantOut: []string{"ok    IMAP connect", "ok    IMAP login", "IMAP capabilities", "ok    IMAP folders", "inbox=INBOX",
				"ok    SMTP connect", "SMTP login", "ok    CalDAV", "principal /", "ok    CardDAV", "all required parts ok"},
		},
		{
			name: "good user over implicit TLS, no DAV",
			file: "imap: {host: 127.0.0.1, port: " + imapsPort + ", security: tls}\n" +
				"smtp: {host: 127.0.0.1, port: " + smtpPort + ", security: none}\n" +
				"caldav: \"\"\ncarddav: \"\"\nlogin: {mode: passthrough}\n",
			wantOut: []string{"ok    IMAP connect", "(tls)", "ok    IMAP login", "skip  CalDAV", "skip  CardDAV"},
		},
		{
			name: "wrong password names the IMAP login",
			file: "imap: {host: 127.0.0.1, port: " + imapPort + ", security: starttls}\n" +
				"smtp: {host: 127.0.0.1, port: " + smtpPort + ", security: none}\n" +
				"caldav: \"\"\ncarddav: \"\"\nlogin: {mode: passthrough}\n",
			password: "wrong-password",
			wantErr:  []string{"IMAP login: rejected by 127.0.0.1:" + imapPort},
			wantOut:  []string{"ok    IMAP connect", "FAIL  IMAP login", "skip  IMAP folders"},
		},
		{
			name: "wrong IMAP host names the connect failure",
			file: "imap: {host: 127.0.0.1, port: " + deadPort + ", security: starttls}\n" +
				"smtp: {host: 127.0.0.1, port: " + smtpPort + ", security: none}\n" +
				"caldav: \"\"\ncarddav: \"\"\nlogin: {mode: passthrough}\n",
			wantErr: []string{"IMAP connect: 127.0.0.1:" + deadPort, "connection refused"},
			wantOut: []string{"FAIL  IMAP connect", "skip  IMAP login", "ok    SMTP connect"},
		},
		{
			name: "untrusted certificate names the IMAP connect",
			file: "imap: {host: 127.0.0.1, port: " + imapPort + ", security: starttls}\n" +
				"smtp: {host: 127.0.0.1, port: " + smtpPort + ", security: none}\n" +
				"caldav: \"\"\ncarddav: \"\"\nlogin: {mode: passthrough}\n",
			noCA:    true,
			wantErr: []string{"IMAP connect: 127.0.0.1:" + imapPort, "certificate"},
			wantOut: []string{"FAIL  IMAP connect", "skip  IMAP login"},
		},
		{
			name: "wrong SMTP and DAV endpoints",
			file: "imap: {host: 127.0.0.1, port: " + imapPort + ", security: starttls}\n" +
				"smtp: {host: 127.0.0.1, port: " + deadPort + ", security: none}\n" +
				"caldav: http://127.0.0.1:" + deadPort + "/\ncarddav: \"\"\nlogin: {mode: passthrough}\n",
			wantErr: []string{"SMTP connect: 127.0.0.1:" + deadPort, "CalDAV: http://127.0.0.1:" + deadPort},
			wantOut: []string{"ok    IMAP login", "FAIL  SMTP connect", "FAIL  CalDAV", "skip  CardDAV"},
		},
		{
			name: "app-password user uses the secret from the file",
			file: "imap: {host: 127.0.0.1, port: " + imapPort + ", security: starttls}\n" +
				"smtp: {host: 127.0.0.1, port: " + smtpPort + ", security: none}\n" +
				"caldav: \"\"\ncarddav: \"\"\n" +
				// A well-formed bcrypt hash (check-user never checks the device
				// password); the upstream secret is the Dovecot password.
				"login: {mode: app-password, device_password_bcrypt: '$2a$04$9hP9W3o0a9qYDBv0lH3cUOyqkW2ZkRPU5kbJ0mOcxL0Q0XWwS6fEq', upstream_password: '" + password + "'}\n",
			password: "not-used",
			wantOut:  []string{"app-password login", "ok    IMAP login"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user := testenv.UniqueUser(t)
			usersDir := t.TempDir()
			if err := os.WriteFile(filepath.Join(usersDir, user+".yaml"), []byte(tt.file), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg := writeConfig(t, fmt.Sprintf("users_dir: %q\n", usersDir))
			pw := password
			if tt.password != "" {
				pw = tt.password
			}
			t.Setenv(envVar, pw)
			var out bytes.Buffer
			args := []string{"--config", cfg, "--password-env", envVar, "--timeout", "10s", user}
			if !tt.noCA {
				args = append(args, "--ca-file", caFile)
			}
			err := checkUserMain(context.Background(), args, strings.NewReader(""), &out)
			if len(tt.wantErr) == 0 && err != nil {
				t.Fatalf("check-user failed: %v\n%s", err, out.String())
			}
			if len(tt.wantErr) > 0 && err == nil {
				t.Fatalf("check-user passed, want failure\n%s", out.String())
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			if strings.Contains(out.String(), pw) || (err != nil && strings.Contains(err.Error(), pw)) {
				t.Error("the password was printed")
			}
		})
	}
}

func TestCheckUserInputs(t *testing.T) {
	clearConfigEnv(t)
	usersDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(usersDir, "broken@example.com.yaml"), []byte("imap: {port: 99999}\nlogin: {mode: passthrough}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(usersDir, "pt@example.com.yaml"), []byte("preset: fastmail\nlogin: {mode: passthrough}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, fmt.Sprintf("users_dir: %q\n", usersDir))
	tests := []struct {
		name  string
		args  []string
		stdin string
		want  string
	}{
		{"no address", []string{}, "", "exactly one address"},
		{"unknown user", []string{"nobody@example.com"}, "", "no user file for nobody@example.com"},
		{"broken file", []string{"broken@example.com"}, "", "user file:"},
		{"passthrough without password", []string{"pt@example.com"}, "", "no password on standard input"},
		{"password env unset", []string{"--password-env", "IDLEBRIDGE_TEST_UNSET_VAR", "pt@example.com"}, "", "IDLEBRIDGE_TEST_UNSET_VAR is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := checkUserMain(context.Background(), append([]string{"--config", cfg}, tt.args...), strings.NewReader(tt.stdin), &out)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q\n%s", err, tt.want, out.String())
			}
		})
	}
}

// TestCheckUserListsDAVCollections: check-user discovers the user's
// calendars and address books on the test Radicale through upstream/dav
// and names them.
func TestCheckUserListsDAVCollections(t *testing.T) {
	clearConfigEnv(t)
	imapAddr, password := testenv.IMAP(t)
	_, caFile := testenv.IMAPS(t)
	davURL := testenv.DAVURL(t)
	smtpAddr, _ := testenv.SMTP(t)
	_, imapPort := hostPort(t, imapAddr)
	_, smtpPort := hostPort(t, smtpAddr)
	user := testenv.UniqueUser(t)

	c, err := dav.New(dav.Config{URL: davURL, Username: user, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	home := "/" + user + "/"
	if err := c.MakeCalendar(ctx, home+"work/", "Work", []string{"VEVENT"}, ""); err != nil {
		t.Fatal(err)
	}
	if err := c.MakeCalendar(ctx, home+"todo/", "Todo", []string{"VTODO"}, ""); err != nil {
		t.Fatal(err)
	}
	if err := c.MakeAddressBook(ctx, home+"people/", "People"); err != nil {
		t.Fatal(err)
	}

	usersDir := t.TempDir()
	file := "imap: {host: 127.0.0.1, port: " + imapPort + ", security: starttls}\n" +
		"smtp: {host: 127.0.0.1, port: " + smtpPort + ", security: none}\n" +
		"caldav: " + davURL + "\ncarddav: " + davURL + "\nlogin: {mode: passthrough}\n"
	if err := os.WriteFile(filepath.Join(usersDir, user+".yaml"), []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, fmt.Sprintf("users_dir: %q\n", usersDir))
	const envVar = "IDLEBRIDGE_TEST_CHECKUSER_PASSWORD"
	t.Setenv(envVar, password)
	var out bytes.Buffer
	err = checkUserMain(ctx, []string{"--config", cfg, "--password-env", envVar, "--ca-file", caFile, "--timeout", "10s", user}, strings.NewReader(""), &out)
	if err != nil {
		t.Fatalf("check-user: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		"ok    CalDAV: " + davURL + ", principal " + home + ", home " + home + `: 2 calendars: `,
		`"Work" (VEVENT)`, `"Todo" (VTODO)`,
		"ok    CardDAV: " + davURL + ", principal " + home + ", home " + home + `: 1 address book: "People"`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
