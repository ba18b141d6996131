package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/viper"

	"github.com/idlebridge/idlebridge/internal/httpserve"
)

// envPrefix prefixes the environment variables that set config keys:
// "heartbeat.max" is IDLEBRIDGE_HEARTBEAT_MAX.
const envPrefix = "IDLEBRIDGE"

// Config is the server configuration: defaults, overridden by the YAML file,
// overridden by IDLEBRIDGE_* environment variables. The key of each field is
// its mapstructure tag; deploy/idlebridge.example.yaml documents them all.
type Config struct {
	Listen    string    `mapstructure:"listen"`     // HTTP listen address; plain HTTP unless tls is set
	PublicURL string    `mapstructure:"public_url"` // external base URL, announced by Autodiscover
	TLS       TLSConfig `mapstructure:"tls"`
	// TrustedProxies lists the reverse proxies (CIDR prefixes or addresses,
	// separated by commas or spaces) whose X-Forwarded-For / X-Real-IP
	// headers name the client, for the failed-login back-off and the logs.
	// Empty: the TCP peer is the client. A string rather than a list so
	// IDLEBRIDGE_TRUSTED_PROXIES reads the same as the file (and Config
	// stays comparable).
	TrustedProxies string          `mapstructure:"trusted_proxies"`
	DataDir        string          `mapstructure:"data_dir"`  // embedded store and other local state
	UsersDir       string          `mapstructure:"users_dir"` // one <address>.yaml per user
	Redis          RedisConfig     `mapstructure:"redis"`
	Heartbeat      HeartbeatConfig `mapstructure:"heartbeat"`
	Push           PushConfig      `mapstructure:"push"`
	Log            LogConfig       `mapstructure:"log"`
	Policy         PolicyConfig    `mapstructure:"policy"`
	Limits         LimitsConfig    `mapstructure:"limits"`
	Auth           AuthConfig      `mapstructure:"auth"`
	Metrics        MetricsConfig   `mapstructure:"metrics"`
	Upstream       UpstreamConfig  `mapstructure:"upstream"`
	DAV            DAVConfig       `mapstructure:"dav"`
}

// UpstreamConfig tunes the request path's IMAP sessions.
type UpstreamConfig struct {
	// SessionIdle is how long a session stays logged in after the last
	// request used it. Short keeps a parked user at one connection (the
	// watcher's); a wake-up after it costs one login.
	SessionIdle time.Duration `mapstructure:"session_idle"`
}

// DAVConfig tunes calendar and task sync over CalDAV.
type DAVConfig struct {
	// PollActive is how often a watched calendar is polled while its user
	// is active (a request from any of their devices within
	// PollActiveFor); PollIdle otherwise.
	PollActive    time.Duration `mapstructure:"poll_active"`
	PollIdle      time.Duration `mapstructure:"poll_idle"`
	PollActiveFor time.Duration `mapstructure:"poll_active_for"`
	// Timeout bounds each CalDAV request.
	Timeout time.Duration `mapstructure:"timeout"`
	// UserZone is the IANA zone floating times are read in and all-day
	// events are sent in to 12.1–14.1 devices; "" = UTC.
	UserZone string `mapstructure:"user_zone"`
}

// TLSConfig enables HTTPS on Listen: from certificate files (re-read when
// they change, for certbot renewals), or by ACME for one hostname.
type TLSConfig struct {
	Cert string `mapstructure:"cert"` // PEM certificate chain file
	Key  string `mapstructure:"key"`  // PEM private key file
	// ACMEHost obtains and renews the certificate for this one hostname
	// from an ACME CA (Let's Encrypt); exclusive with cert/key. Account key
	// and certificates are cached in <data_dir>/acme.
	ACMEHost      string `mapstructure:"acme_host"`
	ACMEEmail     string `mapstructure:"acme_email"`       // contact for expiry notices; optional
	ACMEHTTP      string `mapstructure:"acme_http_listen"` // HTTP-01 challenge listener, e.g. ":80"; "" = TLS-ALPN-01 on listen only
	ACMEDirectory string `mapstructure:"acme_directory"`   // CA directory URL; "" = Let's Encrypt production
}

