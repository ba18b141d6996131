package davsync

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/accounts"
	"github.com/idlebridge/idlebridge/upstream/dav"
)

// errNoDAV: the user's file names no CalDAV (or CardDAV) server.
var errNoDAV = errors.New("davsync: no DAV server configured for the user")

// service tells which URL of the user file a client is for.
type service int

const (
	serviceCalDAV service = iota
	serviceCardDAV
)

// clients caches one dav.Client per (user, service) with the homes its
// discovery found. An entry remembers a hash of the URL and credentials
// it was made with, so a changed password (the device's new one in
// passthrough mode) replaces it instead of failing on stale logins. The
// cache is bounded: past max entries the least recently used goes.
type clients struct {
	opts      Options
	transport http.RoundTripper

	mu      sync.Mutex
	entries map[clientKey]*clientEntry
}

type clientKey struct {
	user string
	svc  service
}

type clientEntry struct {
	identity [sha256.Size]byte
	client   *dav.Client
	lastUsed time.Time

	discoverMu sync.Mutex
	disc       *dav.Discovery
}

func newClients(opts Options) *clients {
	rt := opts.Transport
	if rt == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = opts.TLS
		t.MaxIdleConnsPerHost = 16
		rt = t
	}
	return &clients{opts: opts, transport: rt, entries: map[clientKey]*clientEntry{}}
}

// get returns the user's client for svc.
func (cs *clients) get(p *accounts.Principal, svc service) (*clientEntry, error) {
	if p == nil || p.User == nil {
		return nil, errors.New("davsync: request without a principal")
	}
	url := p.User.CalDAV
	if svc == serviceCardDAV {
		url = p.User.CardDAV
	}
	if url == "" {
		return nil, errNoDAV
	}
	id := sha256.Sum256([]byte(url + "\x00" + p.Upstream.Username + "\x00" + p.Upstream.Password))
	key := clientKey{p.User.Address, svc}
	now := cs.opts.Now()
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if e, ok := cs.entries[key]; ok && e.identity == id {
		e.lastUsed = now
		return e, nil
	}
	c, err := dav.New(dav.Config{
		URL: url, Username: p.Upstream.Username, Password: p.Upstream.Password,
		Timeout: cs.opts.Timeout, Transport: cs.transport,
		// The users directory refused http to a non-loopback host unless
		// the file says allow_insecure, so what reaches here is allowed.
		AllowCleartext: true,
	})
	if err != nil {
		return nil, err
	}
	e := &clientEntry{identity: id, client: c, lastUsed: now}
	cs.entries[key] = e
	for len(cs.entries) > cs.opts.MaxClients {
		var oldest clientKey
		var at time.Time
		for k, v := range cs.entries {
			if at.IsZero() || v.lastUsed.Before(at) {
				oldest, at = k, v.lastUsed
			}
		}
		delete(cs.entries, oldest)
	}
	return e, nil
}

// discovery returns the user's principal and homes, asking the server
// once per client (a new password makes a new client, so asks again).
func (e *clientEntry) discovery(ctx context.Context) (*dav.Discovery, error) {
	e.discoverMu.Lock()
	defer e.discoverMu.Unlock()
	if e.disc != nil {
		return e.disc, nil
	}
	d, err := e.client.Discover(ctx)
	if err != nil {
		return nil, upstreamErr(err)
	}
	e.disc = d
	return d, nil
}

// upstreamErr makes what the DAV server said into an error the front maps:
// an unreachable or failing server is a retryable outage (503), refused
// credentials too (the provider refusing an app password is the
// operator's problem, and in passthrough mode the device's password was
// just checked against IMAP).
func upstreamErr(err error) error {
	if err == nil {
		return nil
	}
	var se *dav.StatusError
	if errors.As(err, &se) && !se.Temporary() && !errors.Is(err, dav.ErrUnauthorized) {
		return err
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	return fmt.Errorf("%w: %w", activesync.ErrUnavailable, err)
}
