// Package bridgetest starts the whole bridge — HTTP front, mail engine,
// push hub, a real store engine — on a loopback port in front of the test
// Dovecot, and hands out ready device clients. Most end-to-end tests are a
// few lines on top of Start (the client/server pair of go-imap's tests).
package bridgetest

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/bridge"
	"github.com/idlebridge/idlebridge/bridge/accounts"
	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/bridge/imappools"
	"github.com/idlebridge/idlebridge/bridge/mail"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/internal/httpserve"
	"github.com/idlebridge/idlebridge/internal/testenv"
	"github.com/idlebridge/idlebridge/upstream/imap"
	"golang.org/x/crypto/bcrypt"
)

// Options choose the engine and tune the bridge under test.
type Options struct {
	// Redis runs the store, bus and leases on the test Redis instead of
	// the embedded engine and the in-process bus.
	Redis bool
	// RedisURL overrides the shared test Redis (a private one from
	// testenv.StartRedis, for outage tests).
	RedisURL string
	// Store, Bus and Leases, when set, are shared with another Env (two
	// instances in front of one Redis).
	Store  state.Store
	Bus    state.Bus
	Leases state.Leases
	// User is the address to use (default: a fresh unique one).
	User string
	// IMAPAddr points the user's file at another address than the test
	// Dovecot (a Proxy in front of it, for outage tests).
	IMAPAddr string
	// Instance names the instance in leases.
	Instance string
	// Push tunes the hub (short lease TTLs in failover tests).
	Push bridge.PushOptions
	// AppPassword, when set, makes the user an app-password user instead
	// of a passthrough one.
	AppPassword *AppPassword
	// Upstream tunes the request path's IMAP pools (hooks for counting).
	Upstream imappools.Options
	// Limiter, when set, is the front's failed-login back-off.
	Limiter *activesync.LoginLimiter
	// MaxDevices is the per-user device cap (default the bridge's).
	MaxDevices int
	// AuthCacheTTL is how long a verified password is remembered (default
	// a minute); negative disables the cache, so every request logs in.
	AuthCacheTTL time.Duration
	// Log receives the bridge's logs (default: discarded unless
	// IDLEBRIDGE_TEST_LOG=1).
	Log *slog.Logger
	// DAV gives the user caldav: and carddav: lines pointing at the test
	// Radicale (testenv.DAVURL), for classes that talk to it.
	DAV bool
	// UserFileExtra is appended to the user's file (e.g. a gal: section).
	UserFileExtra string
	// Files are more files for the users directory, by name (a domain's
	// defaults, "@example.test.yaml").
	Files map[string]string
	// Classes returns the item classes to serve beside mail; it is called
	// once the store and the user exist (env holds them), before the
	// bridge is built.
	Classes func(env *Env) []engine.Class
	// MailOptions tune the mail engine under test.
	MailOptions mail.Options
	// WatchUsers reloads the users directory when a file changes, as
	// serve does (tests that rewrite Env.UserFile); off by default, so
	// tests that count goroutines see none of it.
	WatchUsers bool
}

// AppPassword is an app-password login: the device's password and the
// provider secret the bridge logs in with (which need not be right).
type AppPassword struct {
	Device, Upstream string
}

// Env is a running bridge in front of the test Dovecot.
type Env struct {
	URL      string
	User     string
	Password string
	IMAPAddr string
	Store    state.Store
	Bus      state.Bus
	Leases   state.Leases
	Bridge   *bridge.Bridge
	Server   *activesync.Server
	Mail     *bridge.Mail
	Push     *bridge.Push
	HTTP     *httptest.Server
	// UsersDir is the users directory; a test rewrites the user's file
	// there (UserFile) and the directory reloads it.
	UsersDir string
}

// UserFile is the path of the user's file in UsersDir.
func (e *Env) UserFile() string { return filepath.Join(e.UsersDir, e.User+".yaml") }

