package imap

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
)

// ErrBroken is wrapped by errors from a Session whose connection was closed
// (a transport error, a deadline, Close). Such a session must be discarded.
var ErrBroken = errors.New("imap: connection broken")

// Session is one logged-in IMAP connection. Not safe for concurrent use.
type Session struct {
	cfg    Config
	client *imapclient.Client
	caps   Capabilities

	commands atomic.Int64
	broken   atomic.Bool
	closed   atomic.Bool

	selected string // mailbox of the last successful Select, "" if none
	readOnly bool
	lastUsed time.Time
}

// Stats are counters of a Session, for reporting IMAP round trips.
type Stats struct {
	// Commands is the number of IMAP commands sent after login (each is
	// one round trip; pipelining is not used).
	Commands int64
}

// Stats returns the session's counters.
func (s *Session) Stats() Stats { return Stats{Commands: s.commands.Load()} }

// Caps returns the capabilities read after login.
func (s *Session) Caps() Capabilities { return s.caps }

// Broken reports whether the connection is known to be unusable.
func (s *Session) Broken() bool {
	if s.broken.Load() {
		return true
	}
	select {
	case <-s.client.Closed():
		s.broken.Store(true)
		return true
	default:
		return false
	}
}

// Selected returns the currently selected mailbox, or "".
func (s *Session) Selected() string { return s.selected }

// ReadOnly reports whether the selected mailbox was opened read-only
// (EXAMINE): a holder that changes messages must Select it again.
func (s *Session) ReadOnly() bool { return s.readOnly }

// localError marks a failure on our side of a command (a writer that
// failed, bad arguments) that leaves the connection healthy.
type localError struct{ err error }

func (e localError) Error() string { return e.err.Error() }
func (e localError) Unwrap() error { return e.err }

// do runs fn, which sends n commands and waits for them, bounded by ctx and
// the command timeout. go-imap has no read timeout of its own, so when the
// bound ends the connection is closed: that is what unblocks fn's waits.
// Tagged NO/BAD come back as *ServerError; transport failures break the
// session and wrap ErrBroken.
func (s *Session) do(ctx context.Context, op string, n int, fn func() error) error {
	if s.Broken() {
		return fmt.Errorf("imap %s: %w", op, ErrBroken)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("imap %s: %w", op, err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.commandTimeout())
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		s.broken.Store(true)
		_ = s.client.Close()
	})
	s.commands.Add(int64(n))
	s.lastUsed = time.Now()
	err := fn()
	if !stop() {
		// The bound ended while fn ran: the connection is gone whatever
		// fn returned.
		return fmt.Errorf("imap %s: %w: %w", op, ErrBroken, ctx.Err())
	}
	if err == nil {
		return nil
	}
	var le localError
	if errors.As(err, &le) {
		return fmt.Errorf("imap %s: %w", op, le.err)
	}
	if se, ok := asServerError(op, err); ok {
		return se
	}
	s.broken.Store(true)
	return fmt.Errorf("imap %s: %w: %w", op, ErrBroken, err)
}

// Noop sends NOOP; the pool uses it to check a session that sat idle.
func (s *Session) Noop(ctx context.Context) error {
	return s.do(ctx, "noop", 1, func() error { return s.client.Noop().Wait() })
}

// Logout says goodbye and closes the connection.
func (s *Session) Logout(ctx context.Context) error {
	if s.Broken() {
		return s.Close()
	}
	err := s.do(ctx, "logout", 1, func() error { return s.client.Logout().Wait() })
	cerr := s.Close()
	if err != nil {
		return err
	}
	return cerr
}

// Close closes the connection without LOGOUT. Safe to call twice; errors
// from a connection being dropped do not matter to the caller.
func (s *Session) Close() error {
	s.broken.Store(true)
	_ = s.client.Close()
	if !s.closed.Swap(true) && s.cfg.OnConn != nil {
		s.cfg.OnConn(-1)
	}
	return nil
}

// requireSelected guards message commands.
func (s *Session) requireSelected(op string) error {
	if s.selected == "" {
		return fmt.Errorf("imap %s: %w", op, ErrNoMailbox)
	}
	return nil
}
