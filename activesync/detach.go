package activesync

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// A parked Ping waits minutes to an hour, for thousands of devices at
// once. Waiting inside the HTTP handler holds net/http's connection
// goroutine, its background reader, their stacks and buffers: ~100 KB per
// device, measured. Over HTTP/1.x the front instead takes the connection
// from net/http (Hijack) and keeps only the socket and a small record;
// when the answer is ready it writes it itself and hands the connection
// back to the http.Server (Server.Resume), which reads the device's next
// request on it as on a new connection. Nothing runs while a Ping is
// parked. HTTP/2 streams cannot be taken over: they wait in the handler
// (the bridge's own TLS listener does not offer HTTP/2 for this reason).

// errDetached is returned by a handler whose request goes on without it.
var errDetached = errors.New("activesync: request detached")

// codeDetached marks a request that has not answered yet.
const codeDetached = -1

// detachedWriteTimeout bounds writing a detached answer to a device that
// stopped reading.
const detachedWriteTimeout = 30 * time.Second

// pingWait joins a Pinger's done callback with the request waiting for it.
type pingWait struct {
	mu      sync.Mutex
	fired   bool
	changed []string
	err     error
	ready   chan struct{}
	// then, set when the request detached, finishes it.
	then func(changed []string, err error)
}

func newPingWait() *pingWait { return &pingWait{ready: make(chan struct{})} }

// done is the callback handed to Pinger.Ping; calls after the first are
// ignored.
func (pw *pingWait) done(changed []string, err error) {
	pw.mu.Lock()
	if pw.fired {
		pw.mu.Unlock()
		return
	}
	pw.fired = true
	pw.changed, pw.err = changed, err
	then := pw.then
	pw.mu.Unlock()
	close(pw.ready)
	if then != nil {
		// Never on the Backend's goroutine: writing to a slow device
		// must not hold up the wake-ups of others.
		go then(changed, err)
	}
}

// wait blocks until the result is there or ctx ends (the device went away
// or the server stops), which stops the wait.
func (pw *pingWait) wait(ctx context.Context, stop func()) ([]string, error) {
	select {
	case <-pw.ready:
	case <-ctx.Done():
		stop()
		pw.done(nil, nil) // in case stop did not call it synchronously
	}
	return pw.changed, pw.err
}

// detach takes the connection from net/http so the request can wait
// without a goroutine; then builds the answer once pw fires. stop ends
// the wait early: it is called when the device closes the connection
// while the request is parked (Server.WatchClose), so the socket and the
// Backend's record go at once, not at the heartbeat. It returns false
// when the request must wait in place instead: HTTP/2, no Resume hook, or
// the answer already came.
func (c *call) detach(pw *pingWait, stop func(), then func(changed []string, err error) (*wbxml.Element, error)) bool {
	if c.s.Resume == nil || c.r.ProtoMajor != 1 {
		return false
	}
	hj, ok := c.w.(http.Hijacker)
	if !ok {
		return false
	}
	pw.mu.Lock()
	defer pw.mu.Unlock()
	if pw.fired {
		return false
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		c.log.Warn("cannot take over the connection of a parked request; it waits in its handler", "err", err)
		return false
	}
	_ = conn.SetDeadline(time.Time{})
	if n := brw.Reader.Buffered(); n > 0 {
		// The device already sent more (pipelining): keep those bytes
		// for the request that follows.
		early, _ := brw.Reader.Peek(n)
		conn = &prefixedConn{Conn: conn, r: io.MultiReader(bytes.NewReader(bytes.Clone(early)), conn)}
	}
	dr := &detachedResponse{conn: conn, close: c.r.Close, resume: c.s.Resume}
	// Nothing of net/http may stay reachable from the parked call: the
	// body deadline's ResponseController holds net/http's response, and
	// through it the connection's read and write buffers and the request
	// (~10 KiB per parked device). The body is read and its deadline
	// cleared by now.
	c.w, c.r, c.bodyDL = dr, nil, nil
	c.s.detached.Add(1)
	unwatch := func() {}
	pw.then = func(changed []string, err error) {
		defer c.s.detached.Done()
		// Before anything touches the connection again (see WatchClose).
		unwatch()
		c.s.run(c, func() int {
			resp, err := then(changed, err)
			if err != nil {
				return c.s.fail(c, err)
			}
			return c.s.writeWBXML(c, resp)
		})
		if err := dr.finish(); err != nil {
			c.log.Info("the device left before the answer to its parked request", "err", err)
		}
	}
	if c.s.WatchClose != nil {
		// The answer is still written when the device has gone: a
		// half-closed device may read it, and the bytes it pipelined
		// are served after it as usual; otherwise the write fails and
		// the connection is closed.
		log := c.log
		unwatch = c.s.WatchClose(conn, func() {
			log.Info("the device closed the connection of its parked request; ending it")
			stop()
		})
	}
	return true
}

// WaitDetached waits up to timeout for detached requests to be answered,
// and reports whether they all were. A stopping bridge ends its parked
// Pings, then calls this so the devices get their answers before the
// process exits.
func (s *Server) WaitDetached(timeout time.Duration) bool {
	done := make(chan struct{})
	go func() {
		s.detached.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// detachedResponse is the ResponseWriter of a detached request: it
// collects the answer and writes it as one HTTP/1.1 response.
type detachedResponse struct {
	conn   net.Conn
	header http.Header
	code   int
	body   bytes.Buffer
	close  bool // the device asked for Connection: close
	resume func(net.Conn)
}

// Header starts from the headers every answer carries; made only when
// the answer is written, so a parked request holds no map.
func (d *detachedResponse) Header() http.Header {
	if d.header == nil {
		d.header = http.Header{}
		setCommonHeaders(d.header)
	}
	return d.header
}

func (d *detachedResponse) WriteHeader(code int) {
	if d.code == 0 {
		d.code = code
	}
}

func (d *detachedResponse) Write(p []byte) (int, error) {
	d.WriteHeader(http.StatusOK)
	return d.body.Write(p)
}

// finish writes the response and returns the connection to the server,
// or closes it.
func (d *detachedResponse) finish() error {
	d.WriteHeader(http.StatusOK)
	h := d.Header()
	h.Set("Content-Length", strconv.Itoa(d.body.Len()))
	h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	if d.close {
		h.Set("Connection", "close")
	}
	var b bytes.Buffer
	b.WriteString("HTTP/1.1 " + strconv.Itoa(d.code) + " " + http.StatusText(d.code) + "\r\n")
	_ = h.Write(&b)
	b.WriteString("\r\n")
	b.Write(d.body.Bytes())
	_ = d.conn.SetWriteDeadline(time.Now().Add(detachedWriteTimeout))
	if _, err := d.conn.Write(b.Bytes()); err != nil || d.close {
		_ = d.conn.Close()
		return err
	}
	_ = d.conn.SetWriteDeadline(time.Time{})
	d.resume(d.conn)
	return nil
}

// prefixedConn reads bytes received before the takeover first.
type prefixedConn struct {
	net.Conn
	r io.Reader
}

func (p *prefixedConn) Read(b []byte) (int, error) { return p.r.Read(b) }

// NetConn returns the connection under the prefix (for WatchClose).
func (p *prefixedConn) NetConn() net.Conn { return p.Conn }