// Enabled reports whether the server terminates TLS itself.
func (t TLSConfig) Enabled() bool { return t.Cert != "" || t.ACMEHost != "" }

// RedisConfig selects the Redis store; an empty URL means the embedded store
// in DataDir (single node).
type RedisConfig struct {
	URL       string        `mapstructure:"url"`        // redis://, rediss:// or unix://
	DeviceTTL time.Duration `mapstructure:"device_ttl"` // state of a device not seen for this long is dropped
}

// HeartbeatConfig bounds the Ping HeartbeatInterval a device may ask for; a
// request outside gets Ping Status 5 with the bound (MS-ASCMD 2.2.3.88.1;
// the range is implementation-specific, Exchange's is 60-3540 s).
type HeartbeatConfig struct {
	Min time.Duration `mapstructure:"min"`
	Max time.Duration `mapstructure:"max"`
}

// LogConfig sets up log/slog.
type LogConfig struct {
	Level  string `mapstructure:"level"`  // debug, info, warn, error
	Format string `mapstructure:"format"` // text or json
}

// SlogLevel parses Level.
func (l LogConfig) SlogLevel() (slog.Level, error) {
	var lvl slog.Level
	err := lvl.UnmarshalText([]byte(l.Level))
	return lvl, err
}

// PolicyConfig is the device policy sent in Provision as an EASProvisionDoc
// (MS-ASPROV 2.2.2.28). Only the elements that matter to a mail/calendar
// bridge are configurable; the others are left out of the document, which
// devices read as "no restriction".
type PolicyConfig struct {
	RequirePassword        bool          `mapstructure:"require_password"`         // DevicePasswordEnabled; the password rules below apply only when true
	MinPasswordLength      int           `mapstructure:"min_password_length"`      // MinDevicePasswordLength, 1-16 (1 = no minimum)
	AlphanumericPassword   bool          `mapstructure:"alphanumeric_password"`    // AlphanumericDevicePasswordRequired
	MinComplexCharacters   int           `mapstructure:"min_complex_characters"`   // MinDevicePasswordComplexCharacters, 1-4 character classes
	AllowSimplePassword    bool          `mapstructure:"allow_simple_password"`    // AllowSimpleDevicePassword ("1234", "1111")
	MaxInactivityLock      time.Duration `mapstructure:"max_inactivity_lock"`      // MaxInactivityTimeDeviceLock, whole seconds; 0 = none
	MaxFailedAttempts      int           `mapstructure:"max_failed_attempts"`      // MaxDevicePasswordFailedAttempts, 4-16; 0 = none
	PasswordExpirationDays int           `mapstructure:"password_expiration_days"` // DevicePasswordExpiration; 0 = never
	PasswordHistory        int           `mapstructure:"password_history"`         // DevicePasswordHistory; 0 = none
	RequireEncryption      bool          `mapstructure:"require_encryption"`       // RequireDeviceEncryption
	RequireCardEncryption  bool          `mapstructure:"require_card_encryption"`  // RequireStorageCardEncryption
	AllowStorageCard       bool          `mapstructure:"allow_storage_card"`       // AllowStorageCard
	AllowCamera            bool          `mapstructure:"allow_camera"`             // AllowCamera
	AttachmentsEnabled     bool          `mapstructure:"attachments_enabled"`      // AttachmentsEnabled
	MaxAttachmentBytes     int64         `mapstructure:"max_attachment_bytes"`     // MaxAttachmentSize; 0 = no limit
}

