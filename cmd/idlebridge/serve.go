package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge"
	"github.com/idlebridge/idlebridge/bridge/accounts"
	"github.com/idlebridge/idlebridge/bridge/imappools"
	"github.com/idlebridge/idlebridge/bridge/mail"
	"github.com/idlebridge/idlebridge/bridge/send"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/internal/httpserve"
	"github.com/idlebridge/idlebridge/internal/metrics"
	"github.com/idlebridge/idlebridge/internal/quietmem"
)

func cmdServe(ctx context.Context, args []string, logOut io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfgPath := configFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadValidConfig(*cfgPath)
	if err != nil {
		return err
	}
	log, err := newLogger(cfg, logOut)
	if err != nil {
		return err
	}
	slog.SetDefault(log)

	engineStore, rdb, err := state.Open(ctx, state.Config{DataDir: cfg.DataDir, RedisURL: cfg.Redis.URL, DeviceTTL: cfg.Redis.DeviceTTL})
	if err != nil {
		return err
	}
	defer engineStore.Close() // last: with Redis it owns the client the bus and leases use
	m := metrics.New()
	store := state.Observed(engineStore, m.StoreError)
	engine := "embedded (" + cfg.DataDir + ")"
	var (
		bus    state.Bus
		leases state.Leases
	)
	if rdb != nil {
		engine = "redis"
		bus, leases = state.NewRedisBus(ctx, rdb, log), state.NewRedisLeases(rdb)
	} else {
		bus, leases = state.NewMemoryBus(), state.NewMemoryLeases()
	}
	defer bus.Close()

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

	// The heap the set-up burst leaves free goes back to the OS once
	// nothing parks and no upstream session opens or closes for a while.
	// The embedded store's mapped file pages go too: the burst read them
	// all, a parked user needs almost none (state.Embedded.DropMappedPages).
	quiet := quietmem.New(quietBeforeReturn, log, func() {
		m.MemoryReturned()
		if d, ok := engineStore.(interface{ DropMappedPages() error }); ok {
			if err := d.DropMappedPages(); err != nil {
				log.Warn("cannot drop the store's mapped pages", "err", err)
			}
		}
	})
	defer quiet.Stop()
	upstreamConns := func(delta int) {
		m.UpstreamConns(delta)
		quiet.Touch()
	}
	up := imappools.New(imappools.Options{SessionIdle: cfg.Upstream.SessionIdle, OnConn: upstreamConns, OnRefused: m.StoredSecretRefused}, log)
	defer up.Close()
	// The embedded engine's file lock keeps every other process out, so a
	// send record left by another process is a crash leftover.
	br := bridge.New(bridge.Config{
		Store: store, Auth: auth, Log: log, Upstreams: up, Bus: bus, Leases: leases,
		MaxDevicesPerUser: cfg.Limits.MaxDevicesPerUser,
		MailOptions:       mail.Options{OnSkipped: m.SyncSkipped, OnRecheck: m.PushRecheck},
		PushOptions: bridge.PushOptions{
			Instance:          instanceName(),
			NoNotify:          !cfg.Push.Notify,
			IdleBudget:        cfg.Push.ExtraIdleConnections,
			ActiveFor:         cfg.Push.ActiveFor,
			PollInterval:      cfg.Push.MailPollInterval,
			HierarchyInterval: cfg.Push.HierarchyInterval,
			OnParked: func(delta int) {
				m.PingParked(delta)
				if delta > 0 {
					quiet.Touch()
				}
			},
			OnWatcher:   m.WatcherActive,
			OnWake:      m.PushLatency,
			OnReconnect: m.UpstreamReconnect,
			OnConn:      upstreamConns,
			OnPanic:     m.PushPanic,
		},
		SenderOptions: send.Options{SoleInstance: rdb == nil},
		Classes:       davClasses(cfg.DAV, store, log),
		Domains:       dir.Domain,
	})
	var front *activesync.Server
	defer func() {
		// Parked Pings answer now (no changes), so devices Ping again
		// at once, elsewhere or after the restart.
		br.Close()
		if front != nil && !front.WaitDetached(5*time.Second) {
			log.Warn("some parked Pings were not answered before stopping")
		}
	}()

	if sw, ok := engineStore.(state.Sweeper); ok {
		go sweepDevices(ctx, sw, log)
	}

	// Large request bodies arrive into unlinked files here (with Redis
	// the data directory may hold nothing else).
	spoolDir := filepath.Join(cfg.DataDir, "spool")
	if err := os.MkdirAll(spoolDir, 0o700); err != nil {
		log.Warn("no spool directory in data_dir; large request bodies go to the system's temporary directory", "err", err)
		spoolDir = ""
	}
	front = &activesync.Server{
		Backend:         br,
		Policy:          cfg.Policy.activesync(),
		PublicURL:       cfg.PublicURL,
		MaxRequestBytes: cfg.Limits.MaxRequestBytes,
		MinHeartbeat:    cfg.Heartbeat.Min,
		MaxHeartbeat:    cfg.Heartbeat.Max,
		Log:             log,

		MaxBodyBytesInFlight: cfg.Limits.MaxBodyBytesInFlight,
		SpoolDir:             spoolDir,
		BodyTimeout:          cfg.Limits.BodyTimeout,
		BodyMinRate:          cfg.Limits.BodyMinBytesPerSecond,
		OnAuthenticated:      httpserve.MarkAuthenticated,
		MaxSyncResponseBytes: cfg.Limits.MaxSyncResponseBytes,
	}
	if cfg.Limits.MaxFailedLogins > 0 {
		front.Limiter = activesync.NewLoginLimiter(cfg.Limits.MaxFailedLogins, cfg.Limits.LoginBackoffMax)
		if cfg.Limits.MaxFailedLoginsPerUser > 0 {
			front.Limiter.UserAllowance = cfg.Limits.MaxFailedLoginsPerUser
		}
	}
	front.Observe = easObserver(m)
	front.OnLogin = m.Login
	proxies, err := cfg.TrustedProxyPrefixes()
	if err != nil {
		return err
	}
	front.ClientAddr = httpserve.ClientAddrFunc(proxies)
	// Parked Pings whose device hung up end within seconds, not at their
	// heartbeat (one epoll goroutine for all of them).
	closeWatch := httpserve.NewPeerCloseWatcher(log)
	defer closeWatch.Close()
	front.WatchClose = closeWatch.Watch

	log.Info("idlebridge serving", "version", version, "public_url", cfg.PublicURL,
		"store", engine, "users", len(dir.Users()), "users_dir", cfg.UsersDir)
	if len(dir.Users()) == 0 {
		log.Warn("no users configured: add one file per user to the users directory (see deploy/users/*.example.yaml)", "users_dir", cfg.UsersDir)
	}
	app := func(resume func(net.Conn)) http.Handler {
		front.Resume = resume
		return front.Handler()
	}
	return serveHTTP(ctx, cfg, app, m, newHealth(store, dir, engine), log)
}

// sweepDevices expires abandoned devices of the embedded engine (Redis
// expires keys by itself).
func sweepDevices(ctx context.Context, emb state.Sweeper, log *slog.Logger) {
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

// instanceName identifies this process in leases: host, pid and a random
// suffix, so a restarted instance never mistakes an old lease for its own.
func instanceName() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%x", host, os.Getpid(), b)
}

// quietBeforeReturn is how long nothing may park and no upstream session
// open or close before the free heap goes back to the OS (quietmem): a few
// seconds is past any burst's tail, and at rest it runs once.
const quietBeforeReturn = 5 * time.Second
