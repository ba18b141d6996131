package activesync

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// Reading a request body is where one client could take the bridge's
// memory or a connection for as long as it likes (issue 17: 8 concurrent
// 32 MiB bodies peaked at 1.6 GB RSS; a body trickled at 1 byte/s held a
// connection for minutes). So a body is
//   - refused before reading when its declared length is over the limit;
//   - decompressed when sent with Content-Encoding: gzip, counting the
//     limit after decompression (a gzip bomb stops at the limit);
//   - read under a deadline that grows with the bytes received: it must
//     arrive at BodyMinRate after a grace of BodyTimeout, and no read may
//     wait longer than BodyTimeout;
//   - kept in memory up to spoolThreshold, and spooled to an unlinked
//     file in SpoolDir beyond, so a slow upload holds disk, not memory;
//   - then loaded under a server-wide budget of body bytes in memory
//     (MaxBodyBytesInFlight): past it, requests wait their turn.

// Defaults for the Server's body settings.
const (
	defaultMaxRequestBytes      = 32 << 20
	defaultMaxBodyBytesInFlight = 64 << 20
	defaultBodyTimeout          = 30 * time.Second
	defaultBodyMinRate          = 4 << 10 // bytes per second
	// spoolThreshold is the most a body holds in memory before it is
	// received whole; every real command but a send with attachments is
	// far below it.
	spoolThreshold = 256 << 10
	// budgetWait bounds the wait for the body budget; past it the device
	// is asked to retry later (503).
	budgetWait = 30 * time.Second
)

func (s *Server) maxRequestBytes() int64 {
	if s.MaxRequestBytes > 0 {
		return s.MaxRequestBytes
	}
	return defaultMaxRequestBytes
}

// receiveBody reads the request body whole (see the top of this file) and
// returns it; the caller releases the budget it holds with c.releaseBody.
func (s *Server) receiveBody(c *call) ([]byte, error) {
	limit := s.maxRequestBytes()
	if c.r.ContentLength > limit {
		// Refused before a byte is read; net/http closes the connection
		// rather than draining what is left.
		return nil, httpError(http.StatusRequestEntityTooLarge, fmt.Sprintf("request body of %d bytes declared, over %d", c.r.ContentLength, limit), nil)
	}
	// wire sees the bytes as they come off the connection: only its
	// errors can mean the client went away (a truncated gzip stream inside
	// a complete body is a bad body, not a hang-up).
	wire := &readErrs{r: c.bodyDL.reader(http.MaxBytesReader(c.w, c.r.Body, limit))}
	var src io.Reader = wire
	switch coding := strings.ToLower(strings.TrimSpace(c.r.Header.Get("Content-Encoding"))); coding {
	case "", "identity":
	case "gzip", "x-gzip": // RFC 9110 8.4.1.3: x-gzip is the same coding
		zr, err := gzip.NewReader(src)
		switch {
		case errors.Is(err, io.EOF):
			src = bytes.NewReader(nil) // an empty body, whatever its coding
		case err != nil:
			return nil, bodyReadError(c, err, wire.err, "gzip request body")
		default:
			defer zr.Close()
			// The limit counts decompressed bytes, so a small bomb stops
			// at it.
			src = http.MaxBytesReader(c.w, zr, limit)
		}
	default:
		// RFC 9110 15.5.16: 415 for a content coding the server does not
		// know.
		return nil, httpError(http.StatusUnsupportedMediaType, fmt.Sprintf("request body with Content-Encoding %q", coding), nil)
	}

	// The first spoolThreshold bytes in memory; a larger body goes on to
	// a file as it arrives.
	head := make([]byte, 0, min(spoolThreshold+1, max(c.r.ContentLength+1, 512)))
	head, err := readUpTo(src, head, spoolThreshold+1)
	if err != nil {
		return nil, bodyReadError(c, err, wire.err, "request body")
	}
	size := int64(len(head))
	var spool *os.File
	if size > spoolThreshold {
		spool, err = s.createSpool()
		if err != nil {
			return nil, spoolError(err)
		}
		defer spool.Close()
		if _, err := spool.Write(head); err != nil {
			return nil, spoolError(err)
		}
		head = nil
		n, err := io.Copy(spool, src)
		var pe *os.PathError
		if errors.As(err, &pe) && pe.Path == spool.Name() {
			return nil, spoolError(err) // writing failed, not reading
		}
		if err != nil {
			return nil, bodyReadError(c, err, wire.err, "request body")
		}
		size += n
	}
	// Only now: on any failure above the deadline stays, so what net/http
	// drains of the rest of the body after the answer is bounded too.
	c.bodyDL.clear()

	if err := c.holdBody(size); err != nil {
		return nil, err
	}
	if spool == nil {
		return head, nil
	}
	body := make([]byte, size)
	if _, err := spool.ReadAt(body, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("reading a spooled request body: %w", err)
	}
	return body, nil
}