// Start runs a bridge for one user of the test Dovecot and stops it when
// the test ends.
func Start(t testing.TB, o Options) *Env {
	t.Helper()
	imapAddr, pass := testenv.IMAP(t)
	user := o.User
	if user == "" {
		user = testenv.UniqueUser(t)
	}
	fileAddr := imapAddr
	if o.IMAPAddr != "" {
		fileAddr = o.IMAPAddr
	}
	host, port, err := net.SplitHostPort(fileAddr)
	if err != nil {
		t.Fatal(err)
	}
	usersDir := t.TempDir()
	userFile := fmt.Sprintf("imap: {host: %s, port: %s, security: none}\nlogin: {mode: passthrough}\n", host, port)
	if ap := o.AppPassword; ap != nil {
		hash, err := bcrypt.GenerateFromPassword([]byte(ap.Device), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		userFile = fmt.Sprintf("imap: {host: %s, port: %s, security: none}\nlogin: {mode: app-password, device_password_bcrypt: %q, upstream_password: %q}\n",
			host, port, hash, ap.Upstream)
		pass = ap.Device
	}
	if o.DAV {
		dav := testenv.DAVURL(t)
		userFile = fmt.Sprintf("caldav: %q\ncarddav: %q\n", dav, dav) + userFile
	}
	if smtpAddr := os.Getenv(testenv.EnvSMTPAddr); smtpAddr != "" {
		sh, sp, _ := net.SplitHostPort(smtpAddr)
		userFile = fmt.Sprintf("smtp: {host: %s, port: %s, security: none}\n", sh, sp) + userFile
	}
	userFile += o.UserFileExtra
	if err := os.WriteFile(filepath.Join(usersDir, user+".yaml"), []byte(userFile), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, content := range o.Files {
		if err := os.WriteFile(filepath.Join(usersDir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	log := o.Log
	if log == nil {
		if os.Getenv("IDLEBRIDGE_TEST_LOG") == "1" {
			log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		} else {
			log = slog.New(slog.DiscardHandler)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)

	e := &Env{User: user, Password: pass, IMAPAddr: imapAddr, Store: o.Store, Bus: o.Bus, Leases: o.Leases, UsersDir: usersDir}
	if e.Store == nil {
		if o.Redis {
			url := o.RedisURL
			if url == "" {
				url = testenv.RedisURL(t)
			}
			st, rdb, err := state.Open(ctx, state.Config{RedisURL: url})
			if err != nil {
				t.Fatal(err)
			}
			e.Store, e.Bus, e.Leases = st, state.NewRedisBus(ctx, rdb, log), state.NewRedisLeases(rdb)
			t.Cleanup(func() { _ = e.Store.Close() })
			t.Cleanup(func() { _ = e.Bus.Close() })
		} else {
			st, err := state.OpenEmbedded(filepath.Join(t.TempDir(), "idlebridge.db"), state.EmbeddedOptions{})
			if err != nil {
				t.Fatal(err)
			}
			e.Store, e.Bus, e.Leases = st, state.NewMemoryBus(), state.NewMemoryLeases()
			t.Cleanup(func() { _ = e.Store.Close() })
			t.Cleanup(func() { _ = e.Bus.Close() })
		}
	}
	dir, err := accounts.OpenDirectory(ctx, usersDir, log)
	if err != nil {
		t.Fatal(err)
	}
	if o.WatchUsers {
		watched := make(chan struct{})
		go func() {
			defer close(watched)
			if err := dir.Watch(ctx); err != nil {
				log.Error("watching the test users directory", "err", err)
			}
		}()
		t.Cleanup(func() { cancel(); <-watched })
	}
	ttl := o.AuthCacheTTL
	switch {
	case ttl == 0:
		ttl = time.Minute
	case ttl < 0:
		ttl = 0
	}
	auth := accounts.NewAuthenticator(dir, bridge.IMAPLoginChecker{}, ttl, time.Now)
	up := imappools.New(o.Upstream, log)
	t.Cleanup(up.Close)
	po := o.Push
	if po.Instance == "" {
		po.Instance = o.Instance
	}
	var classes []engine.Class
	if o.Classes != nil {
		classes = o.Classes(e)
	}
	// The production wiring (cmd/idlebridge/serve.go builds the same).
	e.Bridge = bridge.New(bridge.Config{
		Store: e.Store, Auth: auth, Log: log, Upstreams: up, Bus: e.Bus, Leases: e.Leases,
		MailOptions: o.MailOptions, PushOptions: po, Classes: classes, MaxDevicesPerUser: o.MaxDevices,
		Domains: dir.Domain,
	})
	t.Cleanup(e.Bridge.Close)
	e.Mail, e.Push = e.Bridge.Mail, e.Bridge.Push
	e.Server = &activesync.Server{Backend: e.Bridge, PublicURL: "https://bridge.test", Log: log,
		MinHeartbeat: time.Second, MaxHeartbeat: time.Hour, Limiter: o.Limiter, ClientAddr: clientAddr}
	// Served as in production: parked Pings leave their handlers and
	// their connections come back through the ResumeListener.
	e.HTTP = httptest.NewUnstartedServer(e.Server.Handler())
	rl := httpserve.NewResumeListener(e.HTTP.Listener)
	e.HTTP.Listener = rl
	e.Server.Resume = rl.Resume
	cw := httpserve.NewPeerCloseWatcher(log)
	t.Cleanup(func() { _ = cw.Close() })
	e.Server.WatchClose = cw.Watch
	e.HTTP.Start()
	t.Cleanup(e.HTTP.Close)
	e.URL = e.HTTP.URL
	return e
}

// ClientAddrHeader names the client address a test request claims; the
// front under test believes it (loopback has only one address).
const ClientAddrHeader = "X-Test-Client-Addr"

func clientAddr(r *http.Request) netip.Addr {
	if a, err := netip.ParseAddr(r.Header.Get(ClientAddrHeader)); err == nil {
		return a
	}
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

// From returns an HTTP client whose requests claim to come from addr.
func From(addr string, timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: fromTransport{addr}}
}

type fromTransport struct{ addr string }

func (f fromTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(ClientAddrHeader, f.addr)
	return http.DefaultTransport.RoundTrip(r)
}

// Device returns a provisioned device client speaking version (e.g. "16.1").
func (e *Env) Device(t testing.TB, id, version string) *client.Client {
	t.Helper()
	return e.DeviceAs(t, id, version, "TestPhone", "")
}

// DeviceAs is Device with the DeviceType and User-Agent of a client
// family (a Samsung's "SAMSUNGSMG991B", an iPhone's "iPhone").
func (e *Env) DeviceAs(t testing.TB, id, version, deviceType, userAgent string) *client.Client {
	t.Helper()
	c := &client.Client{BaseURL: e.URL, User: e.User, Password: e.Password, DeviceID: id, Version: version, DeviceType: deviceType, UserAgent: userAgent}
	if _, err := c.Provision(context.Background()); err != nil {
		t.Fatalf("provisioning %s: %v", id, err)
	}
	return c
}

// IMAP returns a plain IMAP session of the user — "another mail client".
func (e *Env) IMAP(t testing.TB) *imap.Session {
	t.Helper()
	s, err := imap.Dial(context.Background(), imap.Config{Addr: e.IMAPAddr, Security: imap.SecurityNone, Username: e.User, Password: e.Password})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Message returns a small RFC 5322 message.
func Message(subject, body string) []byte {
	return []byte(strings.ReplaceAll(fmt.Sprintf("From: Bob <bob@example.test>\nTo: Alice <alice@example.test>\nSubject: %s\nDate: %s\nMessage-ID: <%d@example.test>\nContent-Type: text/plain; charset=utf-8\n\n%s\n",
		subject, time.Now().Format(time.RFC1123Z), time.Now().UnixNano(), body), "\n", "\r\n"))
}
