package dav

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/internal/testenv"
)

// wire counts the bytes a client sends and receives on its connections,
// headers included: what a poll really costs.
type wire struct {
	requests  atomic.Int64
	sent, got atomic.Int64
}

type countConn struct {
	net.Conn
	w *wire
}

func (c countConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.w.got.Add(int64(n))
	return n, err
}

func (c countConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.w.sent.Add(int64(n))
	return n, err
}

type countRT struct {
	rt http.RoundTripper
	w  *wire
}

func (c countRT) RoundTrip(r *http.Request) (*http.Response, error) {
	c.w.requests.Add(1)
	return c.rt.RoundTrip(r)
}

func (w *wire) String() string {
	return fmt.Sprintf("%d request(s), %d bytes sent, %d bytes received", w.requests.Load(), w.sent.Load(), w.got.Load())
}

// radicale returns a client for a fresh user of the test Radicale, its
// byte counter and the user's home href (Radicale: /<user>/).
func radicale(t testing.TB) (*Client, *wire, string) {
	t.Helper()
	base := testenv.DAVURL(t)
	user := testenv.UniqueUser(t)
	w := &wire{}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	d := &net.Dialer{}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return countConn{c, w}, nil
	}
	t.Cleanup(tr.CloseIdleConnections)
	c, err := New(Config{URL: base, Username: user, Password: "secret", Timeout: 20 * time.Second, Transport: countRT{tr, w}})
	if err != nil {
		t.Fatal(err)
	}
	return c, w, "/" + user + "/"
}

func ctxT(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// event is a minimal valid VEVENT with the given UID and summary.
func event(uid, summary string) []byte {
	return []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//idlebridge//test//EN\r\nBEGIN:VEVENT\r\nUID:" + uid +
		"\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260105T090000Z\r\nDTEND:20260105T100000Z\r\nSUMMARY:" + summary +
		"\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
}

func card(uid, name string) []byte {
	return []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:" + uid + "\r\nFN:" + name + "\r\nN:" + name + ";;;;\r\nEND:VCARD\r\n")
}

// newCalendar makes a calendar under home for the test.
func newCalendar(t testing.TB, c *Client, home, name string) string {
	t.Helper()
	href := home + name + "/"
	if err := c.MakeCalendar(ctxT(t), href, name, []string{"VEVENT", "VTODO"}, "#FF8800FF"); err != nil {
		t.Fatalf("MakeCalendar %s: %v", href, err)
	}
	return href
}
