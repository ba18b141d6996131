package activesync

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
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
// hung up: its context is done (net/http cancels it when the connection
// closes) or the body broke off. Such a request is expected traffic on
// mobile networks (INFO), and whatever the error says about a 500 or 503
// is the consequence of the hang-up, not a fault of the bridge.
func (c *call) clientGone(err error) bool {
	if errors.Is(err, errClientGone) {
		return true
	}
	return c.r != nil && c.r.Context().Err() != nil
}

// bodyReadGone reports whether a body read error means the client hung up
// mid-body (truncated body, reset connection) rather than sent a bad one.
func bodyReadGone(ctx context.Context, err error) bool {
	var ne net.Error
	return ctx.Err() != nil || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &ne)
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
