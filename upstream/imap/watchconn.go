package imap

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// watchConn is the watcher's own IMAP connection (mailwatch.go), spoken
// without go-imap so that an idle one costs a socket, a 512-byte read
// buffer and the goroutine of the watcher that owns it — no reader
// goroutine, no write buffer. Only the owner reads and writes; wake may be
// called from any goroutine to make the owner's current read return
// early (errWoken).
type watchConn struct {
	cfg    Config
	conn   net.Conn
	rd     *respReader
	caps   capBits // the few capabilities the watcher uses
	known  bool    // caps were read (they change with STARTTLS and login)
	tag    uint64
	woken  atomic.Bool
	closed atomic.Bool
	// untagged is told every untagged response (not continuations) read
	// while a command or a wait runs.
	untagged func(response)
	// onWake, if set, is called by wake (a parked wait resumes), and
	// beforeClose before the socket closes (it leaves the poller).
	onWake      atomic.Pointer[func()]
	beforeClose func()
}

// errWoken is returned by a read that wake interrupted.
var errWoken = errors.New("imap: watcher woken")

// dialWatch connects, secures and logs in like Dial, and reads the
// capabilities.
func dialWatch(ctx context.Context, cfg Config) (*watchConn, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.dialTimeout())
	defer cancel()
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("imap dial: bad address %q: %w", cfg.Addr, err)
	}
	d := net.Dialer{KeepAliveConfig: net.KeepAliveConfig{
		Enable: true, Idle: tcpKeepAlive, Interval: tcpKeepAlive / 2, Count: 4,
	}}
	raw, err := d.DialContext(ctx, "tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("imap dial %s: %w", cfg.Addr, err)
	}
	c := &watchConn{cfg: cfg, conn: raw}
	// Until login completes, the deadline closes the socket.
	stop := context.AfterFunc(ctx, func() { _ = raw.Close() })
	err = c.connect(ctx, host)
	if !stop() {
		_ = c.conn.Close()
		return nil, fmt.Errorf("imap dial %s: %w", cfg.Addr, ctx.Err())
	}
	if err != nil {
		_ = c.conn.Close()
		return nil, err
	}
	if cfg.OnConn != nil {
		cfg.OnConn(1)
	}
	return c, nil
}

func (c *watchConn) connect(ctx context.Context, host string) error {
	tlsCfg := &tls.Config{}
	if c.cfg.TLSConfig != nil {
		tlsCfg = c.cfg.TLSConfig.Clone()
	}
	if tlsCfg.ServerName == "" {
		tlsCfg.ServerName = host
	}
	handshake := func() error {
		tc := tls.Client(c.conn, tlsCfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("imap dial %s: tls: %w", c.cfg.Addr, err)
		}
		c.conn = tc
		c.rd = newRespReader(tc)
		return nil
	}
	c.rd = newRespReader(c.conn)
	switch c.cfg.Security {
	case SecurityTLS, "":
		if err := handshake(); err != nil {
			return err
		}
	case SecurityStartTLS, SecurityNone:
	default:
		return fmt.Errorf("imap dial: unknown security %q", c.cfg.Security)
	}
	greet, err := c.read(ctx, time.Time{})
	if err != nil {
		return fmt.Errorf("imap dial %s: greeting: %w", c.cfg.Addr, err)
	}
	if greet.tag != "" || (greet.kind != "OK" && greet.kind != "PREAUTH") {
		return fmt.Errorf("imap dial %s: greeting: %s %s", c.cfg.Addr, greet.kind, greet.text)
	}
	c.noteCaps(greet)
	if c.cfg.Security == SecurityStartTLS {
		if greet.kind == "PREAUTH" {
			return fmt.Errorf("imap dial %s: starttls: PREAUTH on an unencrypted connection", c.cfg.Addr)
		}
		if err := c.command(ctx, "starttls", "STARTTLS"); err != nil {
			return fmt.Errorf("imap dial %s: starttls: %w", c.cfg.Addr, err)
		}
		if err := handshake(); err != nil {
			return err
		}
		c.known = false // learned again after login
	}
	if greet.kind != "PREAUTH" {
		if err := c.login(ctx); err != nil {
			return err
		}
	}
	if !c.known {
		if err := c.command(ctx, "capability", "CAPABILITY"); err != nil {
			return err
		}
	}
	return nil
}

// capBits are the capabilities the watcher looks at, one bit each: a
// connection held for hours keeps these, not the server's whole list.
type capBits uint16

