package httpserve

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestResumeListener(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := NewResumeListener(inner)

	// A new connection comes through Accept.
	dialed, err := net.Dial("tcp", inner.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer dialed.Close()
	first, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	// A resumed one comes back through Accept too, as the same conn.
	go l.Resume(first)
	again, err := l.Accept()
	if err != nil || again != first {
		t.Fatalf("resumed connection: %v %v", again, err)
	}

	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close: %v", err)
	}
	// Resume after Close closes the connection: the client sees EOF.
	l.Resume(first)
	_ = dialed.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := dialed.Read(make([]byte, 1))
	var ne net.Error
	if n != 0 || err == nil || (errors.As(err, &ne) && ne.Timeout()) {
		t.Fatalf("connection resumed after Close still open: %d %v", n, err)
	}
}

// A handler that answers on the raw connection and resumes it, over TLS:
// the client's next request rides the same TLS connection.
func TestResumeOverTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeSelfSigned(t, certFile, keyFile, 1)
	var srv *Server
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
			time.Sleep(50 * time.Millisecond) // answered later, off the handler
			_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nparked")
			srv.Resume(conn)
		}()
	})
	srv, err := New(Options{Listen: "127.0.0.1:0", CertFile: certFile, KeyFile: keyFile}, handler, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = srv.Serve(ctx, ln) }()

	// A client offering HTTP/2 gets HTTP/1.1: a parked Ping can then be
	// taken off its handler.
	tc, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2", "http/1.1"}}) // self-signed on purpose
	if err != nil {
		t.Fatal(err)
	}
	if p := tc.ConnectionState().NegotiatedProtocol; p != "http/1.1" {
		t.Fatalf("ALPN chose %q, want http/1.1", p)
	}
	tc.Close()

	var dials atomic.Int32
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // self-signed on purpose
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
		TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}, // HTTP/1.1, as phones behind proxies
	}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	for _, path := range []string{"/park", "/next", "/park", "/next"} {
		resp, err := c.Get("https://" + ln.Addr().String() + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := strings.TrimPrefix(path, "/"); want == "park" && string(body) != "parked" || want == "next" && string(body) != "next" {
			t.Fatalf("GET %s: %q", path, body)
		}
	}
	if n := dials.Load(); n != 1 {
		t.Fatalf("%d connections, want 1: the resumed TLS connection was not reused", n)
	}
}
