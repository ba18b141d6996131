package accounts

import (
	"errors"
	"strings"
	"testing"
)

// A bcrypt hash of "device-secret" at the minimum cost, to keep tests fast.
const testDeviceHash = "$2a$04$VUiYSygac6T0v5/MwcKTheYGSSeJy5iSNywUFAg9yvkD3K7wXr3dW"

func noEnv(string) (string, bool) { return "", false }

func TestParseUserFileValid(t *testing.T) {
	env := func(k string) (string, bool) {
		if k == "ALICE_UPSTREAM" {
			return "from-env", true
		}
		return "", false
	}
	tests := []struct {
		name  string
		yaml  string
		check func(t *testing.T, u *User)
	}{
		{
			name: "fastmail preset passthrough",
			yaml: "preset: fastmail\nlogin: {mode: passthrough}\n",
			check: func(t *testing.T, u *User) {
				want := Endpoint{Host: "imap.fastmail.com", Port: 993, Security: SecurityTLS}
				if u.IMAP != want {
					t.Errorf("IMAP = %+v, want %+v", u.IMAP, want)
				}
				if u.SMTP.Addr() != "smtp.fastmail.com:465" {
					t.Errorf("SMTP = %s", u.SMTP.Addr())
				}
				if u.CalDAV != "https://caldav.fastmail.com/dav/" || u.CardDAV != "https://carddav.fastmail.com/dav/" {
					t.Errorf("DAV = %q %q", u.CalDAV, u.CardDAV)
				}
				if u.Login.UpstreamUser != "alice@example.com" {
					t.Errorf("UpstreamUser = %q, want the address", u.Login.UpstreamUser)
				}
			},
		},
		{
			name: "preset fields overridden",
			yaml: "preset: mailbox.org\nimap: {port: 1993}\ncarddav: \"\"\nsent_copy_by_provider: true\nlogin: {mode: passthrough, upstream_user: alice}\n",
			check: func(t *testing.T, u *User) {
				if u.IMAP.Addr() != "imap.mailbox.org:1993" || u.IMAP.Security != SecurityTLS {
					t.Errorf("IMAP = %+v", u.IMAP)
				}
				if u.CalDAV != "https://dav.mailbox.org/" || u.CardDAV != "" {
					t.Errorf("DAV = %q %q, want carddav disabled", u.CalDAV, u.CardDAV)
				}
				if !u.SentCopyByProvider || u.Login.UpstreamUser != "alice" {
					t.Errorf("SentCopyByProvider=%v UpstreamUser=%q", u.SentCopyByProvider, u.Login.UpstreamUser)
				}
			},
		},
		{
			name: "dovecot preset takes smtp host from imap",
			yaml: "preset: dovecot\nimap: {host: mail.example.net}\nlogin: {mode: passthrough}\n",
			check: func(t *testing.T, u *User) {
				if u.IMAP.Addr() != "mail.example.net:993" || u.SMTP.Addr() != "mail.example.net:587" || u.SMTP.Security != SecurityStartTLS {
					t.Errorf("IMAP %+v SMTP %+v", u.IMAP, u.SMTP)
				}
			},
		},
		{
			name: "explicit endpoints, default ports by security, loopback cleartext",
			yaml: "imap: {host: 127.0.0.1, security: none}\nsmtp: {host: localhost, security: starttls}\ncaldav: http://127.0.0.1:5232/\nlogin: {mode: passthrough}\n",
			check: func(t *testing.T, u *User) {
				if u.IMAP.Addr() != "127.0.0.1:143" || u.SMTP.Addr() != "localhost:587" {
					t.Errorf("IMAP %s SMTP %s", u.IMAP.Addr(), u.SMTP.Addr())
				}
			},
		},
		{
			name: "IPv6 literal",
			yaml: "imap: {host: \"::1\", port: 10143, security: none}\nsmtp: {host: \"::1\", port: 2525, security: none}\nlogin: {mode: passthrough}\n",
			check: func(t *testing.T, u *User) {
				if u.IMAP.Addr() != "[::1]:10143" {
					t.Errorf("Addr = %s", u.IMAP.Addr())
				}
			},
		},
		{
			name: "app-password with env secret",
			yaml: "preset: fastmail\nlogin:\n  mode: app-password\n  device_password_bcrypt: \"" + testDeviceHash + "\"\n  upstream_password_env: ALICE_UPSTREAM\n",
			check: func(t *testing.T, u *User) {
				if u.Login.Mode != ModeAppPassword || u.Login.UpstreamPassword != "from-env" || u.Login.DevicePasswordBcrypt != testDeviceHash {
					t.Errorf("Login = %+v", u.Login)
				}
			},
		},
		{
			name: "contacts merge_books defaults to auto",
			yaml: "preset: fastmail\nlogin: {mode: passthrough}\n",
			check: func(t *testing.T, u *User) {
				if u.Contacts.MergeBooks != MergeBooksAuto {
					t.Errorf("MergeBooks = %q, want auto", u.Contacts.MergeBooks)
				}
			},
		},
		{
			name: "contacts merge_books never",
			yaml: "preset: fastmail\ncontacts: {merge_books: never}\nlogin: {mode: passthrough}\n",
			check: func(t *testing.T, u *User) {
				if u.Contacts.MergeBooks != MergeBooksNever {
					t.Errorf("MergeBooks = %q, want never", u.Contacts.MergeBooks)
				}
			},
		},
		{
			name: "contacts section without merge_books",
			yaml: "preset: fastmail\ncontacts: {}\nlogin: {mode: passthrough}\n",
			check: func(t *testing.T, u *User) {
				if u.Contacts.MergeBooks != MergeBooksAuto {
					t.Errorf("MergeBooks = %q, want auto", u.Contacts.MergeBooks)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := ParseUserFile("users/alice@example.com.yaml", "alice@example.com", []byte(tc.yaml), env)
			if err != nil {
				t.Fatalf("ParseUserFile: %v", err)
			}
			if u.Address != "alice@example.com" || u.File != "users/alice@example.com.yaml" {
				t.Errorf("Address %q File %q", u.Address, u.File)
			}
			tc.check(t, u)
		})
	}
}

func TestParseUserFileErrors(t *testing.T) {
	const login = "login: {mode: passthrough}\n"
	tests := []struct {
		name, yaml, field, msg string
	}{
		{"typo at top level", "preset: fastmail\nsent_copy: true\n" + login, "sent_copy", "unknown field"},
		{"typo nested", "preset: fastmail\nimap: {hots: x}\n" + login, "imap.hots", "unknown field"},
		{"typo in login", "preset: fastmail\nlogin: {mode: passthrough, upstream_usr: a}\n", "login.upstream_usr", "unknown field"},
		{"duplicate key", "preset: fastmail\npreset: fastmail\n" + login, "preset", "duplicate"},
		{"port out of range", "preset: fastmail\nimap: {port: 70000}\n" + login, "imap.port", "must be 1-65535"},
		{"port not a number", "preset: fastmail\nimap: {port: abc}\n" + login, "imap.port", "cannot unmarshal"},
		{"unknown preset", "preset: gmail\n" + login, "preset", "unknown preset"},
		{"no imap host", "smtp: {host: smtp.example.com}\n" + login, "imap.host", "required"},
		{"dovecot needs host", "preset: dovecot\n" + login, "imap.host", "required"},
		{"bad security", "preset: fastmail\nsmtp: {security: ssl}\n" + login, "smtp.security", "tls, starttls or none"},
		{"cleartext to remote", "preset: fastmail\nimap: {security: none}\n" + login, "imap.security", "loopback"},
		{"bad host", "imap: {host: \"imap example\"}\nsmtp: {host: x}\n" + login, "imap.host", "not a host"},
		{"caldav not a URL", "preset: fastmail\ncaldav: dav.example.com\n" + login, "caldav", "not an http(s) URL"},
		{"carddav cleartext", "preset: fastmail\ncarddav: http://dav.example.com/\n" + login, "carddav", "clear text"},
		{"dav with credentials", "preset: fastmail\ncaldav: https://u:p@dav.example.com/\n" + login, "caldav", "credentials"},
		{"no mode", "preset: fastmail\n", "login.mode", "required"},
		{"bad mode", "preset: fastmail\nlogin: {mode: oauth}\n", "login.mode", "must be"},
		{"passthrough with hash", "preset: fastmail\nlogin: {mode: passthrough, device_password_bcrypt: x}\n", "login.device_password_bcrypt", "only used with"},
		{"app-password without hash", "preset: fastmail\nlogin: {mode: app-password, upstream_password: x}\n", "login.device_password_bcrypt", "required"},
		{"app-password bad hash", "preset: fastmail\nlogin: {mode: app-password, device_password_bcrypt: plain, upstream_password: x}\n", "login.device_password_bcrypt", "not a bcrypt hash"},
		{"app-password no secret", "preset: fastmail\nlogin: {mode: app-password, device_password_bcrypt: \"" + testDeviceHash + "\"}\n", "login.upstream_password", "required"},
		{"app-password both secrets", "preset: fastmail\nlogin: {mode: app-password, device_password_bcrypt: \"" + testDeviceHash + "\", upstream_password: a, upstream_password_env: B}\n", "login.upstream_password_env", "not both"},
		{"app-password env unset", "preset: fastmail\nlogin: {mode: app-password, device_password_bcrypt: \"" + testDeviceHash + "\", upstream_password_env: NOPE}\n", "login.upstream_password_env", "NOPE is not set"},
		{"not a mapping", "- a\n- b\n", "", "must be a mapping"},
		{"endpoint not a mapping", "preset: fastmail\nimap: imap.example.com\n" + login, "imap", "must be a mapping"},
		{"not YAML", "preset: [\n", "", "not valid YAML"},
		{"empty file", "", "imap.host", "required"},
		{"merge_books typo", "preset: fastmail\ncontacts: {merge_books: sometimes}\n" + login, "contacts.merge_books", "auto, always or never"},
		{"merge_books not a string", "preset: fastmail\ncontacts: {merge_books: [a]}\n" + login, "contacts.merge_books", "cannot unmarshal"},
		{"contacts typo", "preset: fastmail\ncontacts: {merge: always}\n" + login, "contacts.merge", "unknown field"},
		{"too large", "# " + strings.Repeat("x", maxUserFileBytes) + "\n", "", "larger than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := ParseUserFile("users/alice@example.com.yaml", "alice@example.com", []byte(tc.yaml), noEnv)
			if err == nil {
				t.Fatalf("ParseUserFile accepted the file: %+v", u)
			}
			var fe FileError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v (%T) is not a FileError", err, err)
			}
			if fe.File != "users/alice@example.com.yaml" || fe.Field != tc.field || !strings.Contains(fe.Msg, tc.msg) {
				t.Errorf("got %+v, want field %q and a message containing %q", fe, tc.field, tc.msg)
			}
			if !strings.HasPrefix(err.Error(), "users/alice@example.com.yaml: "+tc.field) {
				t.Errorf("Error() = %q does not start with file and field", err.Error())
			}
		})
	}
}

