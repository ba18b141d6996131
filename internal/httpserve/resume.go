package httpserve

import (
	"errors"
	"net"
	"sync"
)

// ResumeListener lets a handler give a connection it took over (Hijack)
// back to the http.Server serving this listener: Resume queues it, and
// the next Accept returns it, so the server reads the client's next
// request on it as on a fresh connection. The ActiveSync front uses it to
// park Pings with no goroutine and still keep the device's connection
// alive afterwards.
//
// It must be the outermost listener (around the TLS one), so a resumed
// *tls.Conn is served as TLS without a second handshake.
type ResumeListener struct {
	inner    net.Listener
	accepted chan acceptResult
	resumed  chan net.Conn
	done     chan struct{}
	start    sync.Once
	stop     sync.Once
}

type acceptResult struct {
	c   net.Conn
	err error
}

// NewResumeListener wraps l.
func NewResumeListener(l net.Listener) *ResumeListener {
	return &ResumeListener{inner: l, accepted: make(chan acceptResult), resumed: make(chan net.Conn), done: make(chan struct{})}
}

// Accept returns the next new or resumed connection.
func (l *ResumeListener) Accept() (net.Conn, error) {
	l.start.Do(func() { go l.acceptLoop() })
	select {
	case c := <-l.resumed:
		return c, nil
	case r := <-l.accepted:
		return r.c, r.err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// acceptLoop feeds new connections to Accept until the inner listener
// fails for good.
func (l *ResumeListener) acceptLoop() {
	for {
		c, err := l.inner.Accept()
		select {
		case l.accepted <- acceptResult{c, err}:
		case <-l.done:
			if c != nil {
				_ = c.Close()
			}
			return
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if !isTemporary(err) {
				return
			}
		}
	}
}

// isTemporary reports the accept errors net/http retries (EMFILE and
// friends report Temporary).
func isTemporary(err error) bool {
	t, ok := err.(interface{ Temporary() bool })
	return ok && t.Temporary()
}

// Resume hands c back to the server; once the listener is closed it
// closes c instead.
func (l *ResumeListener) Resume(c net.Conn) {
	select {
	case l.resumed <- c:
	case <-l.done:
		_ = c.Close()
	}
}

// Close stops accepting; connections being served are not affected.
func (l *ResumeListener) Close() error {
	var err error
	l.stop.Do(func() {
		close(l.done)
		err = l.inner.Close()
	})
	return err
}

// Addr is the inner listener's address.
func (l *ResumeListener) Addr() net.Addr { return l.inner.Addr() }