// LimitsConfig protects the server from oversize requests and password
// guessing.
type LimitsConfig struct {
	MaxRequestBytes int64 `mapstructure:"max_request_bytes"` // larger request bodies get 413
	MaxFailedLogins int   `mapstructure:"max_failed_logins"` // failures per (user, client address) before backing off; 0 = no back-off
	// MaxFailedLoginsPerUser is the ceiling per user from all addresses
	// together (devices that logged in before are exempt); 0 = ten times
	// MaxFailedLogins.
	MaxFailedLoginsPerUser int           `mapstructure:"max_failed_logins_per_user"`
	LoginBackoffMax        time.Duration `mapstructure:"login_backoff_max"` // the longest a user or client is made to wait
	// MaxSyncResponseBytes bounds the item data of one Sync answer; the
	// rest waits for the device's next Sync (MoreAvailable).
	MaxSyncResponseBytes int64 `mapstructure:"max_sync_response_bytes"`
	// What one client can make the server hold (issue 17): header bytes
	// per request (431 beyond), connections that have not authenticated
	// yet (new ones are closed at once beyond), request bodies in memory
	// all requests together (requests wait beyond), and how slowly a body
	// may arrive (408 and the connection closed beyond).
	MaxHeaderBytes        int           `mapstructure:"max_header_bytes"`
	MaxUnauthenticated    int           `mapstructure:"max_unauthenticated_connections"`
	MaxBodyBytesInFlight  int64         `mapstructure:"max_body_bytes_in_flight"`
	BodyTimeout           time.Duration `mapstructure:"body_timeout"`
	BodyMinBytesPerSecond int64         `mapstructure:"body_min_rate"`
	// MaxDevicesPerUser bounds the devices kept per user; a new one beyond
	// it evicts the longest idle device and its sync state.
	MaxDevicesPerUser int `mapstructure:"max_devices_per_user"`
}

// AuthConfig tunes authentication.
type AuthConfig struct {
	// PassthroughCacheTTL is how long a verified device password is
	// remembered (in memory, as a salted hash) before the provider is asked
	// again; 0 asks on every request.
	PassthroughCacheTTL time.Duration `mapstructure:"passthrough_cache_ttl"`
}

// PushConfig tunes how the bridge watches the provider for the users
// whose devices are active.
type PushConfig struct {
	// ActiveFor keeps a user's upstream watchers running after the last
	// request of any of their devices.
	ActiveFor time.Duration `mapstructure:"active_for"`
	// Each watched user costs one connection to the provider: NOTIFY
	// (RFC 5465) where offered covers every pinged folder and the folder
	// list; without it the connection IDLEs on the inbox and checks the
	// other pinged folders with STATUS every MailPollInterval.
	// Notify false forces that fallback (a provider whose NOTIFY
	// misbehaves); ExtraIdleConnections gives that many folders after the
	// inbox an IDLE connection of their own without NOTIFY, at that many
	// more connections against the provider's per-account cap.
	Notify               bool          `mapstructure:"notify"`
	ExtraIdleConnections int           `mapstructure:"extra_idle_connections"`
	MailPollInterval     time.Duration `mapstructure:"mail_poll_interval"`
	// HierarchyInterval is how often a watched user's folder list is read
	// to notice folders created, renamed or deleted by other clients.
	HierarchyInterval time.Duration `mapstructure:"hierarchy_interval"`
}

// MetricsConfig serves Prometheus metrics on a separate listener.
type MetricsConfig struct {
	Listen string `mapstructure:"listen"` // "" = off
	// PProf also serves Go's profiles (/debug/pprof/) there: where memory
	// and goroutines go, for load tests and diagnosis.
	PProf bool `mapstructure:"pprof"`
}