func TestFileErrorFormat(t *testing.T) {
	e := FileError{File: "users/alice@example.com.yaml", Field: "imap.port", Msg: "must be 1-65535"}
	if got, want := e.Error(), "users/alice@example.com.yaml: imap.port: must be 1-65535"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestAddressFromFileName(t *testing.T) {
	tests := []struct {
		name, want string
		ok         bool
	}{
		{"alice@example.com.yaml", "alice@example.com", true},
		{"Bob.Smith@Example.COM.yaml", "bob.smith@example.com", true},
		{"alice@example.com.example.yaml", "", false},
		{"alice.yaml", "", false},
		{".alice@example.com.yaml", "", false},
		{"alice@example.com.yml", "", false},
		{"alice@example.com.yaml~", "", false},
		{"Alice <alice@example.com>.yaml", "", false},
		{".yaml", "", false},
		{"README.md", "", false},
	}
	for _, tc := range tests {
		got, ok := AddressFromFileName(tc.name)
		if got != tc.want || ok != tc.ok {
			t.Errorf("AddressFromFileName(%q) = %q, %v; want %q, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func FuzzParseUserFile(f *testing.F) {
	f.Add([]byte("preset: fastmail\nlogin: {mode: passthrough}\n"))
	f.Add([]byte("preset: dovecot\nimap: {host: mail.example.net, port: 143, security: starttls}\nsmtp: {port: 25}\ncaldav: https://x/\nlogin:\n  mode: app-password\n  device_password_bcrypt: \"" + testDeviceHash + "\"\n  upstream_password_env: X\n"))
	f.Add([]byte("a: &a [*a, *a]\nimap: *a\n"))
	f.Add([]byte("imap: !!binary aGVsbG8=\n"))
	f.Add([]byte("preset: fastmail\ncontacts: {merge_books: always}\nlogin: {mode: passthrough}\n"))
	f.Add([]byte("login: {mode: app-password, device_password_bcrypt: \"$2a$04$x\"}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		env := func(string) (string, bool) { return "secret", true }
		u, err := ParseUserFile("f.yaml", "alice@example.com", data, env)
		if err != nil {
			var fe FileError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a FileError", err)
			}
			return
		}
		// Whatever is accepted must be usable without further checks.
		if u.IMAP.Host == "" || u.SMTP.Host == "" || u.IMAP.Port < 1 || u.IMAP.Port > 65535 || u.SMTP.Port < 1 || u.SMTP.Port > 65535 {
			t.Fatalf("accepted unusable endpoints: %+v %+v", u.IMAP, u.SMTP)
		}
		if !u.IMAP.Security.valid() || !u.SMTP.Security.valid() {
			t.Fatalf("accepted bad security: %+v %+v", u.IMAP, u.SMTP)
		}
		if u.Login.Mode != ModePassthrough && u.Login.Mode != ModeAppPassword {
			t.Fatalf("accepted mode %q", u.Login.Mode)
		}
		if u.Login.Mode == ModeAppPassword && (u.Login.DevicePasswordBcrypt == "" || u.Login.UpstreamPassword == "") {
			t.Fatalf("accepted incomplete app-password login: %+v", u.Login)
		}
	})
}
