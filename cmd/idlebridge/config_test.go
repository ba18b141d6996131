package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// clearConfigEnv makes sure no IDLEBRIDGE_* variable of the developer's
// shell leaks into a test (t.Setenv restores them afterwards). The
// IDLEBRIDGE_TEST_* variables are not config keys and are left alone.
func clearConfigEnv(t *testing.T) {
	t.Helper()
	leaves, _ := configKeys()
	for k := range leaves {
		name := envPrefix + "_" + strings.ToUpper(strings.ReplaceAll(k, ".", "_"))
		if _, ok := os.LookupEnv(name); ok {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
	}
}

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "idlebridge.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name  string
		file  string // "" = no file
		env   map[string]string
		check func(t *testing.T, c *Config, dir string)
	}{
		{
			name: "defaults",
			check: func(t *testing.T, c *Config, _ string) {
				want := defaultConfig()
				want.PublicURL = "http://localhost:8080"
				if *c != want {
					t.Errorf("got  %+v\nwant %+v", *c, want)
				}
			},
		},
		{
			name: "file values, relative paths resolved against the file",
			file: "listen: 127.0.0.1:9000\ndata_dir: ../data\nusers_dir: users\nheartbeat:\n  max: 30m\nredis:\n  url: redis://127.0.0.1:6379/0\npolicy:\n  require_password: true\n  allow_camera: false\n",
			check: func(t *testing.T, c *Config, dir string) {
				if c.Listen != "127.0.0.1:9000" || c.PublicURL != "http://127.0.0.1:9000" {
					t.Errorf("Listen %q PublicURL %q", c.Listen, c.PublicURL)
				}
				if c.DataDir != filepath.Join(filepath.Dir(dir), "data") || c.UsersDir != filepath.Join(dir, "users") {
					t.Errorf("DataDir %q UsersDir %q, want them under %s", c.DataDir, c.UsersDir, dir)
				}
				if c.Heartbeat.Max != 30*time.Minute || c.Heartbeat.Min != time.Minute {
					t.Errorf("Heartbeat = %+v, want file max and default min", c.Heartbeat)
				}
				if c.Redis.URL != "redis://127.0.0.1:6379/0" || c.Redis.DeviceTTL != 2160*time.Hour {
					t.Errorf("Redis = %+v, want file url and default device_ttl", c.Redis)
				}
				if !c.Policy.RequirePassword || c.Policy.AllowCamera || !c.Policy.AllowSimplePassword {
					t.Errorf("Policy = %+v", c.Policy)
				}
			},
		},
		{
			name: "env only, no file",
			env: map[string]string{
				"IDLEBRIDGE_REDIS_URL":                              "redis://redis:6379/1",
				"IDLEBRIDGE_HEARTBEAT_MAX":                          "90s",
				"IDLEBRIDGE_LOG_LEVEL":                              "debug",
				"IDLEBRIDGE_PUBLIC_URL":                             "https://mail.example.com",
				"IDLEBRIDGE_TLS_CERT":                               "cert.pem",
				"IDLEBRIDGE_POLICY_REQUIRE_PASSWORD":                "true",
				"IDLEBRIDGE_LIMITS_MAX_REQUEST_BYTES":               "1048576",
				"IDLEBRIDGE_LIMITS_MAX_SYNC_RESPONSE_BYTES":         "2097152",
				"IDLEBRIDGE_AUTH_PASSTHROUGH_CACHE_TTL":             "0",
				"IDLEBRIDGE_METRICS_LISTEN":                         "127.0.0.1:9090",
				"IDLEBRIDGE_POLICY_MAX_INACTIVITY_LOCK":             "15m",
				"IDLEBRIDGE_LIMITS_MAX_HEADER_BYTES":                "16384",
				"IDLEBRIDGE_LIMITS_MAX_UNAUTHENTICATED_CONNECTIONS": "64",
				"IDLEBRIDGE_LIMITS_MAX_BODY_BYTES_IN_FLIGHT":        "8388608",
				"IDLEBRIDGE_LIMITS_BODY_TIMEOUT":                    "10s",
				"IDLEBRIDGE_LIMITS_BODY_MIN_RATE":                   "1024",
				"IDLEBRIDGE_PUSH_HIERARCHY_INTERVAL":                "5m",
			},
			check: func(t *testing.T, c *Config, _ string) {
				if c.Redis.URL != "redis://redis:6379/1" || c.Heartbeat.Max != 90*time.Second || c.Log.Level != "debug" {
					t.Errorf("Redis %q Heartbeat.Max %v Log.Level %q", c.Redis.URL, c.Heartbeat.Max, c.Log.Level)
				}
				if c.PublicURL != "https://mail.example.com" || c.TLS.Cert != "cert.pem" || c.Metrics.Listen != "127.0.0.1:9090" {
					t.Errorf("PublicURL %q TLS.Cert %q Metrics %q", c.PublicURL, c.TLS.Cert, c.Metrics.Listen)
				}
				if !c.Policy.RequirePassword || c.Limits.MaxRequestBytes != 1<<20 || c.Limits.MaxSyncResponseBytes != 2<<20 || c.Auth.PassthroughCacheTTL != 0 || c.Policy.MaxInactivityLock != 15*time.Minute {
					t.Errorf("Policy %+v Limits %+v Auth %+v", c.Policy, c.Limits, c.Auth)
				}
				if l := c.Limits; l.MaxHeaderBytes != 16384 || l.MaxUnauthenticated != 64 || l.MaxBodyBytesInFlight != 8<<20 ||
					l.BodyTimeout != 10*time.Second || l.BodyMinBytesPerSecond != 1024 {
					t.Errorf("Limits %+v", l)
				}
				if p := c.Push; p.HierarchyInterval != 5*time.Minute || p.ActiveFor != 10*time.Minute || p.MailPollInterval != 2*time.Minute {
					t.Errorf("Push %+v, want env hierarchy_interval and default others", p)
				}
			},
		},
		{
			name: "env over file",
			file: "listen: 127.0.0.1:9000\nheartbeat: {min: 2m, max: 10m}\nlog: {level: warn}\n",
			env:  map[string]string{"IDLEBRIDGE_HEARTBEAT_MIN": "90s", "IDLEBRIDGE_LISTEN": ":8443"},
			check: func(t *testing.T, c *Config, _ string) {
				if c.Heartbeat.Min != 90*time.Second || c.Heartbeat.Max != 10*time.Minute {
					t.Errorf("Heartbeat = %+v, want env min and file max", c.Heartbeat)
				}
				if c.Listen != ":8443" || c.Log.Level != "warn" {
					t.Errorf("Listen %q Log.Level %q", c.Listen, c.Log.Level)
				}
			},
		},
		{
			name: "TLS derives an https public URL",
			file: "listen: 0.0.0.0:443\ntls: {cert: c.pem, key: k.pem}\n",
			check: func(t *testing.T, c *Config, dir string) {
				if c.PublicURL != "https://localhost" || c.TLS.Cert != filepath.Join(dir, "c.pem") {
					t.Errorf("PublicURL %q TLS %+v", c.PublicURL, c.TLS)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clearConfigEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			path := ""
			if tc.file != "" {
				path = writeConfig(t, tc.file)
			}
			c, err := LoadConfig(path)
			if err != nil {
				t.Fatalf("LoadConfig: %v", err)
			}
			tc.check(t, c, filepath.Dir(path))
		})
	}
}

