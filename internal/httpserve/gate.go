package httpserve

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Before a connection has carried an authenticated request it belongs to
// nobody: 1 000 strangers' connections each sending 1 MB of headers took
// the bridge from 16 MB to 2.5 GB (issue 17). So header bytes are capped
// (http.Server.MaxHeaderBytes, 431 beyond) and so is the number of
// connections not yet authenticated: past it a new connection is closed
// as soon as it is accepted, before TLS or net/http give it a buffer or a
// goroutine. A connection leaves the count when the front reports an
// authenticated request on it (MarkAuthenticated) or when it closes;
// authenticated devices are bounded by the users' own accounts.

// Defaults for Options' limits.
const (
	defaultMaxHeaderBytes     = 32 << 10
	defaultMaxUnauthenticated = 256
)

// connGate counts the connections that have not authenticated yet.
type connGate struct {
	max    int
	log    *slog.Logger
	onShed func()

	mu      sync.Mutex
	open    int
	shed    int // closed at accept since the last log line
	lastLog time.Time
}

func (g *connGate) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.open >= g.max {
		g.shed++
		if g.onShed != nil {
			g.onShed()
		}
		if now := time.Now(); now.Sub(g.lastLog) >= 10*time.Second {
			// At most one line per 10 s however hard the flood.
			g.log.Warn("closing new connections: too many unauthenticated ones open",
				"max_unauthenticated_connections", g.max, "closed", g.shed)
			g.shed, g.lastLog = 0, now
		}
		return false
	}
	g.open++
	return true
}

func (g *connGate) leave() {
	g.mu.Lock()
	g.open--
	g.mu.Unlock()
}

// gateListener admits connections through a connGate.
type gateListener struct {
	net.Listener
	g *connGate
}

func (l *gateListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.g.enter() {
			return &gatedConn{Conn: c, g: l.g}, nil
		}
		_ = c.Close()
	}
}

// gatedConn is a connection counted by its gate until authenticated or
// closed.
type gatedConn struct {
	net.Conn
	g    *connGate
	once sync.Once
}

func (c *gatedConn) release() { c.once.Do(c.g.leave) }

func (c *gatedConn) Close() error {
	c.release()
	return c.Conn.Close()
}

// NetConn is the connection underneath (as tls.Conn's).
func (c *gatedConn) NetConn() net.Conn { return c.Conn }

type gatedConnKey struct{}

// withGatedConn is http.Server.ConnContext: it finds the gatedConn under
// TLS (and under the front's wrapper of resumed connections).
func withGatedConn(ctx context.Context, c net.Conn) context.Context {
	for c != nil {
		switch x := c.(type) {
		case *gatedConn:
			return context.WithValue(ctx, gatedConnKey{}, x)
		case *tls.Conn:
			c = x.NetConn()
		case interface{ NetConn() net.Conn }:
			c = x.NetConn()
		default:
			return ctx
		}
	}
	return ctx
}

// MarkAuthenticated tells the listener that r's connection carried an
// authenticated request: it no longer counts against the bound on
// unauthenticated connections. Calls after the first, and requests not
// served by a Server of this package, are no-ops.
func MarkAuthenticated(r *http.Request) {
	if c, ok := r.Context().Value(gatedConnKey{}).(*gatedConn); ok {
		c.release()
	}
}

// Unauthenticated is the number of open connections that have not
// authenticated yet.
func (s *Server) Unauthenticated() int {
	if s.gate == nil {
		return 0
	}
	s.gate.mu.Lock()
	defer s.gate.mu.Unlock()
	return s.gate.open
}
