package bridge

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/bridge/accounts"
	"github.com/idlebridge/idlebridge/bridge/send"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/internal/mailrig"
	"github.com/idlebridge/idlebridge/internal/testenv"
)

// fixedAuth lets one principal in with one password.
type fixedAuth struct {
	p    *accounts.Principal
	pass string
}

func (f fixedAuth) Authenticate(_ context.Context, address, password string) (*accounts.Principal, error) {
	if address != f.p.User.Address || password != f.pass {
		return nil, accounts.ErrBadCredentials
	}
	return f.p, nil
}

// frontSendEnv is one test user on the real Dovecot whose mail the
// bridge sends through its own send engine.
type frontSendEnv struct {
	acct  *Account
	store state.Store
	ctx   context.Context
}

// newFrontSendEnv needs the test Dovecot; smtpAddr is the submission
// server.
func newFrontSendEnv(t *testing.T, smtpAddr string) *frontSendEnv {
	t.Helper()
	e := &frontSendEnv{ctx: context.Background(), store: mailrig.EmbeddedStore(t)}
	e.acct, _ = mailrig.SendAccount(t, smtpAddr)
	return e
}

// bridge is the production wiring over the env's store, letting in the
// env's user with "devpass".
func (e *frontSendEnv) bridge(t *testing.T) *Bridge {
	t.Helper()
	b := New(Config{Store: e.store, Auth: fixedAuth{p: e.acct.Principal, pass: "devpass"},
		SenderOptions: send.Options{SMTPTimeout: 5 * time.Second}})
	t.Cleanup(b.Close)
	return b
}

// mailboxMessages returns every message of a mailbox.
func (e *frontSendEnv) mailboxMessages(t *testing.T, mailbox string) [][]byte {
	t.Helper()
	s, release, err := send.DialSessions{}.Acquire(e.ctx, e.acct)
	if err != nil {
		t.Fatal(err)
	}
	defer release(false)
	msgs, _ := mailrig.Messages(t, s, mailbox)
	return msgs
}

