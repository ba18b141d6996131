package imap

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/internal/testenv"
)

func TestDialDovecot(t *testing.T) {
	addr, pw := testenv.IMAP(t)
	imapsAddr, caFile := testenv.IMAPS(t)
	ca := testCA(t, caFile)

	tests := []struct {
		name         string
		cfg          Config
		wantErr      bool
		wantRejected bool
	}{
		{name: "plain", cfg: Config{Addr: addr, Security: SecurityNone, Password: pw}},
		{name: "starttls", cfg: Config{Addr: addr, Security: SecurityStartTLS, Password: pw, TLSConfig: ca}},
		{name: "implicit tls", cfg: Config{Addr: imapsAddr, Security: SecurityTLS, Password: pw, TLSConfig: ca}},
		{name: "wrong password", cfg: Config{Addr: addr, Security: SecurityNone, Password: pw + "x"}, wantErr: true, wantRejected: true},
		{name: "tls unknown CA", cfg: Config{Addr: imapsAddr, Security: SecurityTLS, Password: pw}, wantErr: true},
		{name: "starttls unknown CA", cfg: Config{Addr: addr, Security: SecurityStartTLS, Password: pw}, wantErr: true},
		{name: "bad security", cfg: Config{Addr: addr, Security: "ssl3", Password: pw}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Username = testenv.UniqueUser(t)
			tc.cfg.DialTimeout = 10 * time.Second
			s, err := Dial(testCtx(t), tc.cfg)
			if tc.wantErr {
				if err == nil {
					_ = s.Close()
					t.Fatal("Dial succeeded, want error")
				}
				if got := errors.Is(err, ErrLoginRejected); got != tc.wantRejected {
					t.Fatalf("errors.Is(err, ErrLoginRejected) = %v, want %v (err: %v)", got, tc.wantRejected, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			caps := s.Caps()
			if !caps.CondStore || !caps.Move || !caps.UIDPlus || !caps.Idle || !caps.SpecialUse {
				t.Errorf("Dovecot caps missing something: %+v", caps)
			}
			if err := s.Logout(testCtx(t)); err != nil {
				t.Errorf("Logout: %v", err)
			}
		})
	}
}

func TestCheckLogin(t *testing.T) {
	cfg := plainConfig(t)
	if err := CheckLogin(testCtx(t), cfg); err != nil {
		t.Fatalf("CheckLogin: %v", err)
	}
	cfg.Password = "wrong"
	if err := CheckLogin(testCtx(t), cfg); !errors.Is(err, ErrLoginRejected) {
		t.Fatalf("CheckLogin with wrong password = %v, want ErrLoginRejected", err)
	}
}

// A server that accepts but never greets must not hang Dial: the dial
// timeout closes the connection.
func TestDialSilentServerTimesOut(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	start := time.Now()
	_, err = Dial(testCtx(t), Config{Addr: l.Addr().String(), Security: SecurityNone, DialTimeout: 300 * time.Millisecond})
	if err == nil {
		t.Fatal("Dial to a silent server succeeded")
	}
	if errors.Is(err, ErrLoginRejected) {
		t.Fatalf("silent server reported as login rejection: %v", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Fatalf("Dial took %v despite a 300ms timeout", time.Since(start))
	}
}

func TestDialRefusedIsNotRejection(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = Dial(testCtx(t), Config{Addr: addr, Security: SecurityNone, DialTimeout: 2 * time.Second})
	if err == nil || errors.Is(err, ErrLoginRejected) {
		t.Fatalf("Dial to a closed port = %v, want a non-rejection error", err)
	}
}