var capNames = map[string]capBits{
	"IMAP4REV1": 1 << 0, "IMAP4REV2": 1 << 1, "NOTIFY": 1 << 2, "IDLE": 1 << 3,
	"CONDSTORE": 1 << 4, "ENABLE": 1 << 5, "SPECIAL-USE": 1 << 6, "LIST-EXTENDED": 1 << 7,
	"LITERAL+": 1 << 8, "SASL-IR": 1 << 9, "AUTH=PLAIN": 1 << 10, "LOGINDISABLED": 1 << 11,
}

// noteCaps takes capabilities from a CAPABILITY response or response code.
func (c *watchConn) noteCaps(r response) {
	var list string
	switch {
	case r.kind == "CAPABILITY":
		list = r.args
	case r.code == "CAPABILITY":
		list = r.args
	default:
		return
	}
	c.caps, c.known = 0, true
	for _, f := range strings.Fields(list) {
		c.caps |= capNames[strings.ToUpper(f)]
	}
}

// has reports a capability by its upper-case name (one of capNames).
func (c *watchConn) has(cap string) bool { return c.caps&capNames[cap] != 0 }

// login prefers AUTHENTICATE PLAIN, as Dial does.
func (c *watchConn) login(ctx context.Context) error {
	if !c.known {
		if err := c.command(ctx, "capability", "CAPABILITY"); err != nil {
			return err
		}
	}
	var parts []any
	switch {
	case c.has("AUTH=PLAIN"):
		ir := base64.StdEncoding.EncodeToString([]byte("\x00" + c.cfg.Username + "\x00" + c.cfg.Password))
		if c.has("SASL-IR") {
			parts = []any{"AUTHENTICATE PLAIN " + ir}
		} else {
			parts = []any{"AUTHENTICATE PLAIN", continuation(ir)}
		}
	case c.has("LOGINDISABLED"):
		return fmt.Errorf("imap login: server disables LOGIN and offers no AUTH=PLAIN (TLS needed?)")
	default:
		parts = []any{"LOGIN ", astringArg(c.cfg.Username), " ", astringArg(c.cfg.Password)}
	}
	// Capabilities change with login; the answer's code (or CAPABILITY)
	// brings the new ones.
	c.known = false
	err := c.command(ctx, "login", parts...)
	if err == nil {
		return nil
	}
	var se *ServerError
	if errors.As(err, &se) && se.Status == "NO" && !temporaryLoginCodes[se.Code] {
		return fmt.Errorf("%w: %w", ErrLoginRejected, se)
	}
	return err
}

// Arguments of command beyond plain text: a string to send as an IMAP
// string (quoted, or a literal when quoting cannot carry it), and a line
// sent after the server's continuation request (SASL without SASL-IR).
type (
	astringArg   string
	continuation string
)

// quotable reports whether s can be sent as a quoted string.
func quotable(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == 0 || c == '\r' || c == '\n' || c >= 0x80 {
			return false
		}
	}
	return true
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// command sends one command, built from its parts, and reads until its
// tagged answer; untagged responses go to c.untagged. A tagged NO or BAD
// is a *ServerError.
func (c *watchConn) command(ctx context.Context, op string, parts ...any) error {
	deadline := time.Now().Add(c.cfg.commandTimeout())
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c.tag++
	tag := "w" + strconv.FormatUint(c.tag, 10)
	buf := make([]byte, 0, 64)
	buf = append(buf, tag...)
	buf = append(buf, ' ')
	var after []continuation
	for _, p := range parts {
		switch p := p.(type) {
		case string:
			buf = append(buf, p...)
		case astringArg:
			if quotable(string(p)) {
				buf = append(buf, quote(string(p))...)
				continue
			}
			if c.has("LITERAL+") {
				buf = append(buf, "{"+strconv.Itoa(len(p))+"+}\r\n"...)
				buf = append(buf, p...)
				continue
			}
			buf = append(buf, "{"+strconv.Itoa(len(p))+"}\r\n"...)
			if err := c.write(buf, deadline); err != nil {
				return err
			}
			if err := c.awaitContinuation(ctx, op, tag, deadline); err != nil {
				return err
			}
			buf = append(buf[:0], p...)
		case continuation:
			after = append(after, p)
		}
	}
	buf = append(buf, "\r\n"...)
	if err := c.write(buf, deadline); err != nil {
		return err
	}
	for _, line := range after {
		if err := c.awaitContinuation(ctx, op, tag, deadline); err != nil {
			return err
		}
		if err := c.write([]byte(string(line)+"\r\n"), deadline); err != nil {
			return err
		}
	}
	return c.awaitTagged(ctx, op, tag, deadline)
}

