// Package httpserve runs the bridge's HTTP listeners: plain HTTP behind a
// TLS-terminating proxy, HTTPS from certificate files that are reloaded
// when renewed, or HTTPS with certificates obtained by ACME (Let's
// Encrypt) for one configured hostname. It also knows which client address
// to believe behind a trusted proxy, and serves health endpoints.
package httpserve

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// Options configure one listener.
type Options struct {
	// Listen is the host:port to serve on.
	Listen string
	// CertFile and KeyFile, both set, serve HTTPS from a PEM pair that is
	// re-read when the files change (checked at most every ReloadInterval).
	CertFile, KeyFile string
	ReloadInterval    time.Duration
	// ACMEHost, when set instead, serves HTTPS with a certificate obtained
	// and renewed by ACME for exactly this hostname (the HostPolicy refuses
	// every other name, so a stranger's SNI cannot make us ask for one).
	ACMEHost     string
	ACMEEmail    string // contact for the CA's expiry notices; optional
	ACMECacheDir string // where account key and certificates are kept
	// ACMEHTTPListen, when set (":80"), serves the HTTP-01 challenge there
	// and redirects everything else to https. Without it only the TLS-ALPN-01
	// challenge on Listen is available, which needs Listen reachable on 443.
	ACMEHTTPListen string
	// ACMEDirectoryURL overrides the CA (default Let's Encrypt production);
	// point it at the staging directory while trying things out.
	ACMEDirectoryURL string
	// TrustedProxies are the peers whose X-Forwarded-For / X-Real-IP are
	// believed; see ClientAddrFunc.
	TrustedProxies []netip.Prefix
	// MaxHeaderBytes caps a request's header bytes (431 beyond; default
	// 32 KiB). MaxUnauthenticated caps the connections open that have not
	// carried an authenticated request (see MarkAuthenticated); past it
	// new connections are closed at once (default 256). See gate.go.
	MaxHeaderBytes     int
	MaxUnauthenticated int
	// OnShed, if set, is told of each connection closed at accept
	// (metrics).
	OnShed func()
}

// Mode names how a Server terminates TLS, for the start-up log line.
func (o Options) Mode() string {
	switch {
	case o.ACMEHost != "":
		return "acme"
	case o.CertFile != "":
		return "tls-files"
	}
	return "http"
}

// shutdownGrace bounds how long a stopping server waits for requests to
// finish. Parked Pings end at once: their context is the server's.
const shutdownGrace = 10 * time.Second

// Server is one configured listener (plus the ACME HTTP-01 listener when
// asked for).
type Server struct {
	opts    Options
	handler http.Handler
	log     *slog.Logger
	tls     *tls.Config // nil for plain HTTP
	acme    *autocert.Manager
	certs   *certReloader // set for certificate files
	resume  *ResumeListener
	gate    *connGate
}

// New checks opts and prepares TLS: certificate files are loaded once now,
// so a wrong path fails at start-up rather than at the first handshake.
func New(opts Options, handler http.Handler, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.Default()
	}
	s := &Server{opts: opts, handler: handler, log: log}
	maxUnauth := opts.MaxUnauthenticated
	if maxUnauth <= 0 {
		maxUnauth = defaultMaxUnauthenticated
	}
	s.gate = &connGate{max: maxUnauth, log: log, onShed: opts.OnShed}
	switch {
	case opts.ACMEHost != "" && opts.CertFile != "":
		return nil, errors.New("httpserve: certificate files and ACME are exclusive")
	case opts.ACMEHost != "":
		if opts.ACMECacheDir == "" {
			return nil, errors.New("httpserve: ACME needs a cache directory")
		}
		m := &autocert.Manager{
			Prompt:     autocert.AcceptTOS,
			HostPolicy: autocert.HostWhitelist(opts.ACMEHost),
			Cache:      autocert.DirCache(opts.ACMECacheDir),
			Email:      opts.ACMEEmail,
		}
		if opts.ACMEDirectoryURL != "" {
			m.Client = &acme.Client{DirectoryURL: opts.ACMEDirectoryURL}
		}
		s.acme = m
		s.tls = m.TLSConfig() // includes acme-tls/1 for TLS-ALPN-01
		s.tls.MinVersion = tls.VersionTLS12
		s.tls.NextProtos = withoutH2(s.tls.NextProtos)
	case opts.CertFile != "" || opts.KeyFile != "":
		if opts.CertFile == "" || opts.KeyFile == "" {
			return nil, errors.New("httpserve: certificate and key files go together")
		}
		r, err := newCertReloader(opts.CertFile, opts.KeyFile, opts.ReloadInterval, func(err error) {
			log.Error("reloading the TLS certificate failed; serving the previous one", "err", err)
		})
		if err != nil {
			return nil, err
		}
		s.certs = r
		s.tls = &tls.Config{
			MinVersion:     tls.VersionTLS12,
			GetCertificate: r.GetCertificate,
			NextProtos:     []string{"http/1.1"}, // see withoutH2
		}
	}
	return s, nil
}

