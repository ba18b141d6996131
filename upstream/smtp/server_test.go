package smtp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

// received is one transaction the test server accepted.
type received struct {
	From  string
	UTF8  bool
	Rcpts []string
	Data  []byte
	User  string // authenticated user, "" if none
}

// testServer is an in-process submission server with scriptable
// failures, for what the shared sink cannot do (AUTH, refusals, limits).
type testServer struct {
	Addr string

	mu       sync.Mutex
	got      []received
	user     string // accepted credentials; "" offers no AUTH
	pass     string
	rejectTo map[string]*gosmtp.SMTPError // RCPT refusals by address
	mailErr  *gosmtp.SMTPError            // MAIL refusal
	dataErr  *gosmtp.SMTPError            // refusal after DATA
	hold     chan struct{}                // when set, the answer to the final dot waits for its close
}

type serverOpts struct {
	user, pass string
	tls        string // "", "tls" (implicit) or "starttls"
	maxBytes   int64
	utf8       bool
}

func startServer(t *testing.T, o serverOpts) (*testServer, *tls.Config) {
	t.Helper()
	ts := &testServer{user: o.user, pass: o.pass, rejectTo: map[string]*gosmtp.SMTPError{}}
	s := gosmtp.NewServer(gosmtp.BackendFunc(func(c *gosmtp.Conn) (gosmtp.Session, error) {
		return &testSession{ts: ts}, nil
	}))
	s.Domain = "localhost"
	s.AllowInsecureAuth = true
	s.MaxMessageBytes = o.maxBytes
	s.EnableSMTPUTF8 = o.utf8
	s.ReadTimeout = 10 * time.Second
	s.WriteTimeout = 10 * time.Second
	var clientTLS *tls.Config
	var ln net.Listener
	var err error
	if o.tls != "" {
		serverTLS, ct := selfSigned(t)
		clientTLS = ct
		s.TLSConfig = serverTLS
		if o.tls == "tls" {
			ln, err = tls.Listen("tcp", "127.0.0.1:0", serverTLS)
		} else {
			ln, err = net.Listen("tcp", "127.0.0.1:0")
		}
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	ts.Addr = ln.Addr().String()
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Close() })
	return ts, clientTLS
}

func (ts *testServer) messages() []received {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]received(nil), ts.got...)
}

type testSession struct {
	ts   *testServer
	cur  received
	user string
}

func (s *testSession) AuthMechanisms() []string {
	if s.ts.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *testSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != s.ts.user || password != s.ts.pass {
			return gosmtp.ErrAuthFailed
		}
		s.user = username
		return nil
	}), nil
}

func (s *testSession) Mail(from string, opts *gosmtp.MailOptions) error {
	if s.ts.user != "" && s.user == "" {
		return gosmtp.ErrAuthRequired
	}
	if s.ts.mailErr != nil {
		return s.ts.mailErr
	}
	s.cur = received{From: from, UTF8: opts != nil && opts.UTF8, User: s.user}
	return nil
}

func (s *testSession) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	s.ts.mu.Lock()
	e := s.ts.rejectTo[to]
	s.ts.mu.Unlock()
	if e != nil {
		return e
	}
	s.cur.Rcpts = append(s.cur.Rcpts, to)
	return nil
}

func (s *testSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.ts.dataErr != nil {
		return s.ts.dataErr
	}
	if s.ts.hold != nil {
		<-s.ts.hold
	}
	s.cur.Data = b
	s.ts.mu.Lock()
	s.ts.got = append(s.ts.got, s.cur)
	s.ts.mu.Unlock()
	return nil
}

func (s *testSession) Reset()        { s.cur = received{} }
func (s *testSession) Logout() error { return nil }

// selfSigned makes a certificate for 127.0.0.1 and a client config that
// trusts it.
func selfSigned(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: pool}
}