func (c *watchConn) write(b []byte, deadline time.Time) error {
	_ = c.conn.SetWriteDeadline(deadline)
	if _, err := c.conn.Write(b); err != nil {
		return fmt.Errorf("imap write: %w: %w", ErrBroken, err)
	}
	return nil
}

// awaitContinuation reads until the server's "+"; a tagged answer
// instead (a refused literal or AUTHENTICATE) is the command's result.
func (c *watchConn) awaitContinuation(ctx context.Context, op, tag string, deadline time.Time) error {
	for {
		r, err := c.readUntil(ctx, deadline)
		if err != nil {
			return err
		}
		switch r.tag {
		case "+":
			return nil
		case tag:
			if err := taggedError(op, r); err != nil {
				return err
			}
			return fmt.Errorf("imap %s: %w: OK where a continuation was expected", op, ErrBroken)
		}
	}
}

func (c *watchConn) awaitTagged(ctx context.Context, op, tag string, deadline time.Time) error {
	for {
		r, err := c.readUntil(ctx, deadline)
		if err != nil {
			return err
		}
		if r.tag == tag {
			c.noteCaps(r)
			return taggedError(op, r)
		}
	}
}

func taggedError(op string, r response) error {
	switch r.kind {
	case "OK":
		return nil
	case "NO", "BAD":
		return &ServerError{Op: op, Status: r.kind, Code: r.code, Text: r.text}
	}
	return fmt.Errorf("imap %s: %w: tagged %q", op, ErrBroken, r.kind)
}

// readUntil reads one response by deadline for a command. A wake is
// not for the command: the flag stays set for the owner's next wait.
func (c *watchConn) readUntil(ctx context.Context, deadline time.Time) (response, error) {
	for {
		_ = c.conn.SetReadDeadline(deadline)
		r, err := c.readRaw(deadline)
		if err != nil && isTimeout(err) && !errors.Is(err, ErrBroken) {
			if ctx.Err() != nil {
				return response{}, fmt.Errorf("imap: %w", ctx.Err())
			}
			continue
		}
		return r, err
	}
}

// read reads one response; untagged ones are also handed to c.untagged.
// deadline zero means none. A wake (or ctx ending) before deadline
// returns errWoken.
func (c *watchConn) read(ctx context.Context, deadline time.Time) (response, error) {
	_ = c.conn.SetReadDeadline(deadline)
	if c.woken.Swap(false) || ctx.Err() != nil {
		return response{}, errWoken
	}
	r, err := c.readRaw(deadline)
	if err != nil && isTimeout(err) && (deadline.IsZero() || time.Now().Before(deadline)) {
		c.woken.Store(false)
		return response{}, errWoken
	}
	return r, err
}

func (c *watchConn) readRaw(deadline time.Time) (response, error) {
	line, err := c.rd.next()
	if err != nil {
		if isTimeout(err) && !deadline.IsZero() && !time.Now().Before(deadline) {
			return response{}, fmt.Errorf("imap read: %w: %w", ErrBroken, os.ErrDeadlineExceeded)
		}
		if isTimeout(err) {
			return response{}, err
		}
		return response{}, fmt.Errorf("imap read: %w: %w", ErrBroken, err)
	}
	r, err := parseResponse(line)
	if err != nil {
		return response{}, fmt.Errorf("%w: %w", ErrBroken, err)
	}
	if r.tag == "" {
		if r.kind == "BYE" {
			return r, fmt.Errorf("imap: %w: server said BYE: %s", ErrBroken, r.text)
		}
		c.noteCaps(r)
		if c.untagged != nil {
			c.untagged(r)
		}
	}
	return r, nil
}

// wait reads responses until deadline or a wake; it returns errWoken for
// a wake, nil at the deadline, and an error when the connection fails.
func (c *watchConn) wait(ctx context.Context, deadline time.Time, each func(response)) error {
	for {
		r, err := c.read(ctx, deadline)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return nil
			}
			return err
		}
		if each != nil {
			each(r)
		}
	}
}

// wake makes the owner's current or next read return errWoken.
func (c *watchConn) wake() {
	c.woken.Store(true)
	_ = c.conn.SetReadDeadline(time.Now())
	if f := c.onWake.Load(); f != nil {
		(*f)()
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// logout says goodbye (briefly) and closes.
func (c *watchConn) logout() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = c.command(ctx, "logout", "LOGOUT")
	c.close()
}

func (c *watchConn) close() {
	if c.closed.Swap(true) {
		return
	}
	if c.beforeClose != nil {
		c.beforeClose()
	}
	_ = c.conn.Close()
	if c.cfg.OnConn != nil {
		c.cfg.OnConn(-1)
	}
}
