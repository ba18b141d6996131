package bridge

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"strings"
	"sync"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/accounts"
	"github.com/idlebridge/idlebridge/bridge/directory"
	"github.com/idlebridge/idlebridge/upstream/dav"
)

var (
	_ activesync.GALSearcher       = (*Bridge)(nil)
	_ activesync.RecipientResolver = (*Bridge)(nil)
)

// SearchGAL implements activesync.GALSearcher through bridge/directory.
func (b *Bridge) SearchGAL(ctx context.Context, acct activesync.Account, deviceID string, q *activesync.GALQuery) (*activesync.GALResult, error) {
	return b.directory.SearchGAL(ctx, acct, deviceID, q)
}

// ResolveRecipients implements activesync.RecipientResolver through
// bridge/directory.
func (b *Bridge) ResolveRecipients(ctx context.Context, acct activesync.Account, deviceID string, q *activesync.RecipientQuery) ([]activesync.RecipientResult, error) {
	return b.directory.ResolveRecipients(ctx, acct, deviceID, q)
}

// directoryUser tells bridge/directory who is asking: the user's DAV
// clients (with this request's upstream credentials) and their GAL
// setting, the user file's winning over the domain's.
func (b *Bridge) directoryUser(ctx context.Context, acct activesync.Account) (*directory.User, error) {
	a, ok := acct.(*Account)
	if !ok || a.Principal == nil || a.Principal.User == nil {
		return nil, errors.New("bridge: directory asked for an account it did not make")
	}
	u := a.Principal.User
	du := &directory.User{Key: u.Address, Addresses: []string{u.Address}, GAL: u.GAL}
	if !du.GAL.Configured() && b.domains != nil {
		if _, dom, ok := strings.Cut(u.Address, "@"); ok {
			if d, ok := b.domains(dom); ok {
				du.GAL = d.GAL
			}
		}
	}
	var err error
	if u.CardDAV != "" {
		if du.CardDAV, err = b.davClients.get(u.CardDAV, a.Principal.Upstream); err != nil {
			return nil, err
		}
	}
	if u.CalDAV != "" {
		if du.CalDAV, err = b.davClients.get(u.CalDAV, a.Principal.Upstream); err != nil {
			return nil, err
		}
	}
	return du, nil
}

// davClientCache reuses one dav.Client (and its connections) per server
// URL and credentials. It is small on purpose: bridge/davsync keeps the
// clients of the sync path; this one serves the directory until both
// share one cache.
type davClientCache struct {
	mu        sync.Mutex
	clients   map[[sha256.Size]byte]*dav.Client
	transport http.RoundTripper // shared, so connections are pooled across users of one server
}

// maxDirectoryClients bounds the cache; past it, it starts over.
const maxDirectoryClients = 1024

func (c *davClientCache) get(url string, cred accounts.Credentials) (*dav.Client, error) {
	key := sha256.Sum256([]byte(url + "\x00" + cred.Username + "\x00" + cred.Password))
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.clients[key]; ok {
		return cl, nil
	}
	if c.transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.ResponseHeaderTimeout = dav.DefaultTimeout
		c.transport = t
	}
	cl, err := dav.New(dav.Config{URL: url, Username: cred.Username, Password: cred.Password, Transport: c.transport,
		// The users directory refused http to a non-loopback host unless
		// the file says allow_insecure, so what reaches here is allowed.
		AllowCleartext: true})
	if err != nil {
		return nil, err
	}
	if c.clients == nil || len(c.clients) >= maxDirectoryClients {
		c.clients = map[[sha256.Size]byte]*dav.Client{}
	}
	c.clients[key] = cl
	return cl, nil
}