// defaultConfig is the configuration with no file and no environment.
func defaultConfig() Config {
	return Config{
		Listen:    ":8080",
		DataDir:   "./data",
		UsersDir:  "./users",
		Redis:     RedisConfig{DeviceTTL: 90 * 24 * time.Hour},
		Heartbeat: HeartbeatConfig{Min: 60 * time.Second, Max: 3540 * time.Second},
		Push:      PushConfig{ActiveFor: 10 * time.Minute, Notify: true, MailPollInterval: 2 * time.Minute, HierarchyInterval: time.Minute},
		Log:       LogConfig{Level: "info", Format: "text"},
		Policy: PolicyConfig{
			MinPasswordLength:    4,
			MinComplexCharacters: 1,
			AllowSimplePassword:  true,
			AllowStorageCard:     true,
			AllowCamera:          true,
			AttachmentsEnabled:   true,
		},
		Limits: LimitsConfig{MaxRequestBytes: 32 << 20, MaxSyncResponseBytes: 16 << 20, MaxFailedLogins: 5, LoginBackoffMax: 5 * time.Minute,
			MaxHeaderBytes: 32 << 10, MaxUnauthenticated: 256, MaxBodyBytesInFlight: 64 << 20,
			BodyTimeout: 30 * time.Second, BodyMinBytesPerSecond: 4 << 10, MaxDevicesPerUser: 20},
		Auth:     AuthConfig{PassthroughCacheTTL: 15 * time.Minute},
		Upstream: UpstreamConfig{SessionIdle: 20 * time.Second},
		DAV:      DAVConfig{PollActive: 10 * time.Second, PollIdle: 60 * time.Second, PollActiveFor: 5 * time.Minute, Timeout: 30 * time.Second},
	}
}

// LoadConfig reads the YAML file at path ("" = none) over the defaults, then
// applies IDLEBRIDGE_* environment variables. Relative paths in the result
// (data_dir, users_dir, tls.cert, tls.key) are resolved against the config
// file's directory, so a config works the same from any working directory;
// without a file they stay relative to the working directory. Unknown keys
// in the file are an error. LoadConfig does not call Validate.
func LoadConfig(path string) (*Config, error) {
	// ExperimentalBindStruct makes Unmarshal consult the environment for
	// every field of Config, not only for keys that also appear in the file
	// or have a viper default.
	v := viper.NewWithOptions(
		viper.ExperimentalBindStruct(),
		viper.EnvKeyReplacer(strings.NewReplacer(".", "_")),
	)
	v.SetEnvPrefix(envPrefix)
	v.AutomaticEnv()

	if path != "" {
		v.SetConfigFile(path)
		v.SetConfigType("yaml") // whatever the file is called
		if err := v.ReadInConfig(); err != nil {
			return nil, fmt.Errorf("config file %s: %w", path, err)
		}
		if unknown := unknownKeys(v.AllKeys()); len(unknown) > 0 {
			return nil, fmt.Errorf("config file %s: unknown key %s", path, strings.Join(unknown, ", "))
		}
	}

	c := defaultConfig()
	if err := v.UnmarshalExact(&c, viper.DecodeHook(decodeDuration)); err != nil {
		where := "environment"
		if path != "" {
			where = "config file " + path + " or environment"
		}
		return nil, &decodeError{where: where, err: err}
	}

	if path != "" {
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, fmt.Errorf("config file %s: %w", path, err)
		}
		base := filepath.Dir(abs)
		for _, p := range []*string{&c.DataDir, &c.UsersDir, &c.TLS.Cert, &c.TLS.Key} {
			if *p != "" && !filepath.IsAbs(*p) {
				*p = filepath.Join(base, *p)
			}
		}
	}
	if c.PublicURL == "" {
		c.PublicURL = derivePublicURL(c.Listen, c.TLS.Enabled())
	}
	return &c, nil
}

// decodeDuration parses duration strings ("90s", "2160h") and rejects bare
// numbers, which mapstructure would read as nanoseconds ("max: 3540" would be
// 3.5 µs). Zero stays allowed ("0" = off).
func decodeDuration(from, to reflect.Type, data any) (any, error) {
	if to != reflect.TypeFor[time.Duration]() {
		return data, nil
	}
	switch from.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		if reflect.ValueOf(data).IsZero() {
			return time.Duration(0), nil
		}
		return nil, fmt.Errorf("duration %v needs a unit, e.g. \"90s\", \"15m\" or \"2160h\"", data)
	case reflect.String:
		s := strings.TrimSpace(data.(string))
		if s == "0" {
			return time.Duration(0), nil
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a duration; write e.g. \"90s\", \"15m\" or \"2160h\"", s)
		}
		return d, nil
	}
	return data, nil
}