// TestSendMailThroughFront sends through the HTTP front to the shared
// aiosmtpd sink, in both request forms.
func TestSendMailThroughFront(t *testing.T) {
	sinkAddr, maildir := testenv.SMTP(t)
	e := newFrontSendEnv(t, sinkAddr)
	srv := &activesync.Server{Backend: e.bridge(t), MaxRequestBytes: 1 << 20}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)

	for _, version := range []string{"14.1", "12.1"} {
		t.Run(version, func(t *testing.T) {
			ctx := context.Background()
			c := &client.Client{BaseURL: ts.URL, User: e.acct.Address(), Password: "devpass", DeviceID: "front" + strings.ReplaceAll(version, ".", ""), Version: version}
			if _, err := c.Provision(ctx); err != nil {
				t.Fatal(err)
			}
			marker := "front-" + version + "-" + time.Now().Format("150405.000000000")
			mimeMsg := []byte("From: " + e.acct.Address() + "\r\nTo: bob@example.test\r\nBcc: hidden@example.test\r\nSubject: " + marker + "\r\n\r\nGrüße\r\n")
			var res *client.Response
			var err error
			if version == "14.1" {
				req := wbxml.New(wbxml.ComposeMail, "SendMail")
				req.AddText(wbxml.ComposeMail, "ClientId", marker)
				req.Add(wbxml.ComposeMail, "SaveInSentItems")
				req.AddOpaque(wbxml.ComposeMail, "Mime", mimeMsg)
				res, err = c.Do(ctx, "SendMail", req)
				if err == nil && len(res.Body) == 0 {
					res, err = c.Do(ctx, "SendMail", req) // the device's retry
				}
			} else {
				res, err = c.DoRaw(ctx, "SendMail", client.Params{SaveInSent: true}, mimeMsg, "message/rfc822")
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Body) != 0 {
				t.Errorf("success answered with a body: %x", res.Body)
			}
			found := sinkMessages(t, maildir, marker)
			if len(found) != 1 {
				t.Fatalf("sink holds %d copies, want 1", len(found))
			}
			if !strings.Contains(found[0], "X-MailFrom: "+e.acct.Address()) ||
				!strings.Contains(found[0], "X-RcptTo: bob@example.test, hidden@example.test") ||
				strings.Contains(found[0], "Bcc:") {
				t.Errorf("sink message:\n%s", found[0])
			}
		})
	}
	if sent := e.mailboxMessages(t, "Sent"); len(sent) != 2 {
		t.Errorf("Sent holds %d, want 2", len(sent))
	}

	// A message without recipients is a Status for 14.1 and HTTP 400 for 12.1.
	c14 := &client.Client{BaseURL: ts.URL, User: e.acct.Address(), Password: "devpass", DeviceID: "front141", Version: "14.1"}
	c12 := &client.Client{BaseURL: ts.URL, User: e.acct.Address(), Password: "devpass", DeviceID: "front121", Version: "12.1"}
	for _, c := range []*client.Client{c14, c12} {
		if _, err := c.Provision(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	noRcpt := []byte("From: x@example.test\r\nSubject: none\r\n\r\nhi\r\n")
	req := wbxml.New(wbxml.ComposeMail, "SendMail")
	req.AddText(wbxml.ComposeMail, "ClientId", "none-1")
	req.AddOpaque(wbxml.ComposeMail, "Mime", noRcpt)
	res, err := c14.Do(context.Background(), "SendMail", req)
	if err != nil || res.Status() != "119" {
		t.Errorf("14.1 no recipients: %v %v", res, err)
	}
	_, err = c12.DoRaw(context.Background(), "SendMail", client.Params{}, noRcpt, "message/rfc822")
	if he, ok := err.(*client.HTTPError); !ok || he.Code != 400 {
		t.Errorf("12.1 no recipients: %v, want HTTP 400", err)
	}
}

// sinkMessages returns the sink's messages whose Subject is subject.
func sinkMessages(t *testing.T, maildir, subject string) []string {
	t.Helper()
	var out []string
	for range 30 {
		out = nil
		files, _ := filepath.Glob(filepath.Join(maildir, "new", "*"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err == nil && strings.Contains(string(b), "Subject: "+subject+"\n") {
				out = append(out, string(b))
			}
		}
		if len(out) > 0 {
			return out
		}
		time.Sleep(100 * time.Millisecond)
	}
	return out
}

// TestDeviceRequestRepairsOwedSentCopy: a send whose process died after
// the server accepted it left its Sent copy owed in the store; the user's
// next request (a Sync, not a send) writes it, once, through the
// bridge's production wiring.
func TestDeviceRequestRepairsOwedSentCopy(t *testing.T) {
	sinkAddr, _ := testenv.SMTP(t)
	e := newFrontSendEnv(t, sinkAddr)
	marker := "owed-" + time.Now().Format("150405.000000000")
	msg := []byte("From: " + e.acct.Address() + "\r\nTo: bob@example.test\r\nSubject: " + marker + "\r\n\r\nhi\r\n")
	dead := time.Now().Add(-time.Hour) // its owner is long gone
	if _, err := e.store.PutSubmission(e.ctx, e.acct.Address(), &state.Submission{
		Key: "c:dev1:owed", Device: "dev1", Phase: state.SubmissionAccepted, Owner: "gone/1",
		Updated: dead, Expires: time.Now().Add(time.Hour), SentCopy: msg,
	}, 0); err != nil {
		t.Fatal(err)
	}
	b := e.bridge(t)
	b.DeviceRequest(e.acct, "dev1", "SendMail") // a send repairs only its own message
	b.DeviceRequest(e.acct, "dev1", "Sync")
	b.DeviceRequest(e.acct, "dev1", "Sync") // within ResumeEvery: no second repair
	testenv.WaitFor(t, 30*time.Second, "the owed copy written by the request hook", func() bool {
		rec, err := e.store.GetSubmission(e.ctx, e.acct.Address(), "c:dev1:owed")
		return err == nil && rec.Phase == state.SubmissionDone
	})
	var copies int
	for _, m := range e.mailboxMessages(t, "Sent") {
		if bytes.Contains(m, []byte(marker)) {
			copies++
		}
	}
	if copies != 1 {
		t.Fatalf("Sent holds %d copies of the owed message, want 1", copies)
	}
}
