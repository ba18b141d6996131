package httpserve

import (
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/internal/testenv"
)

// TestPeerCloseWatcher: over plain TCP and TLS, a peer's close is
// reported once, without consuming the bytes it sent before; a cancelled
// watch reports nothing.
func TestPeerCloseWatcher(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeSelfSigned(t, certFile, keyFile, 1)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	w := NewPeerCloseWatcher(slog.New(slog.DiscardHandler))
	t.Cleanup(func() { _ = w.Close() })

	for _, useTLS := range []bool{false, true} {
		name := map[bool]string{false: "tcp", true: "tls"}[useTLS]
		t.Run(name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			// pair returns the server and client ends of a connection.
			pair := func() (net.Conn, net.Conn) {
				t.Helper()
				accepted := make(chan net.Conn, 1)
				go func() {
					c, err := ln.Accept()
					if err != nil {
						accepted <- nil
						return
					}
					if useTLS {
						tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}})
						_ = tc.Handshake()
						c = tc
					}
					accepted <- c
				}()
				var cl net.Conn
				cl, err := net.Dial("tcp", ln.Addr().String())
				if err == nil && useTLS {
					tc := tls.Client(cl, &tls.Config{InsecureSkipVerify: true}) // self-signed on purpose
					err = tc.Handshake()
					cl = tc
				}
				if err != nil {
					t.Fatal(err)
				}
				srv := <-accepted
				if srv == nil {
					t.Fatal("accept failed")
				}
				return srv, cl
			}

			// Watched, the peer sends a request and hangs up.
			srv, cl := pair()
			defer srv.Close()
			var gone atomic.Int32
			cancel := w.Watch(srv, func() { gone.Add(1) })
			if _, err := io.WriteString(cl, "pipelined"); err != nil {
				t.Fatal(err)
			}
			_ = cl.Close()
			testenv.WaitFor(t, 10*time.Second, "the peer's close to be reported", func() bool { return gone.Load() == 1 })
			cancel()
			_ = srv.SetReadDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 64)
			n, _ := io.ReadAtLeast(srv, buf, len("pipelined"))
			if string(buf[:n]) != "pipelined" {
				t.Fatalf("read %q after the close was reported, want the bytes sent before it", buf[:n])
			}
			if gone.Load() != 1 {
				t.Fatalf("gone called %d times, want once", gone.Load())
			}

			// Cancelled before the peer hangs up: not reported.
			srv2, cl2 := pair()
			defer srv2.Close()
			var gone2 atomic.Int32
			w.Watch(srv2, func() { gone2.Add(1) })()
			_ = cl2.Close()
			// The watcher goes on: a third, watched, connection's close
			// is reported.
			srv3, cl3 := pair()
			defer srv3.Close()
			var gone3 atomic.Int32
			defer w.Watch(srv3, func() { gone3.Add(1) })()
			_ = cl3.Close()
			testenv.WaitFor(t, 10*time.Second, "the third close", func() bool { return gone3.Load() == 1 })
			if gone2.Load() != 0 {
				t.Fatal("a cancelled watch reported a close")
			}
			if n := w.Watching(); n != 1 {
				t.Fatalf("%d connections watched, want 1 (the third, not yet cancelled)", n)
			}
		})
	}
}
