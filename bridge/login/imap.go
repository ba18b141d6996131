package login

import (
	"crypto/tls"
	"time"

	"github.com/idlebridge/idlebridge/bridge/accounts"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

// IMAPConfig turns a user's endpoint and credentials into an upstream
// connection config.
func IMAPConfig(ep accounts.Endpoint, base *tls.Config, username, password string, timeout time.Duration) imap.Config {
	var tc *tls.Config
	if base != nil {
		tc = base.Clone()
	} else {
		tc = &tls.Config{}
	}
	if tc.ServerName == "" {
		tc.ServerName = ep.Host
	}
	if timeout <= 0 {
		timeout = 20 * time.Second
	}
	return imap.Config{
		Addr:        ep.Addr(),
		Security:    string(ep.Security),
		TLSConfig:   tc,
		Username:    username,
		Password:    password,
		DialTimeout: timeout,
	}
}