// readUpTo appends from r to buf until EOF or until buf holds limit bytes.
func readUpTo(r io.Reader, buf []byte, limit int) ([]byte, error) {
	for len(buf) < limit {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):min(cap(buf), limit)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// createSpool makes an anonymous file for one body: unlinked at once
// where the system allows it, so nothing is left behind even by a crash.
func (s *Server) createSpool() (*os.File, error) {
	dir := s.SpoolDir
	if dir == "" {
		dir = os.TempDir()
	}
	f, err := os.CreateTemp(dir, "idlebridge-body-*")
	if err != nil {
		return nil, err
	}
	if err := os.Remove(f.Name()); err != nil {
		_ = f.Close()
		_ = os.Remove(f.Name())
		return nil, err
	}
	return f, nil
}

// spoolError is a failure to write a body to disk (full, not writable):
// the device can only try again later, the operator must act (logged at
// ERROR).
func spoolError(err error) error {
	return &Error{HTTP: http.StatusServiceUnavailable, Retry: true, Msg: "spooling a request body", Err: err}
}

// readErrs remembers the first error its reader returned other than EOF.
type readErrs struct {
	r   io.Reader
	err error
}

func (e *readErrs) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

// bodyReadError sorts a failed body read into its answer; wireErr is the
// error of the connection's own reads, if any.
func bodyReadError(c *call, err, wireErr error, what string) error {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return httpError(http.StatusRequestEntityTooLarge, fmt.Sprintf("%s over %d bytes", what, mbe.Limit), nil)
	case errors.Is(err, os.ErrDeadlineExceeded):
		// The connection cannot be read any more: answer and close it.
		c.w.Header().Set("Connection", "close")
		return httpError(http.StatusRequestTimeout, what+" arrived too slowly", err)
	case wireErr != nil && bodyReadGone(c.r.Context(), wireErr), c.r.Context().Err() != nil:
		return fmt.Errorf("reading %s: %w: %w", what, errClientGone, err)
	}
	return httpError(http.StatusBadRequest, "reading "+what, err)
}

// holdBody takes what a body of size bytes costs in memory from the
// server's body budget, for the rest of the request: twice its size when
// it is WBXML, whose decoded tree copies its opaque data (the MIME of a
// SendMail). A body costing more than the whole budget takes all of it,
// so it runs alone.
func (c *call) holdBody(size int64) error {
	if size == 0 {
		return nil
	}
	b := c.s.bodyBudget()
	cost := size
	if c.decodesWBXML() {
		cost *= 2
	}
	n := min(cost, b.capacity)
	wait := c.s.budgetWait
	if wait <= 0 {
		wait = budgetWait
	}
	ctx, cancel := context.WithTimeout(c.r.Context(), wait)
	defer cancel()
	if err := b.acquire(ctx, n); err != nil {
		if c.r.Context().Err() != nil {
			return fmt.Errorf("waiting to read the body: %w", errClientGone)
		}
		return &Error{HTTP: http.StatusServiceUnavailable, Retry: true, Msg: fmt.Sprintf("%d body bytes already in memory; %d more must wait", b.capacity, size)}
	}
	c.held = n
	return nil
}

// releaseBody gives back the budget held by the request's body.
func (c *call) releaseBody() {
	if c.held > 0 {
		c.s.bodyBudget().release(c.held)
		c.held = 0
	}
}

// bodyDeadline keeps a body's read deadline: the body must come at the
// minimum rate after a grace period, and no read waits longer than the
// grace period. Without support for read deadlines (HTTP/2 through some
// writers, tests' recorders) it does nothing.
type bodyDeadline struct {
	rc      *http.ResponseController
	grace   time.Duration
	rate    float64 // bytes per second
	start   time.Time
	got     int64
	working bool
}

// startBodyDeadline sets the read deadline of a request that has a body,
// from the moment its headers are in: the body is bounded whether the
// request gets to read it or is answered without (401, 415...), when
// net/http drains what is left of it to reuse the connection. A request
// without a body gets none: net/http reads the connection in the
// background as soon as its handler runs, and a deadline would end a Ping
// waiting there.
func (s *Server) startBodyDeadline(w http.ResponseWriter, r *http.Request) *bodyDeadline {
	if r.ContentLength == 0 {
		return &bodyDeadline{}
	}
	d := &bodyDeadline{rc: http.NewResponseController(w), grace: s.BodyTimeout, rate: float64(s.BodyMinRate), start: time.Now()}
	if d.grace <= 0 {
		d.grace = defaultBodyTimeout
	}
	if d.rate <= 0 {
		d.rate = defaultBodyMinRate
	}
	d.working = d.rc.SetReadDeadline(d.start.Add(d.grace)) == nil
	return d
}

func (d *bodyDeadline) reader(r io.Reader) io.Reader {
	if d == nil || !d.working {
		return r
	}
	return &deadlineReader{r: r, d: d}
}

// advance moves the deadline after n more bytes arrived.
func (d *bodyDeadline) advance(n int) {
	d.got += int64(n)
	byRate := d.start.Add(d.grace + time.Duration(float64(d.got)/d.rate*float64(time.Second)))
	if idle := time.Now().Add(d.grace); idle.Before(byRate) {
		byRate = idle
	}
	_ = d.rc.SetReadDeadline(byRate)
}

// clear removes the deadline, so nothing that reads the connection later
// is cut off by it: net/http's background read while a Ping waits in its
// handler would end the request, and a parked Ping's connection is handed
// back to the server.
func (d *bodyDeadline) clear() {
	if d != nil && d.working {
		_ = d.rc.SetReadDeadline(time.Time{})
		d.working = false
	}
}

type deadlineReader struct {
	r io.Reader
	d *bodyDeadline
}

func (r *deadlineReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 && r.d.working {
		r.d.advance(n)
	}
	return n, err
}
