package activesync

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
)

// codeClientGone marks a request whose client hung up before it was
// answered. It is never written (nobody is left to read it); it stands in
// the request's metrics the way nginx's 499 "client closed request" does,
// so a dropped request is neither a success nor the bridge's failure.
const codeClientGone = 499

// errClientGone is returned when reading the request body fails because
// the client went away mid-request.
var errClientGone = errors.New("client went away")

// clientGone reports whether a failed request failed because the client
// hung up: its context is cancelled (net/http cancels it when the
// connection closes) or the body broke off. Such a request is expected
// traffic on mobile networks (INFO), and whatever the error says about a
// 500 or 503 is the consequence of the hang-up, not a fault of the bridge.
// A context that merely ran out of time (DeadlineExceeded) is not a
// hang-up: that client is still waiting for an answer.
func (c *call) clientGone(err error) bool {
	if errors.Is(err, errClientGone) {
		return true
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// The bridge's own body deadline fired (408): the connection read
		// failed and net/http cancelled the context, but the client is
		// still there to be told.
		return false
	}
	return c.r != nil && errors.Is(c.r.Context().Err(), context.Canceled)
}

// bodyReadGone reports whether a body read error means the client hung up
// mid-body (truncated body, reset connection) rather than sent a bad one.
func bodyReadGone(ctx context.Context, err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false // a slow client, still there: the body deadline's answer
	}
	return errors.Is(ctx.Err(), context.Canceled) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &ne)
}

// logClientGone logs a request the client abandoned and returns the code
// that records it, without writing an answer.
func (c *call) logClientGone(err error) int {
	c.log.Log(context.Background(), slog.LevelInfo, "client went away before the answer", "err", err)
	return codeClientGone
}

// requestLevel is the level of a finished request's log line: the bridge's
// own failures are ERROR; a command that is not built (501) is traffic
// the bridge expects, as is a client that went away.
func requestLevel(code int) slog.Level {
	if code >= 500 && code != http.StatusNotImplemented {
		return slog.LevelError
	}
	return slog.LevelInfo
}

// copyToClient streams r to the client and tells apart the two ways it can
// stop early: the client went away (writeErr, INFO: nothing to fix) or the
// source failed (readErr: the bridge's or the provider's problem). limit
// < 0 copies to EOF; otherwise exactly limit bytes are expected.
func copyToClient(w io.Writer, r io.Reader, limit int64) (n int64, readErr, writeErr error) {
	cw := &clientWriter{w: w}
	if limit >= 0 {
		n, readErr = io.CopyN(cw, r, limit)
	} else {
		n, readErr = io.Copy(cw, r)
	}
	if cw.err != nil {
		return n, nil, cw.err
	}
	return n, readErr, nil
}

// clientWriter remembers the first write error.
type clientWriter struct {
	w   io.Writer
	err error
}

func (c *clientWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}

// logStreamEnd logs how a streamed answer ended.
func (c *call) logStreamEnd(what string, n int64, readErr, writeErr error, attrs ...any) {
	attrs = append(attrs, "bytes", n)
	switch {
	case writeErr != nil:
		c.log.Info("client went away during the answer", append(attrs, "what", what, "err", writeErr)...)
	case readErr != nil && c.clientGone(readErr):
		// The source read with the request's context, which the hang-up
		// cancelled: the read failed because the client left.
		c.log.Info("client went away during the answer", append(attrs, "what", what, "err", readErr)...)
	case readErr != nil:
		// Headers are sent: a truncated body is the only signal left, and
		// the client's decoder or HTTP stack rejects it.
		c.log.Error("streaming "+what+" failed", append(attrs, "err", readErr)...)
	default:
		c.log.Info(what+" sent", attrs...)
	}
}