// withoutH2 drops HTTP/2 from the ALPN offer. A parked Ping over
// HTTP/1.1 is a socket and ~1 KB (the front takes the connection over and
// frees its goroutines); an HTTP/2 stream cannot be taken over, so it
// holds its handler goroutine and the connection its own (~27 KB in
// BenchmarkParkedPing's in-handler case, before HTTP/2's buffers). iOS
// negotiates HTTP/2 whenever offered; ActiveSync gains nothing from
// multiplexing (a phone keeps one Ping and one Sync connection).
func withoutH2(protos []string) []string {
	out := []string{}
	for _, p := range protos {
		if p != "h2" {
			out = append(out, p)
		}
	}
	return out
}

// TLSConfig is the server's TLS configuration, nil for plain HTTP.
func (s *Server) TLSConfig() *tls.Config { return s.tls }

// Resume gives a connection a handler took over back to the main server
// (see ResumeListener); before Serve it closes it.
func (s *Server) Resume(c net.Conn) {
	if s.resume == nil {
		_ = c.Close()
		return
	}
	s.resume.Resume(c)
}

// ClientAddr is ClientAddrFunc for the configured trusted proxies.
func (s *Server) ClientAddr() func(*http.Request) netip.Addr {
	return ClientAddrFunc(s.opts.TrustedProxies)
}

func (s *Server) httpServer(ctx context.Context, h http.Handler) *http.Server {
	maxHeader := s.opts.MaxHeaderBytes
	if maxHeader <= 0 {
		maxHeader = defaultMaxHeaderBytes
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 20 * time.Second,
		// net/http reads up to this (plus 4 KiB) before answering 431;
		// its default of 1 MiB let strangers make us hold a megabyte per
		// connection.
		MaxHeaderBytes: maxHeader,
		ConnContext:    withGatedConn,
		// No WriteTimeout: a parked Ping legitimately lasts up to the
		// maximum heartbeat. Bodies are bounded by the handler.
		//
		// An idle keep-alive connection costs a goroutine and two buffers
		// (~17 KB); a phone's second connection sits idle between wake-ups
		// that may be hours apart, so idle ones close after a minute —
		// the next Sync after a wake-up opens a new one.
		IdleTimeout: time.Minute,
		ErrorLog:    slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext: func(net.Listener) context.Context { return ctx },
	}
}

// Listen binds the configured address. Split from Serve so callers (and
// tests on port 0) learn the address before serving.
func (s *Server) Listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", s.opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", s.opts.Listen, err)
	}
	return ln, nil
}

// ListenAndServe is Listen then Serve.
func (s *Server) ListenAndServe(ctx context.Context) error {
	ln, err := s.Listen()
	if err != nil {
		return err
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln (and on ACMEHTTPListen for ACME) until ctx ends, then
// shuts down gracefully; it returns nil after a clean stop, or the first
// listener error.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var servers []*http.Server
	errc := make(chan error, 2)

	main := s.httpServer(ctx, s.handler)
	// Counted on the raw connection, so a TLS handshake counts as well.
	ln = &gateListener{Listener: ln, g: s.gate}
	if s.tls != nil {
		main.TLSConfig = s.tls
		// No HTTP/2 (see withoutH2), even if a caller's config offers it.
		main.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
		ln = tls.NewListener(ln, s.tls)
	}
	s.resume = NewResumeListener(ln)
	servers = append(servers, main)
	go func() { errc <- main.Serve(s.resume) }()

	if s.acme != nil && s.opts.ACMEHTTPListen != "" {
		aln, err := net.Listen("tcp", s.opts.ACMEHTTPListen)
		if err != nil {
			_ = main.Close()
			return fmt.Errorf("listen for ACME HTTP-01 on %s: %w", s.opts.ACMEHTTPListen, err)
		}
		// nil fallback: anything but a challenge is redirected to https.
		challenge := s.httpServer(ctx, s.acme.HTTPHandler(nil))
		servers = append(servers, challenge)
		// Nobody authenticates there: its own gate bounds it.
		aln = &gateListener{Listener: aln, g: &connGate{max: s.gate.max, log: s.log, onShed: s.opts.OnShed}}
		go func() { errc <- challenge.Serve(aln) }()
	}

	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
	}
	shutCtx, stop := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer stop()
	for _, srv := range servers {
		if serr := srv.Shutdown(shutCtx); serr != nil && !errors.Is(serr, context.DeadlineExceeded) && err == nil {
			err = serr
		}
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
