package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"path/filepath"

	"github.com/idlebridge/idlebridge/internal/httpserve"
	"github.com/idlebridge/idlebridge/internal/metrics"
)

// httpOptions turns the configuration into the main listener's options.
func httpOptions(cfg *Config) (httpserve.Options, error) {
	proxies, err := cfg.TrustedProxyPrefixes()
	if err != nil {
		return httpserve.Options{}, fmt.Errorf("trusted_proxies: %w", err)
	}
	o := httpserve.Options{
		Listen:             cfg.Listen,
		TrustedProxies:     proxies,
		MaxHeaderBytes:     cfg.Limits.MaxHeaderBytes,
		MaxUnauthenticated: cfg.Limits.MaxUnauthenticated,
	}
	switch {
	case cfg.TLS.ACMEHost != "":
		o.ACMEHost = cfg.TLS.ACMEHost
		o.ACMEEmail = cfg.TLS.ACMEEmail
		o.ACMEHTTPListen = cfg.TLS.ACMEHTTP
		o.ACMEDirectoryURL = cfg.TLS.ACMEDirectory
		o.ACMECacheDir = filepath.Join(cfg.DataDir, "acme")
	case cfg.TLS.Cert != "":
		o.CertFile, o.KeyFile = cfg.TLS.Cert, cfg.TLS.Key
	}
	return o, nil
}

// serveHTTP runs the main listener (app plus /healthz and /readyz) and,
// when metrics.listen is set, the metrics listener (/metrics plus the same
// health endpoints), until ctx ends or one of them fails; then both stop
// gracefully. app builds the handler given the main listener's Resume
// (see httpserve.ResumeListener).
func serveHTTP(ctx context.Context, cfg *Config, app func(resume func(net.Conn)) http.Handler, m *metrics.Metrics, health *httpserve.Health, log *slog.Logger) error {
	opts, err := httpOptions(cfg)
	if err != nil {
		return err
	}
	opts.OnShed = m.ConnectionShed
	// The handler needs the server's Resume and the server needs the
	// handler: bind through a variable set just below.
	var appSrv *httpserve.Server
	handler := app(func(c net.Conn) { appSrv.Resume(c) })
	appSrv, err = httpserve.New(opts, health.Wrap(handler), log)
	if err != nil {
		return err
	}
	mainLn, err := appSrv.Listen()
	if err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	running := 1
	go func() { errc <- appSrv.Serve(ctx, mainLn) }()
	log.Info("listening", "addr", mainLn.Addr().String(), "tls", opts.Mode(), "trusted_proxies", len(opts.TrustedProxies))

	if cfg.Metrics.Listen != "" {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", m.Handler())
		if cfg.Metrics.PProf {
			mux.HandleFunc("GET /debug/pprof/", pprof.Index)
			mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		}
		health.Mount(mux)
		msrv, err := httpserve.New(httpserve.Options{Listen: cfg.Metrics.Listen}, mux, log)
		if err != nil {
			cancel()
			<-errc
			return err
		}
		mln, err := msrv.Listen()
		if err != nil {
			cancel()
			<-errc
			return err
		}
		running++
		go func() { errc <- msrv.Serve(ctx, mln) }()
		log.Info("metrics listening", "addr", mln.Addr().String())
	}

	// The first to return (an error, or nil after ctx ended) stops the rest.
	var first error
	for range running {
		err := <-errc
		if first == nil {
			first = err
		}
		cancel()
	}
	return first
}