// decodeError flattens mapstructure's multi-line error list into one line
// per LoadConfig failure, keeping the original for errors.As.
type decodeError struct {
	where string
	err   error
}

func (e *decodeError) Error() string {
	var joined interface{ Unwrap() []error }
	msgs := []string{e.err.Error()}
	if errors.As(e.err, &joined) {
		msgs = msgs[:0]
		for _, err := range joined.Unwrap() {
			msgs = append(msgs, err.Error())
		}
	}
	return e.where + ": " + strings.Join(msgs, "; ")
}

func (e *decodeError) Unwrap() error { return e.err }

// configKeys lists every key of Config ("heartbeat.max"), and its sections
// ("heartbeat"), from the mapstructure tags.
func configKeys() (leaves, sections map[string]bool) {
	leaves, sections = map[string]bool{}, map[string]bool{}
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for i := range t.NumField() {
			f := t.Field(i)
			key := prefix + f.Tag.Get("mapstructure")
			if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[time.Duration]() {
				sections[key] = true
				walk(f.Type, key+".")
				continue
			}
			leaves[key] = true
		}
	}
	walk(reflect.TypeFor[Config](), "")
	return leaves, sections
}

// unknownKeys returns, sorted, the keys set in a file that Config does not
// have. A section given a scalar ("tls: yes") is left to the decoder, which
// reports the type.
func unknownKeys(keys []string) []string {
	leaves, sections := configKeys()
	var out []string
	for _, k := range keys {
		if !leaves[k] && !sections[k] {
			out = append(out, strconv.Quote(k))
		}
	}
	sort.Strings(out)
	return out
}

