package send

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/login"
	"github.com/idlebridge/idlebridge/bridge/mailid"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/internal/mailrig"
	"github.com/idlebridge/idlebridge/internal/testenv"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

// submission is one transaction the capture server accepted.
type submission struct {
	from  string
	rcpts []string
	data  []byte
}

// captureSMTP is an in-process submission server (go-smtp) for what the
// shared sink cannot do: AUTH, scripted refusals, byte-exact capture.
type captureSMTP struct {
	addr     string
	mu       sync.Mutex
	got      []submission
	pass     string
	rejectTo map[string]*gosmtp.SMTPError
	mailErr  *gosmtp.SMTPError
	dataErr  *gosmtp.SMTPError
	// dropAfterData hangs up after the final dot instead of answering
	// (the message is not kept).
	dropAfterData bool
}

func startCaptureSMTP(t *testing.T, pass string) *captureSMTP {
	t.Helper()
	c := &captureSMTP{pass: pass, rejectTo: map[string]*gosmtp.SMTPError{}}
	srv := gosmtp.NewServer(gosmtp.BackendFunc(func(conn *gosmtp.Conn) (gosmtp.Session, error) {
		return &captureSession{c: c, conn: conn}, nil
	}))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.EnableSMTPUTF8 = true
	// Real submission servers refuse lines over RFC 5321's 1000 octets.
	srv.MaxLineLength = 1000
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.addr = ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return c
}

func (c *captureSMTP) set(fn func(*captureSMTP)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fn(c)
}

func (c *captureSMTP) all() []submission {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]submission(nil), c.got...)
}

type captureSession struct {
	c      *captureSMTP
	conn   *gosmtp.Conn
	authed bool
	cur    submission
}

func (s *captureSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *captureSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, _, password string) error {
		if password != s.c.pass {
			return gosmtp.ErrAuthFailed
		}
		s.authed = true
		return nil
	}), nil
}
func (s *captureSession) Mail(from string, _ *gosmtp.MailOptions) error {
	if !s.authed {
		return gosmtp.ErrAuthRequired
	}
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	if s.c.mailErr != nil {
		return s.c.mailErr
	}
	s.cur = submission{from: from}
	return nil
}
func (s *captureSession) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	if e := s.c.rejectTo[to]; e != nil {
		return e
	}
	s.cur.rcpts = append(s.cur.rcpts, to)
	return nil
}
func (s *captureSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.c.mu.Lock()
	drop := s.c.dropAfterData
	s.c.mu.Unlock()
	if drop {
		_ = s.conn.Conn().Close()
		return errors.New("dropped")
	}
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	if s.c.dataErr != nil {
		return s.c.dataErr
	}
	s.cur.data = b
	s.c.got = append(s.c.got, s.cur)
	return nil
}
func (s *captureSession) Reset()        { s.cur = submission{} }
func (s *captureSession) Logout() error { return nil }

// sendEnv is one test user on the real Dovecot with a send engine.
type sendEnv struct {
	acct    *login.Account
	store   state.Store
	folders folderIDs
	sender  *Sender
	smtp    *captureSMTP
	ctx     context.Context
}

// newSendEnv needs the test Dovecot; smtpAddr "" starts a capture server.
func newSendEnv(t *testing.T, smtpAddr string) *sendEnv {
	t.Helper()
	e := &sendEnv{ctx: context.Background(), store: mailrig.EmbeddedStore(t)}
	if smtpAddr == "" {
		// The capture server takes the test user's password, as the
		// provider's submission server would.
		_, pass := testenv.IMAP(t)
		e.smtp = startCaptureSMTP(t, pass)
		smtpAddr = e.smtp.addr
	}
	e.acct, _ = mailrig.SendAccount(t, smtpAddr)
	e.folders = folderIDs{}
	e.sender = New(e.store, DialSessions{}, e.folders, nil, Options{SMTPTimeout: 5 * time.Second})
	// The folder IDs, as FolderSync would have given them.
	e.withIMAP(t, func(s *imap.Session) {
		fs, err := s.ListFolders(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i, f := range fs {
			e.folders[strconv.Itoa(i+1)] = f.Name
		}
	})
	return e
}

// folderIDs is the folder map the bridge would keep, ID → mailbox: the
// send engine needs nothing else of it.
type folderIDs map[string]string

func (f folderIDs) MailboxOf(_ context.Context, _ *login.Account, folderID string) (string, bool, error) {
	name, ok := f[folderID]
	return name, ok, nil
}

func (e *sendEnv) withIMAP(t *testing.T, fn func(*imap.Session)) {
	t.Helper()
	s, release, err := DialSessions{}.Acquire(e.ctx, e.acct)
	if err != nil {
		t.Fatal(err)
	}
	defer release(false)
	fn(s)
}

// folderID returns the folder ID of a mailbox.
func (e *sendEnv) folderID(t *testing.T, mailbox string) string {
	t.Helper()
	for id, name := range e.folders {
		if name == mailbox {
			return id
		}
	}
	t.Fatalf("no folder ID for %q", mailbox)
	return ""
}

// appendOriginal stores msg in INBOX and returns its item ID.
func (e *sendEnv) appendOriginal(t *testing.T, msg string) (string, uint32) {
	t.Helper()
	var uid uint32
	e.withIMAP(t, func(s *imap.Session) {
		var err error
		uid, err = s.Append(e.ctx, "INBOX", nil, time.Time{}, bytes.NewReader([]byte(msg)), int64(len(msg)))
		if err != nil || uid == 0 {
			t.Fatalf("append: uid %d, %v", uid, err)
		}
	})
	return mailid.Item(e.folderID(t, "INBOX"), uid), uid
}

// mailboxMessages returns every message of a mailbox with its flags.
func (e *sendEnv) mailboxMessages(t *testing.T, mailbox string) (msgs [][]byte, flags [][]string) {
	t.Helper()
	e.withIMAP(t, func(s *imap.Session) { msgs, flags = mailrig.Messages(t, s, mailbox) })
	return msgs, flags
}

// statusOf is the command Status an error carries (0: none).
func statusOf(err error) int {
	var ae *activesync.Error
	if errors.As(err, &ae) {
		return int(ae.Status)
	}
	return 0
}
