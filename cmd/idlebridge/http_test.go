package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/accounts"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/internal/httpserve"
	"github.com/idlebridge/idlebridge/internal/metrics"
	"github.com/idlebridge/idlebridge/internal/testenv"
)

func TestConfigValidateTLSAndProxies(t *testing.T) {
	valid := func() Config {
		c := defaultConfig()
		c.PublicURL = "https://mail.example.com"
		return c
	}
	tests := []struct {
		name   string
		modify func(c *Config)
		want   string // "" = valid
	}{
		{"acme", func(c *Config) { c.TLS.ACMEHost = "mail.example.com"; c.TLS.ACMEHTTP = ":80" }, ""},
		{"acme bad host", func(c *Config) { c.TLS.ACMEHost = "mail.example.com:443" }, "tls.acme_host"},
		{"acme ip", func(c *Config) { c.TLS.ACMEHost = "localhost" }, "tls.acme_host"},
		{"acme and files", func(c *Config) { c.TLS.ACMEHost = "mail.example.com"; c.TLS.Cert, c.TLS.Key = "c", "k" }, "exclusive"},
		{"acme email alone", func(c *Config) { c.TLS.ACMEEmail = "ops@example.com" }, "need tls.acme_host"},
		{"acme http listen", func(c *Config) { c.TLS.ACMEHost = "mail.example.com"; c.TLS.ACMEHTTP = "80" }, "tls.acme_http_listen"},
		{"acme directory", func(c *Config) { c.TLS.ACMEHost = "mail.example.com"; c.TLS.ACMEDirectory = "http://ca" }, "tls.acme_directory"},
		{"proxies", func(c *Config) { c.TrustedProxies = "10.0.0.0/8, 172.16.0.0/12 192.0.2.7" }, ""},
		{"bad proxy", func(c *Config) { c.TrustedProxies = "10.0.0.0/8, proxy.local" }, "trusted_proxies"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.modify(&c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestHTTPOptions(t *testing.T) {
	c := defaultConfig()
	c.DataDir = "/data"
	c.TLS.ACMEHost = "mail.example.com"
	c.TrustedProxies = "10.0.0.0/8"
	o, err := httpOptions(&c)
	if err != nil {
		t.Fatal(err)
	}
	if o.Mode() != "acme" || o.ACMECacheDir != filepath.Join("/data", "acme") || len(o.TrustedProxies) != 1 {
		t.Fatalf("options = %+v", o)
	}
}

// TestServeHTTP starts both listeners and checks what each serves.
func TestServeHTTP(t *testing.T) {
	clearConfigEnv(t)
	store, err := state.OpenEmbeddedDir(t.TempDir(), state.EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	dir, err := accounts.OpenDirectory(context.Background(), t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	cfg := defaultConfig()
	cfg.Listen = closedPort(t)
	cfg.Metrics.Listen = closedPort(t)

	m := metrics.New()
	observe := easObserver(m)
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		observe("Sync", 200, activesync.Status(3), time.Millisecond)
		_, _ = io.WriteString(w, "app")
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serveHTTP(ctx, &cfg, func(func(net.Conn)) http.Handler { return app }, m, newHealth(store, dir, "embedded"), slog.New(slog.DiscardHandler))
	}()

	get := func(addr, path string) (int, string) {
		t.Helper()
		var lastErr error
		for range 50 { // the listeners come up asynchronously
			resp, err := http.Get("http://" + addr + path)
			if err != nil {
				lastErr = err
				time.Sleep(20 * time.Millisecond)
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp.StatusCode, string(b)
		}
		t.Fatalf("GET %s%s: %v", addr, path, lastErr)
		return 0, ""
	}

	tests := []struct {
		addr, path string
		code       int
		body       string
	}{
		{cfg.Listen, "/Microsoft-Server-ActiveSync", 200, "app"},
		{cfg.Listen, "/healthz", 200, "ok\n"},
		{cfg.Listen, "/readyz", 200, `"ready": true`},
		{cfg.Metrics.Listen, "/healthz", 200, "ok\n"},
		{cfg.Metrics.Listen, "/readyz", 200, `"name": "store"`},
		{cfg.Metrics.Listen, "/metrics", 200, `idlebridge_requests_total{command="Sync",status="eas_3"} 1`},
		{cfg.Metrics.Listen, "/Microsoft-Server-ActiveSync", 404, ""},
	}
	for _, tt := range tests {
		code, body := get(tt.addr, tt.path)
		if code != tt.code || !strings.Contains(body, tt.body) {
			t.Errorf("GET %s on %s = %d %q, want %d containing %q", tt.path, tt.addr, code, truncate(body, 200), tt.code, tt.body)
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serveHTTP after cancel: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serveHTTP did not stop")
	}
}

func TestReadinessChecks(t *testing.T) {
	imapAddr, _ := testenv.IMAP(t)
	host, port := hostPort(t, imapAddr)
	_, dead := hostPort(t, closedPort(t))
	store, err := state.OpenEmbeddedDir(t.TempDir(), state.EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		files        map[string]string
		closeStore   bool
		wantReady    bool
		wantUpstream bool
		wantUsersOK  bool
	}{
		{"no users", nil, false, true, true, true},
		{"reachable upstream", map[string]string{
			"a@example.com.yaml": "imap: {host: " + host + ", port: " + port + ", security: none}\nsmtp: {host: 127.0.0.1, port: 25, security: none}\nlogin: {mode: passthrough}\n",
		}, false, true, true, true},
		{"unreachable upstream is reported, still ready", map[string]string{
			"a@example.com.yaml": "imap: {host: 127.0.0.1, port: " + dead + ", security: none}\nsmtp: {host: 127.0.0.1, port: 25, security: none}\nlogin: {mode: passthrough}\n",
			"b@example.com.yaml": "imap: {port: -1}\n",
		}, false, true, false, false},
		{"store down: not ready", nil, true, false, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			usersDir := t.TempDir()
			for name, content := range tt.files {
				if err := os.WriteFile(filepath.Join(usersDir, name), []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			dir, err := accounts.OpenDirectory(context.Background(), usersDir, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			if tt.closeStore {
				store.Close()
			}
			res := newHealth(store, dir, "embedded").Run(context.Background())
			if res.Ready != tt.wantReady {
				t.Errorf("ready = %v, want %v: %+v", res.Ready, tt.wantReady, res)
			}
			byName := map[string]httpserve.CheckResult{}
			for _, c := range res.Checks {
				byName[c.Name] = c
			}
			if byName["upstream"].OK != tt.wantUpstream || byName["users"].OK != tt.wantUsersOK {
				t.Errorf("checks = %+v", res.Checks)
			}
			body, _ := json.Marshal(res)
			if bytes.Contains(body, []byte("a@example.com")) || bytes.Contains(body, []byte("b@example.com")) {
				t.Errorf("readiness names a user: %s", body)
			}
		})
	}
}

func TestHealthcheckCommand(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/down" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer up.Close()
	tls := httptest.NewTLSServer(http.NotFoundHandler())
	defer tls.Close()
	tlsOK := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer tlsOK.Close()
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"--url", up.URL + "/healthz"}, ""},
		{[]string{"--url", up.URL + "/down"}, "503"},
		{[]string{"--url", tls.URL + "/healthz"}, "404"},
		{[]string{"--url", tlsOK.URL + "/healthz"}, ""}, // self-signed on loopback is accepted
		{[]string{"--url", closedURL(t)}, "refused"},
		{[]string{"--url", "ftp://x"}, "not an http(s) URL"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		err := cmdHealthcheck(context.Background(), tt.args, &out)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("healthcheck %v: %v", tt.args, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("healthcheck %v: err = %v, want %q", tt.args, err, tt.wantErr)
		}
	}
}

func closedURL(t *testing.T) string { return "http://" + closedPort(t) + "/healthz" }

// The files the container setup ships must load: the image's built-in
// config (a heredoc in the Dockerfile), the demo config under the compose
// environment, and the demo user.
func TestDeployFiles(t *testing.T) {
	clearConfigEnv(t)
	root := filepath.Join("..", "..")

	df, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(df), "COPY <<'YAML' /out/etc/idlebridge/idlebridge.yaml\n")
	body, _, ok2 := strings.Cut(rest, "\nYAML\n")
	if !ok || !ok2 {
		t.Fatal("Dockerfile: built-in config heredoc not found")
	}
	imageCfg := writeConfig(t, body)
	c, err := LoadConfig(imageCfg)
	if err != nil {
		t.Fatalf("image config: %v", err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("image config: %v", err)
	}
	if c.DataDir != "/data" || c.UsersDir != "/etc/idlebridge/users" || c.Listen != ":8080" || c.Metrics.Listen != ":9090" {
		t.Errorf("image config = %+v", c)
	}

	// compose.yaml's environment, then the demo file.
	for k, v := range map[string]string{
		"IDLEBRIDGE_LISTEN": ":8080", "IDLEBRIDGE_DATA_DIR": "/data", "IDLEBRIDGE_USERS_DIR": "/etc/idlebridge/users",
		"IDLEBRIDGE_METRICS_LISTEN": ":9090", "IDLEBRIDGE_REDIS_URL": "redis://redis:6379/0",
	} {
		t.Setenv(k, v)
	}
	c, err = LoadConfig(filepath.Join(root, "deploy", "demo", "idlebridge.yaml"))
	if err != nil {
		t.Fatalf("demo config: %v", err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("demo config: %v", err)
	}
	if c.Redis.URL != "redis://redis:6379/0" || c.UsersDir != "/etc/idlebridge/users" {
		t.Errorf("demo config under the compose environment = %+v", c)
	}

	usersDir := filepath.Join(root, "deploy", "demo", "users")
	dir, err := accounts.OpenDirectory(context.Background(), usersDir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if p := dir.Problems(); len(p) > 0 {
		t.Fatalf("demo users: %v", p)
	}
	u, ok := dir.Lookup("demo@example.test")
	if !ok || u.IMAP.Host != "dovecot" || u.CalDAV == "" {
		t.Fatalf("demo user = %+v", u)
	}
}
