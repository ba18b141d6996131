package httpserve

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

// writeSelfSigned writes a fresh self-signed certificate for localhost
// with the given serial to certFile/keyFile.
func writeSelfSigned(t *testing.T, certFile, keyFile string, serial int64) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	// Write to a temporary name and rename, as certbot's symlink swap does,
	// so a handshake never sees half a file.
	for _, f := range []struct {
		path, typ string
		der       []byte
	}{{keyFile, "EC PRIVATE KEY", keyDER}, {certFile, "CERTIFICATE", der}} {
		tmp := f.path + ".new"
		if err := os.WriteFile(tmp, pem.EncodeToMemory(&pem.Block{Type: f.typ, Bytes: f.der}), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, f.path); err != nil {
			t.Fatal(err)
		}
	}
}

// handshakeSerial connects to addr and returns the serial of the
// certificate the server presented.
func handshakeSerial(t *testing.T, addr string) int64 {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"}) // self-signed on purpose
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

func TestCertificateReloadedWhenFilesChange(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeSelfSigned(t, certFile, keyFile, 1)

	srv, err := New(Options{Listen: "127.0.0.1:0", CertFile: certFile, KeyFile: keyFile},
		http.NotFoundHandler(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	// Drive the reloader's clock so the test does not sleep.
	reloader := srv.certs
	// Atomic: the handshakes read it on the server's goroutines.
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	reloader.now = func() time.Time { return time.Unix(0, clock.Load()) }
	advance := func(d time.Duration) { clock.Add(int64(d)) }

	ln, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	addr := ln.Addr().String()

	if got := handshakeSerial(t, addr); got != 1 {
		t.Fatalf("first handshake: serial %d, want 1", got)
	}

	writeSelfSigned(t, certFile, keyFile, 2)
	// Make sure the new files differ in mtime even on coarse clocks.
	later := time.Now().Add(2 * time.Second)
	for _, f := range []string{certFile, keyFile} {
		if err := os.Chtimes(f, later, later); err != nil {
			t.Fatal(err)
		}
	}

	// Within the interval the cached certificate is served.
	advance(DefaultReloadInterval / 2)
	if got := handshakeSerial(t, addr); got != 1 {
		t.Fatalf("within the check interval: serial %d, want the cached 1", got)
	}
	// After it, the next handshake sees the renewal.
	advance(DefaultReloadInterval)
	if got := handshakeSerial(t, addr); got != 2 {
		t.Fatalf("after renewal: serial %d, want 2", got)
	}

	// A broken renewal keeps the last good certificate.
	if err := os.WriteFile(certFile, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	advance(2 * DefaultReloadInterval)
	if got := handshakeSerial(t, addr); got != 2 {
		t.Fatalf("after a broken renewal: serial %d, want the previous 2", got)
	}
}

func TestNewRejectsMissingCertificate(t *testing.T) {
	dir := t.TempDir()
	_, err := New(Options{Listen: "127.0.0.1:0", CertFile: filepath.Join(dir, "no.pem"), KeyFile: filepath.Join(dir, "no.key")},
		http.NotFoundHandler(), nil)
	if err == nil {
		t.Fatal("New accepted certificate files that do not exist")
	}
}

func TestPlainHTTPServesAndStops(t *testing.T) {
	srv, err := New(Options{Listen: "127.0.0.1:0"}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "hello")
	}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if srv.TLSConfig() != nil {
		t.Fatal("plain options produced a TLS config")
	}
	ln, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello" {
		t.Fatalf("body %q", body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve after cancel: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
}

func TestACMEOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr bool
	}{
		{"acme with cache", Options{Listen: ":0", ACMEHost: "mail.example.com", ACMECacheDir: t.TempDir()}, false},
		{"acme without cache", Options{Listen: ":0", ACMEHost: "mail.example.com"}, true},
		{"acme and files", Options{Listen: ":0", ACMEHost: "mail.example.com", ACMECacheDir: "x", CertFile: "c", KeyFile: "k"}, true},
		{"cert without key", Options{Listen: ":0", CertFile: "c"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := New(tt.opts, http.NotFoundHandler(), nil)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if tt.opts.Mode() != "acme" || srv.TLSConfig() == nil {
				t.Fatal("ACME options did not produce a TLS config")
			}
			if np := srv.TLSConfig().NextProtos; slices.Contains(np, "h2") || !slices.Contains(np, "acme-tls/1") {
				t.Errorf("ACME ALPN offer %v: want acme-tls/1 and no h2", np)
			}
			// The HostPolicy must refuse names other than the configured one.
			if err := srv.acme.HostPolicy(context.Background(), "evil.example.net"); err == nil {
				t.Error("ACME host policy accepted a foreign name")
			}
			if err := srv.acme.HostPolicy(context.Background(), "mail.example.com"); err != nil {
				t.Errorf("ACME host policy refused the configured name: %v", err)
			}
		})
	}
}
