package bridgetest

import (
	"net"
	"sync"
	"testing"
	"time"
)

// Proxy is a TCP relay in front of a server that a test can cut: Drop
// closes every relayed connection and refuses new ones until Restore —
// what the bridge sees when the provider restarts. Hold stops relaying
// without closing anything — a provider that hangs.
type Proxy struct {
	ln     net.Listener
	target string

	mu        sync.Mutex
	conns     map[net.Conn]bool
	down      bool
	held      bool
	heldBytes int64
	release   *sync.Cond
	dialed    int
}

// StartProxy relays 127.0.0.1:<random> to target until the test ends.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	p.release = sync.NewCond(&p.mu)
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.Drop() })
	return p
}

// Addr is where clients connect.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Drop closes all relayed connections and refuses new ones (and ends a
// Hold).
func (p *Proxy) Drop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	p.held = false
	p.release.Broadcast()
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// Restore accepts connections again.
func (p *Proxy) Restore() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

// Hold stops relaying: what is read is kept until Release, so requests
// to the server hang. HeldBytes counts what arrived meanwhile.
func (p *Proxy) Hold() {
	p.mu.Lock()
	p.held, p.heldBytes = true, 0
	p.mu.Unlock()
}

// Release relays again, the held bytes first.
func (p *Proxy) Release() {
	p.mu.Lock()
	p.held = false
	p.release.Broadcast()
	p.mu.Unlock()
}

// HeldBytes is how many bytes arrived since Hold and are held back.
func (p *Proxy) HeldBytes() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.heldBytes
}

// Dialed is the number of connections relayed so far: for an IMAP
// server, the number of logins tried through the proxy.
func (p *Proxy) Dialed() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dialed
}

// Conns is the number of relayed connections open now.
func (p *Proxy) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns) / 2
}

func (p *Proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			c.Close()
			continue
		}
		u, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.dialed++
		p.conns[c], p.conns[u] = true, true
		p.mu.Unlock()
		go p.pipe(c, u)
		go p.pipe(u, c)
	}
}

func (p *Proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			if p.held {
				p.heldBytes += int64(n)
			}
			for p.held {
				p.release.Wait()
			}
			p.mu.Unlock()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	dst.Close()
	src.Close()
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
}
