package directory

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/accounts"
	"github.com/idlebridge/idlebridge/internal/testenv"
	"github.com/idlebridge/idlebridge/upstream/dav"
)

// counter counts the requests a client sends.
type counter struct {
	rt http.RoundTripper
	n  atomic.Int64
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.rt.RoundTrip(r)
}

// env is a fresh user of the test Radicale with a client.
type env struct {
	user   string
	home   string
	client *dav.Client
	reqs   *counter
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvUser(t, testenv.UniqueUser(t))
}

func newEnvUser(t testing.TB, user string) *env {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	cnt := &counter{rt: tr}
	c, err := dav.New(dav.Config{URL: testenv.DAVURL(t), Username: user, Password: "secret", Timeout: 2 * time.Minute,
		Transport: cnt, MaxResponseBytes: 256 << 20})
	if err != nil {
		t.Fatal(err)
	}
	return &env{user: user, home: "/" + user + "/", client: c, reqs: cnt}
}

func ctxT(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func (e *env) book(t testing.TB, name string) string {
	t.Helper()
	href := e.home + name + "/"
	if err := e.client.MakeAddressBook(ctxT(t), href, name); err != nil {
		t.Fatal(err)
	}
	return href
}

func (e *env) put(t testing.TB, book, uid, card string) {
	t.Helper()
	if _, err := e.client.Create(ctxT(t), book+uid+".vcf", dav.ContentVCard, []byte(card)); err != nil {
		t.Fatalf("put %s: %v\n%s", uid, err, card)
	}
}

// card builds a v3 card; extra lines go in as they are.
func card(uid, fn, n, email string, extra ...string) string {
	var b strings.Builder
	b.WriteString("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:" + uid + "\r\nFN:" + fn + "\r\nN:" + n + "\r\n")
	if email != "" {
		b.WriteString("EMAIL;TYPE=INTERNET:" + email + "\r\n")
	}
	for _, x := range extra {
		b.WriteString(x + "\r\n")
	}
	b.WriteString("END:VCARD\r\n")
	return b.String()
}

// service is a Service whose resolver hands out the env's user with gal.
func (e *env) service(t testing.TB, gal accounts.GAL, opts Options) *Service {
	t.Helper()
	u := &User{Key: e.user, Addresses: []string{e.user}, DisplayName: "Test User", CardDAV: e.client, CalDAV: e.client, GAL: gal}
	s := New(func(context.Context, activesync.Account) (*User, error) { return u, nil }, opts, nil)
	t.Cleanup(s.Close)
	return s
}

type acct string

func (a acct) Address() string     { return string(a) }
func (a acct) DisplayName() string { return "" }

// waitWarm waits for the background copy of a book to be built.
func waitWarm(t testing.TB, s *Service, user, book string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		x := s.indexes[user+"\x00"+book]
		busy := s.warming[user+"\x00"+book]
		s.mu.Unlock()
		if x != nil && !busy && x.warm() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("local copy of %s not built", book)
}

func names(r *activesync.GALResult) string {
	var out []string
	for _, e := range r.Entries {
		out = append(out, e.DisplayName)
	}
	return fmt.Sprintf("%d:%s", r.Total, strings.Join(out, "|"))
}

// photoLine is a PHOTO of a real (tiny) JPEG, so Photo can re-encode it.
func photoLine(jpeg []byte) string {
	return "PHOTO;ENCODING=b;TYPE=JPEG:" + base64.StdEncoding.EncodeToString(jpeg)
}