// derivePublicURL guesses the external URL for a development setup where
// the server is reached directly on its listen address.
func derivePublicURL(listen string, tls bool) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	scheme := "http"
	if tls {
		scheme = "https"
	}
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		return scheme + "://" + host
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// Validate checks every value and reports all problems at once, each naming
// its key.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if err := checkListen(c.Listen); err != nil {
		bad("listen: %v", err)
	}
	if c.Push.ExtraIdleConnections < 0 || c.Push.ExtraIdleConnections > 20 {
		bad("push.extra_idle_connections (%d) must be 0-20", c.Push.ExtraIdleConnections)
	}
	if c.Upstream.SessionIdle < time.Second {
		bad("upstream.session_idle (%v) must be at least 1s", c.Upstream.SessionIdle)
	}
	if u, err := url.Parse(c.PublicURL); c.PublicURL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("public_url (%q) must be an absolute http(s) URL such as https://mail.example.com", c.PublicURL)
	}
	switch {
	case (c.TLS.Cert == "") != (c.TLS.Key == ""):
		bad("tls.cert and tls.key must be given together")
	case c.TLS.ACMEHost != "" && c.TLS.Cert != "":
		bad("tls.acme_host and tls.cert are exclusive: get the certificate by ACME or from files, not both")
	case c.TLS.ACMEHost != "":
		if !validDNSName(c.TLS.ACMEHost) {
			bad("tls.acme_host (%q) must be a DNS name such as mail.example.com", c.TLS.ACMEHost)
		}
		if c.TLS.ACMEHTTP != "" {
			if err := checkListen(c.TLS.ACMEHTTP); err != nil {
				bad("tls.acme_http_listen: %v", err)
			}
		}
		if c.TLS.ACMEDirectory != "" {
			if u, err := url.Parse(c.TLS.ACMEDirectory); err != nil || u.Scheme != "https" || u.Host == "" {
				bad("tls.acme_directory (%q) must be an https URL", c.TLS.ACMEDirectory)
			}
		}
	case c.TLS.Enabled():
		if _, err := os.Stat(c.TLS.Cert); err != nil {
			bad("tls.cert: %v", err)
		}
		if _, err := os.Stat(c.TLS.Key); err != nil {
			bad("tls.key: %v", err)
		}
	}
	if c.TLS.ACMEHost == "" && (c.TLS.ACMEEmail != "" || c.TLS.ACMEHTTP != "" || c.TLS.ACMEDirectory != "") {
		bad("tls.acme_email, tls.acme_http_listen and tls.acme_directory need tls.acme_host")
	}
	if _, err := c.TrustedProxyPrefixes(); err != nil {
		bad("trusted_proxies: %v (write CIDR prefixes such as 10.0.0.0/8, or addresses)", err)
	}
	if c.DataDir == "" {
		bad("data_dir must not be empty")
	}
	if c.UsersDir == "" {
		bad("users_dir must not be empty")
	}
	if c.Redis.URL != "" {
		if u, err := url.Parse(c.Redis.URL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix") {
			bad("redis.url must be a redis://, rediss:// or unix:// URL")
		}
	}
	if c.Redis.DeviceTTL <= 0 {
		bad("redis.device_ttl (%v) must be positive", c.Redis.DeviceTTL)
	}

	h := c.Heartbeat
	switch {
	case h.Min < time.Second || h.Min%time.Second != 0:
		bad("heartbeat.min (%v) must be a whole number of seconds, at least 1s", h.Min)
	case h.Max%time.Second != 0 || h.Max > 3540*time.Second:
		bad("heartbeat.max (%v) must be a whole number of seconds, at most 3540s", h.Max)
	case h.Min > h.Max:
		bad("heartbeat.min (%v) must not exceed heartbeat.max (%v)", h.Min, h.Max)
	}

	for _, d := range []struct {
		key string
		v   time.Duration
	}{
		{"push.active_for", c.Push.ActiveFor},
		{"push.mail_poll_interval", c.Push.MailPollInterval},
		{"push.hierarchy_interval", c.Push.HierarchyInterval},
	} {
		if d.v < time.Second {
			bad("%s (%v) must be at least 1s", d.key, d.v)
		}
	}

	if _, err := c.Log.SlogLevel(); err != nil || c.Log.Level == "" {
		bad("log.level (%q) must be debug, info, warn or error", c.Log.Level)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		bad("log.format (%q) must be text or json", c.Log.Format)
	}

	p := c.Policy
	if p.MinPasswordLength < 1 || p.MinPasswordLength > 16 {
		bad("policy.min_password_length (%d) must be 1-16", p.MinPasswordLength)
	}
	if p.MinComplexCharacters < 1 || p.MinComplexCharacters > 4 {
		bad("policy.min_complex_characters (%d) must be 1-4", p.MinComplexCharacters)
	}
	// MS-ASPROV 2.2.2.35: a value of 9999 or more means no time-out; say 0.
	if p.MaxInactivityLock < 0 || p.MaxInactivityLock%time.Second != 0 || p.MaxInactivityLock >= 9999*time.Second {
		bad("policy.max_inactivity_lock (%v) must be whole seconds below 9999s, or 0 for none", p.MaxInactivityLock)
	}
	// MS-ASPROV 2.2.2.32: 4 through 16, or absent.
	if p.MaxFailedAttempts != 0 && (p.MaxFailedAttempts < 4 || p.MaxFailedAttempts > 16) {
		bad("policy.max_failed_attempts (%d) must be 4-16, or 0 for none", p.MaxFailedAttempts)
	}
	if p.PasswordExpirationDays < 0 {
		bad("policy.password_expiration_days (%d) must not be negative", p.PasswordExpirationDays)
	}
	if p.PasswordHistory < 0 {
		bad("policy.password_history (%d) must not be negative", p.PasswordHistory)
	}
	if p.MaxAttachmentBytes < 0 {
		bad("policy.max_attachment_bytes (%d) must not be negative", p.MaxAttachmentBytes)
	}

	l := c.Limits
	if l.MaxRequestBytes <= 0 {
		bad("limits.max_request_bytes (%d) must be positive", l.MaxRequestBytes)
	}
	if l.MaxSyncResponseBytes <= 0 {
		bad("limits.max_sync_response_bytes (%d) must be positive", l.MaxSyncResponseBytes)
	}
	if l.MaxFailedLogins < 0 {
		bad("limits.max_failed_logins (%d) must not be negative", l.MaxFailedLogins)
	}
	if l.MaxDevicesPerUser < 1 {
		bad("limits.max_devices_per_user (%d) must be at least 1", l.MaxDevicesPerUser)
	}
	if l.MaxFailedLoginsPerUser < 0 || (l.MaxFailedLoginsPerUser > 0 && l.MaxFailedLoginsPerUser < l.MaxFailedLogins) {
		bad("limits.max_failed_logins_per_user (%d) must be at least limits.max_failed_logins (%d), or 0 for ten times it",
			l.MaxFailedLoginsPerUser, l.MaxFailedLogins)
	}
	for _, f := range []struct {
		key string
		v   int64
	}{
		{"limits.max_header_bytes", int64(l.MaxHeaderBytes)},
		{"limits.max_unauthenticated_connections", int64(l.MaxUnauthenticated)},
		{"limits.max_body_bytes_in_flight", l.MaxBodyBytesInFlight},
		{"limits.body_timeout", int64(l.BodyTimeout)},
		{"limits.body_min_rate", l.BodyMinBytesPerSecond},
	} {
		if f.v < 0 { // 0 takes the default
			bad("%s (%d) must not be negative", f.key, f.v)
		}
	}
	if l.MaxFailedLogins > 0 && l.LoginBackoffMax <= 0 {
		bad("limits.login_backoff_max (%v) must be positive when limits.max_failed_logins is set", l.LoginBackoffMax)
	}

	// The design bounds how long a pass-through password may be trusted
	// without asking the provider; a day is generous.
	if d := c.DAV; d.PollActive < time.Second || d.PollIdle < d.PollActive || d.PollActiveFor < 0 || d.Timeout < time.Second {
		bad("dav: poll_active must be at least 1s, poll_idle at least poll_active, poll_active_for not negative, timeout at least 1s")
	}
	if c.DAV.UserZone != "" {
		if _, err := time.LoadLocation(c.DAV.UserZone); err != nil {
			bad("dav.user_zone (%q) must be an IANA zone such as Europe/Berlin", c.DAV.UserZone)
		}
	}
	if ttl := c.Auth.PassthroughCacheTTL; ttl < 0 || ttl > 24*time.Hour {
		bad("auth.passthrough_cache_ttl (%v) must be between 0 and 24h", ttl)
	}
	if c.Metrics.Listen != "" {
		if err := checkListen(c.Metrics.Listen); err != nil {
			bad("metrics.listen: %v", err)
		}
	}
	return errors.Join(errs...)
}

// TrustedProxyPrefixes parses TrustedProxies.
func (c *Config) TrustedProxyPrefixes() ([]netip.Prefix, error) {
	return httpserve.ParsePrefixes(strings.FieldsFunc(c.TrustedProxies, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n'
	}))
}

// validDNSName accepts a hostname of letters, digits and hyphens in dotted
// labels; ACME issues certificates for such names only (no IP, no port).
func validDNSName(h string) bool {
	if len(h) > 253 || !strings.Contains(h, ".") {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

func checkListen(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port (e.g. \":8080\" or \"127.0.0.1:8080\")", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q: port must be 0-65535", addr)
	}
	return nil
}

// loadValidConfig loads the configuration at path and validates it: what
// every command that runs the bridge or judges its setup needs.
func loadValidConfig(path string) (*Config, error) {
	cfg, err := LoadConfig(path)
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}
