package imap

import (
	"context"
	"crypto/tls"
	"fmt"
	"mime"
	"net"
	"time"

	imapv2 "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-sasl"
)

// Dial connects, secures the connection as cfg.Security says, logs in
// (AUTHENTICATE PLAIN when offered, else LOGIN) and reads the capabilities.
// The whole sequence is bounded by ctx and cfg.DialTimeout. A refused login
// returns an error wrapping ErrLoginRejected.
func Dial(ctx context.Context, cfg Config) (*Session, error) {
	return dial(ctx, cfg, nil)
}

// CheckLogin dials, logs in and logs out: a credentials check.
func CheckLogin(ctx context.Context, cfg Config) error {
	s, err := Dial(ctx, cfg)
	if err != nil {
		return err
	}
	return s.Logout(ctx)
}

func dial(ctx context.Context, cfg Config, handler *imapclient.UnilateralDataHandler) (*Session, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.dialTimeout())
	defer cancel()

	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("imap dial: bad address %q: %w", cfg.Addr, err)
	}
	d := net.Dialer{KeepAliveConfig: net.KeepAliveConfig{
		Enable: true, Idle: tcpKeepAlive, Interval: tcpKeepAlive / 2, Count: 4,
	}}
	raw, err := d.DialContext(ctx, "tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("imap dial %s: %w", cfg.Addr, err)
	}
	// Until login completes, the deadline closes the socket: that unblocks
	// every go-imap wait below.
	stop := context.AfterFunc(ctx, func() { _ = raw.Close() })

	client, caps, err := connect(ctx, raw, host, cfg, handler)
	if !stop() {
		if client != nil {
			_ = client.Close()
		}
		return nil, fmt.Errorf("imap dial %s: %w", cfg.Addr, ctx.Err())
	}
	if err != nil {
		if client != nil {
			_ = client.Close()
		} else {
			_ = raw.Close()
		}
		return nil, err
	}
	if cfg.OnConn != nil {
		cfg.OnConn(1)
	}
	return &Session{cfg: cfg, client: client, caps: caps, lastUsed: time.Now()}, nil
}

// connect runs TLS, greeting and login on raw. It returns the client (if
// one was made) even on error so the caller can close it.
func connect(ctx context.Context, raw net.Conn, host string, cfg Config, handler *imapclient.UnilateralDataHandler) (*imapclient.Client, Capabilities, error) {
	tlsCfg := &tls.Config{}
	if cfg.TLSConfig != nil {
		tlsCfg = cfg.TLSConfig.Clone()
	}
	if tlsCfg.ServerName == "" {
		tlsCfg.ServerName = host
	}
	opts := &imapclient.Options{
		TLSConfig:             tlsCfg,
		UnilateralDataHandler: handler,
		// Subjects and names in other charsets than UTF-8 (RFC 2047).
		WordDecoder: &mime.WordDecoder{CharsetReader: charset.Reader},
	}

	var client *imapclient.Client
	switch cfg.Security {
	case SecurityTLS, "":
		tc := tls.Client(raw, tlsCfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, Capabilities{}, fmt.Errorf("imap dial %s: tls: %w", cfg.Addr, err)
		}
		client = imapclient.New(tc, opts)
	case SecurityStartTLS:
		c, err := imapclient.NewStartTLS(raw, opts)
		if err != nil {
			return nil, Capabilities{}, fmt.Errorf("imap dial %s: starttls: %w", cfg.Addr, err)
		}
		client = c
	case SecurityNone:
		client = imapclient.New(raw, opts)
	default:
		return nil, Capabilities{}, fmt.Errorf("imap dial: unknown security %q", cfg.Security)
	}
	if err := client.WaitGreeting(); err != nil {
		return client, Capabilities{}, fmt.Errorf("imap dial %s: greeting: %w", cfg.Addr, err)
	}
	if err := login(client, cfg); err != nil {
		return client, Capabilities{}, err
	}
	set := client.Caps()
	if set == nil {
		return client, Capabilities{}, fmt.Errorf("imap dial %s: no capabilities after login", cfg.Addr)
	}
	caps := capsFrom(set)
	return client, caps, nil
}

// login prefers AUTHENTICATE PLAIN (UTF-8 safe, and some servers disable
// LOGIN) and falls back to LOGIN.
func login(client *imapclient.Client, cfg Config) error {
	if client.State() == imapv2.ConnStateAuthenticated {
		return nil // PREAUTH
	}
	pre := client.Caps()
	if pre == nil {
		return fmt.Errorf("imap login: %w: no capabilities", ErrBroken)
	}
	if pre.Has(imapv2.AuthCap(sasl.Plain)) {
		return loginError(client.Authenticate(sasl.NewPlainClient("", cfg.Username, cfg.Password)))
	}
	if pre.Has(imapv2.CapLoginDisabled) {
		return fmt.Errorf("imap login: server disables LOGIN and offers no AUTH=PLAIN (TLS needed?)")
	}
	return loginError(client.Login(cfg.Username, cfg.Password).Wait())
}
