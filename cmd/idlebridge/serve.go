package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge"
	"github.com/idlebridge/idlebridge/bridge/accounts"
	"github.com/idlebridge/idlebridge/bridge/state"
)

func cmdServe(ctx context.Context, args []string, logOut io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfgPath := configFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := LoadConfig(*cfgPath)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	log, err := newLogger(cfg, logOut)
	if err != nil {
		return err
	}
	slog.SetDefault(log)

	store, _, err := state.Open(ctx, state.Config{DataDir: cfg.DataDir, RedisURL: cfg.Redis.URL, DeviceTTL: cfg.Redis.DeviceTTL})
	if err != nil {
		return err
	}
	defer store.Close()
	engine := "embedded (" + cfg.DataDir + ")"
	if cfg.Redis.URL != "" {
		engine = "redis"
	}

	dir, err := accounts.OpenDirectory(ctx, cfg.UsersDir, log)
	if err != nil {
		return err
	}
	go func() {
		if err := dir.Watch(ctx); err != nil && ctx.Err() == nil {
			log.Error("users directory watcher stopped; changes need a restart", "err", err)
		}
	}()
	for _, p := range dir.Problems() {
		log.Error("user file ignored", "problem", p.Error())
	}
	auth := accounts.NewAuthenticator(dir, bridge.IMAPLoginChecker{}, cfg.Auth.PassthroughCacheTTL, time.Now)
	br := bridge.New(store, auth, log)

	if emb, ok := store.(*state.Embedded); ok {
		go sweepDevices(ctx, emb, log)
	}

	front := &activesync.Server{
		Backend:         br,
		Policy:          cfg.Policy.activesync(),
		PublicURL:       cfg.PublicURL,
		MaxRequestBytes: cfg.Limits.MaxRequestBytes,
		Log:             log,
	}
	if cfg.Limits.MaxFailedLogins > 0 {
		front.Limiter = activesync.NewLoginLimiter(cfg.Limits.MaxFailedLogins, cfg.Limits.LoginBackoffMax)
	}

	srv := &http.Server{
		Addr:              cfg.Listen,
		Handler:           front.Handler(),
		ReadHeaderTimeout: 20 * time.Second,
		// No WriteTimeout: a parked Ping legitimately lasts up to the
		// maximum heartbeat. Bodies are bounded by MaxRequestBytes.
		IdleTimeout: 5 * time.Minute,
		ErrorLog:    slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext: func(net.Listener) context.Context { return ctx },
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	log.Info("idlebridge serving", "version", version, "listen", ln.Addr().String(), "public_url", cfg.PublicURL,
		"tls", cfg.TLS.Enabled(), "store", engine, "users", len(dir.Users()), "users_dir", cfg.UsersDir)
	if len(dir.Users()) == 0 {
		log.Warn("no users configured: add one file per user to the users directory (see deploy/users/*.example.yaml)", "users_dir", cfg.UsersDir)
	}

	errc := make(chan error, 1)
	go func() {
		if cfg.TLS.Enabled() {
			errc <- srv.ServeTLS(ln, cfg.TLS.Cert, cfg.TLS.Key)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// sweepDevices expires abandoned devices of the embedded engine (Redis
// expires keys by itself).
func sweepDevices(ctx context.Context, emb *state.Embedded, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := emb.Sweep(ctx, time.Now()); err != nil {
			log.Error("expiring abandoned devices", "err", err)
		} else if n > 0 {
			log.Info("expired abandoned devices", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// activesync turns the policy settings into the protocol's policy.
func (p PolicyConfig) activesync() activesync.Policy {
	return activesync.Policy{
		RequirePassword:      p.RequirePassword,
		AlphanumericPassword: p.AlphanumericPassword,
		MinPasswordLength:    p.MinPasswordLength,
		AllowSimplePassword:  p.AllowSimplePassword,
		MaxInactivityLock:    p.MaxInactivityLock,
		MaxFailedAttempts:    p.MaxFailedAttempts,
		PasswordExpiration:   time.Duration(p.PasswordExpirationDays) * 24 * time.Hour,
		PasswordHistory:      p.PasswordHistory,
		MinComplexCharacters: p.MinComplexCharacters,
		RequireEncryption:    p.RequireEncryption,
		RequireCardEncrypt:   p.RequireCardEncryption,
		DisallowCamera:       !p.AllowCamera,
		DisallowStorageCard:  !p.AllowStorageCard,
		DisallowAttachments:  !p.AttachmentsEnabled,
		MaxAttachmentBytes:   p.MaxAttachmentBytes,
	}
}