func TestLoadConfigErrors(t *testing.T) {
	tests := []struct {
		name, file string
		env        map[string]string
		want       []string // substrings of the error
	}{
		{name: "unknown top-level key", file: "listen: :8080\nlisten_addr: :9\n", want: []string{`unknown key "listen_addr"`}},
		{name: "unknown nested key", file: "heartbeat:\n  mn: 30s\n", want: []string{`"heartbeat.mn"`}},
		{name: "bad duration in file", file: "heartbeat: {max: 10 minutes}\n", want: []string{"heartbeat.max", "10 minutes"}},
		{name: "bare number for a duration", file: "heartbeat: {max: 3540}\n", want: []string{"heartbeat.max", "needs a unit"}},
		{name: "bad duration in env", env: map[string]string{"IDLEBRIDGE_REDIS_DEVICE_TTL": "90d"}, want: []string{"device_ttl", "90d"}},
		{name: "bad int in env", env: map[string]string{"IDLEBRIDGE_LIMITS_MAX_FAILED_LOGINS": "five"}, want: []string{"max_failed_logins"}},
		{name: "not YAML", file: "listen: [\n", want: []string{"config file"}},
		{name: "section given a scalar", file: "tls: yes\n", want: []string{"tls"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clearConfigEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			path := ""
			if tc.file != "" {
				path = writeConfig(t, tc.file)
			}
			c, err := LoadConfig(path)
			if err == nil {
				t.Fatalf("LoadConfig accepted it: %+v", c)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		if _, err := LoadConfig(filepath.Join(t.TempDir(), "nope.yaml")); err == nil {
			t.Error("LoadConfig of a missing file succeeded")
		}
	})
}

func TestConfigValidate(t *testing.T) {
	tlsDir := t.TempDir()
	cert, key := filepath.Join(tlsDir, "c.pem"), filepath.Join(tlsDir, "k.pem")
	for _, f := range []string{cert, key} {
		if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	valid := func() Config {
		c := defaultConfig()
		c.PublicURL = "https://mail.example.com"
		return c
	}
	tests := []struct {
		name   string
		modify func(c *Config)
		want   []string // "" entries: must be valid
	}{
		{name: "defaults are valid", modify: func(*Config) {}},
		{name: "TLS with existing files", modify: func(c *Config) { c.TLS = TLSConfig{Cert: cert, Key: key} }},
		{name: "policy limits", modify: func(c *Config) { c.Policy.MaxFailedAttempts = 16; c.Policy.MinPasswordLength = 16 }},
		{name: "heartbeat min over max", modify: func(c *Config) { c.Heartbeat = HeartbeatConfig{Min: 90 * time.Second, Max: 60 * time.Second} },
			want: []string{"heartbeat.min (1m30s) must not exceed heartbeat.max (1m0s)"}},
		{name: "heartbeat max too large", modify: func(c *Config) { c.Heartbeat.Max = time.Hour }, want: []string{"heartbeat.max (1h0m0s)", "3540s"}},
		{name: "heartbeat fractional", modify: func(c *Config) { c.Heartbeat.Min = 1500 * time.Millisecond }, want: []string{"heartbeat.min", "whole number of seconds"}},
		{name: "listen", modify: func(c *Config) { c.Listen = "8080" }, want: []string{"listen:", `"8080"`}},
		{name: "public url", modify: func(c *Config) { c.PublicURL = "mail.example.com" }, want: []string{"public_url"}},
		{name: "dav poll", modify: func(c *Config) { c.DAV.PollIdle = time.Second }, want: []string{"dav: poll_active"}},
		{name: "dav zone", modify: func(c *Config) { c.DAV.UserZone = "Mars/Olympus" }, want: []string{"dav.user_zone"}},
		{name: "tls half", modify: func(c *Config) { c.TLS.Cert = cert }, want: []string{"tls.cert and tls.key"}},
		{name: "tls missing file", modify: func(c *Config) { c.TLS = TLSConfig{Cert: cert, Key: key + ".nope"} }, want: []string{"tls.key:"}},
		{name: "redis url", modify: func(c *Config) { c.Redis.URL = "http://x" }, want: []string{"redis.url"}},
		{name: "device ttl", modify: func(c *Config) { c.Redis.DeviceTTL = 0 }, want: []string{"redis.device_ttl"}},
		{name: "log", modify: func(c *Config) { c.Log = LogConfig{Level: "loud", Format: "xml"} }, want: []string{"log.level", "log.format"}},
		{name: "policy", modify: func(c *Config) {
			c.Policy.MinPasswordLength = 0
			c.Policy.MaxFailedAttempts = 3
			c.Policy.MaxInactivityLock = 3 * time.Hour
			c.Policy.MinComplexCharacters = 5
		}, want: []string{"policy.min_password_length (0)", "policy.max_failed_attempts (3)", "policy.max_inactivity_lock", "policy.min_complex_characters"}},
		{name: "limits", modify: func(c *Config) { c.Limits = LimitsConfig{MaxFailedLogins: 5} }, want: []string{"limits.max_request_bytes", "limits.max_sync_response_bytes", "limits.login_backoff_max"}},
		{name: "auth ttl", modify: func(c *Config) { c.Auth.PassthroughCacheTTL = 48 * time.Hour }, want: []string{"auth.passthrough_cache_ttl"}},
		{name: "metrics", modify: func(c *Config) { c.Metrics.Listen = "nine" }, want: []string{"metrics.listen"}},
		{name: "push intervals", modify: func(c *Config) { c.Push = PushConfig{ActiveFor: time.Minute} },
			want: []string{"push.mail_poll_interval (0s) must be at least 1s", "push.hierarchy_interval"}},
		{name: "push and upstream", modify: func(c *Config) {
			c.Push.ExtraIdleConnections = -1
			c.Upstream.SessionIdle = 0
		}, want: []string{"push.extra_idle_connections (-1)", "upstream.session_idle"}},
		{name: "empty dirs", modify: func(c *Config) { c.DataDir, c.UsersDir = "", "" }, want: []string{"data_dir", "users_dir"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.modify(&c)
			err := c.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate accepted %+v", c)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// The example file shipped in deploy/ must load and validate as it is.
func TestExampleConfig(t *testing.T) {
	clearConfigEnv(t)
	path := filepath.Join("..", "..", "deploy", "idlebridge.example.yaml")
	c, err := LoadConfig(path)
	if err != nil {
		t.Fatalf("LoadConfig(%s): %v", path, err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	repo, _ := filepath.Abs(filepath.Join("..", ".."))
	if c.DataDir != filepath.Join(repo, "data") || c.UsersDir != filepath.Join(repo, "deploy", "users") {
		t.Errorf("DataDir %q UsersDir %q, want repo/data and repo/deploy/users", c.DataDir, c.UsersDir)
	}
	if c.Listen != "127.0.0.1:8080" {
		t.Errorf("Listen = %q", c.Listen)
	}
}
