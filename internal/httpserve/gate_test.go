package httpserve

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/internal/testenv"
)

// countingLn counts the bytes the server read from its connections.
type countingLn struct {
	net.Listener
	read atomic.Int64
}

func (l *countingLn) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, n: &l.read}, nil
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// serveGated serves h with opts on loopback and returns the server, its
// address and the byte counter.
func serveGated(t *testing.T, opts Options, h http.Handler) (*Server, string, *countingLn) {
	t.Helper()
	var srv *Server
	return serveGatedInto(t, opts, h, &srv)
}

// TestHeaderBytesAreCapped: a request with 1 MiB of headers is answered
// 431 after at most the cap (plus net/http's 4 KiB slack and one read
// buffer) has been read, not after the whole megabyte.
func TestHeaderBytesAreCapped(t *testing.T) {
	_, addr, cl := serveGated(t, Options{MaxHeaderBytes: 16 << 10}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	go func() {
		_, _ = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n")
		line := "X-Filler: " + strings.Repeat("a", 1000) + "\r\n"
		for range 1024 { // ~1 MiB; the server stops reading long before
			if _, err := io.WriteString(conn, line); err != nil {
				return
			}
		}
		_, _ = io.WriteString(conn, "\r\n")
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("HTTP %d, want 431", resp.StatusCode)
	}
	if n := cl.read.Load(); n > 16<<10+4096+64<<10 {
		t.Errorf("the server read %d header bytes with a 16 KiB cap", n)
	}
}

// TestUnauthenticatedConnectionsAreBounded: past the bound a new
// connection is closed unread; a connection whose request authenticated
// leaves the count and keeps working, which lets a new one in.
func TestUnauthenticatedConnectionsAreBounded(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "ok" {
			MarkAuthenticated(r)
		}
		_, _ = io.WriteString(w, "hello")
	})
	var shed atomic.Int32
	srv, addr, _ := serveGated(t, Options{MaxUnauthenticated: 3, OnShed: func() { shed.Add(1) }}, h)
	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		return c
	}
	get := func(c net.Conn, auth string) (string, error) {
		if _, err := fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n\r\n", auth); err != nil {
			return "", err
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}

	var idle []net.Conn
	for range 3 {
		idle = append(idle, dial())
	}
	testenv.WaitFor(t, 10*time.Second, "three unauthenticated connections", func() bool { return srv.Unauthenticated() == 3 })
	over := dial()
	if _, err := get(over, "wrong"); err == nil {
		t.Fatal("a fourth unauthenticated connection was served")
	}
	if n := shed.Load(); n != 1 {
		t.Errorf("%d connections counted as shed, want 1", n)
	}

	// One of the three authenticates: it stays usable and frees a place.
	if b, err := get(idle[0], "ok"); err != nil || b != "hello" {
		t.Fatalf("authenticated request: %q %v", b, err)
	}
	testenv.WaitFor(t, 10*time.Second, "the authenticated connection to leave the count", func() bool { return srv.Unauthenticated() == 2 })
	if b, err := get(idle[0], "wrong"); err != nil || b != "hello" {
		t.Fatalf("second request on the authenticated connection: %q %v", b, err)
	}
	if b, err := get(dial(), "ok"); err != nil || b != "hello" {
		t.Fatalf("new connection after one authenticated: %q %v", b, err)
	}

	// Closed connections leave the count too.
	for _, c := range idle[1:] {
		_ = c.Close()
	}
	testenv.WaitFor(t, 10*time.Second, "closed connections to leave the count", func() bool { return srv.Unauthenticated() == 0 })
}

// TestGateOverTLS: under TLS the connection is counted from accept (the
// handshake included) and an authenticated request releases it, parked
// and resumed or not.
func TestGateOverTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeSelfSigned(t, certFile, keyFile, 1)
	var srv *Server
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		MarkAuthenticated(r)
		if r.URL.Path != "/park" {
			_, _ = io.WriteString(w, "next")
			return
		}
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		go func() {
			_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nparked")
			srv.Resume(conn)
		}()
	})
	srv, addr, _ := serveGatedInto(t, Options{CertFile: certFile, KeyFile: keyFile, MaxUnauthenticated: 1}, handler, &srv)

	// Handshaking but silent: counted.
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 10*time.Second, "the silent connection to be counted", func() bool { return srv.Unauthenticated() == 1 })
	_ = raw.Close()
	testenv.WaitFor(t, 10*time.Second, "the silent connection to leave", func() bool { return srv.Unauthenticated() == 0 })

	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} // self-signed on purpose
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	for _, path := range []string{"/park", "/next"} {
		resp, err := c.Get("https://" + addr + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		_, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if n := srv.Unauthenticated(); n != 0 {
		t.Fatalf("%d unauthenticated after authenticated requests over TLS", n)
	}
	// The bound of 1 is free again: another client gets in.
	tr2 := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} // self-signed on purpose
	defer tr2.CloseIdleConnections()
	if resp, err := (&http.Client{Transport: tr2, Timeout: 10 * time.Second}).Get("https://" + addr + "/next"); err != nil {
		t.Fatalf("a second client: %v", err)
	} else {
		resp.Body.Close()
	}
}

// serveGatedInto is serveGated that sets *out before serving (handlers
// that Resume need the server).
func serveGatedInto(t *testing.T, opts Options, h http.Handler, out **Server) (*Server, string, *countingLn) {
	t.Helper()
	opts.Listen = "127.0.0.1:0"
	srv, err := New(opts, h, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	*out = srv
	ln, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingLn{Listener: ln}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = srv.Serve(ctx, cl); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return srv, ln.Addr().String(), cl
}
