package smtp

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

// headerPeek is how much of the message Send looks at to decide whether
// the header carries raw UTF-8 (RFC 6532), which asks for SMTPUTF8.
const headerPeek = 64 << 10

// Send submits one message: connect and secure the connection as cfg
// says, AUTH when the server offers it and cfg has a user, MAIL FROM from,
// RCPT for each recipient, DATA msg. msg is sent as is (dot-stuffing is
// the only change on the wire). The whole exchange is bounded by ctx.
// Failures are *Error.
func Send(ctx context.Context, cfg Config, from string, rcpts []string, msg io.Reader) error {
	return SendTracked(ctx, cfg, from, rcpts, msg, nil)
}

// SendTracked is Send with a hook for callers that must know whether the
// server can have accepted the message: beforeDot runs once the whole
// message is written and the server has not yet seen the final dot (RFC
// 5321 4.1.1.4: the data is only "mail" once the dot arrives; a server
// that loses the connection before it discards the message). If beforeDot
// fails, the connection is dropped without the dot and its error is
// returned. A failure after the dot with no reply from the server is an
// *Error with Uncertain set: the message may have been accepted.
func SendTracked(ctx context.Context, cfg Config, from string, rcpts []string, msg io.Reader, beforeDot func() error) error {
	if len(rcpts) == 0 {
		return &Error{Kind: KindRecipient, Stage: "rcpt", Msg: "no recipients"}
	}
	c, err := connect(ctx, cfg)
	if err != nil {
		return err
	}
	// go-smtp bounds each command with deadlines; ctx ends the exchange
	// early by closing the connection, which unblocks any read.
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	defer stop()
	dotSent := false
	err = transact(c, cfg, from, rcpts, msg, beforeDot, &dotSent)
	if err != nil {
		_ = c.Close()
		var hookErr hookError
		if errors.As(err, &hookErr) {
			return hookErr.error
		}
		if ctx.Err() != nil {
			return &Error{Kind: KindUnavailable, Stage: "data", Temporary: true, Msg: "cancelled", Err: ctx.Err(), Uncertain: dotSent}
		}
		return err
	}
	// The message is accepted; a failed QUIT changes nothing.
	_ = c.Quit()
	return nil
}

// connect dials, secures and greets; the result is ready for AUTH.
func connect(ctx context.Context, cfg Config) (*gosmtp.Client, error) {
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, &Error{Kind: KindOther, Stage: "connect", Msg: fmt.Sprintf("bad address %q", cfg.Addr), Err: err}
	}
	sec := cfg.security()
	switch sec {
	case SecurityTLS, SecurityStartTLS, SecurityNone:
	default:
		return nil, &Error{Kind: KindOther, Stage: "connect", Msg: fmt.Sprintf("unknown security %q", sec)}
	}
	if sec == SecurityNone && cfg.Username != "" && !isLoopback(host) {
		// Never send a password in clear over the network.
		return nil, &Error{Kind: KindOther, Stage: "connect", Msg: "refusing to authenticate without TLS to a non-loopback server"}
	}
	dctx, cancel := context.WithTimeout(ctx, cfg.timeout())
	defer cancel()
	d := net.Dialer{KeepAlive: 30 * time.Second}
	conn, err := d.DialContext(dctx, "tcp", cfg.Addr)
	if err != nil {
		return nil, classify("connect", err)
	}
	tc := tlsConfig(cfg, host)
	if sec == SecurityTLS {
		tconn := tls.Client(conn, tc)
		if err := tconn.HandshakeContext(dctx); err != nil {
			_ = conn.Close()
			return nil, &Error{Kind: KindUnavailable, Stage: "tls", Temporary: true, Msg: "TLS handshake", Err: err}
		}
		conn = tconn
	}
	// The greeting, EHLO and STARTTLS must also finish within the set-up
	// bound.
	stop := context.AfterFunc(dctx, func() { _ = conn.Close() })
	defer stop()
	name := cfg.HelloName
	if name == "" {
		name = "localhost"
	}
	var c *gosmtp.Client
	if sec == SecurityStartTLS {
		// go-smtp greets (as "localhost") and upgrades; the EHLO with our
		// name follows on the secured connection, as RFC 3207 4.2 wants a
		// fresh EHLO after TLS anyway.
		c, err = gosmtp.NewClientStartTLS(conn, tc)
		if err != nil {
			_ = conn.Close()
			return nil, classify("tls", err)
		}
	} else {
		c = gosmtp.NewClient(conn)
	}
	c.CommandTimeout = cfg.timeout()
	c.SubmissionTimeout = max(DataTimeout, cfg.timeout())
	if err := c.Hello(name); err != nil {
		_ = c.Close()
		return nil, classify("hello", err)
	}
	if dctx.Err() != nil {
		_ = c.Close()
		return nil, classify("hello", dctx.Err())
	}
	return c, nil
}

func tlsConfig(cfg Config, host string) *tls.Config {
	var tc *tls.Config
	if cfg.TLSConfig != nil {
		tc = cfg.TLSConfig.Clone()
	} else {
		tc = &tls.Config{}
	}
	if tc.ServerName == "" {
		tc.ServerName = host
	}
	return tc
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// transact runs AUTH, MAIL, RCPT and DATA on a greeted connection.
func transact(c *gosmtp.Client, cfg Config, from string, rcpts []string, msg io.Reader, beforeDot func() error, dotSent *bool) error {
	if cfg.Username != "" {
		if ok, _ := c.Extension("AUTH"); ok {
			if err := auth(c, cfg); err != nil {
				return err
			}
		}
	}
	br := bufio.NewReaderSize(msg, headerPeek)
	head, _ := br.Peek(headerPeek) // a short read is fine: less to look at
	opts := &gosmtp.MailOptions{}
	if needsUTF8(from, rcpts, head) {
		if ok, _ := c.Extension("SMTPUTF8"); ok {
			opts.UTF8 = true
		} else if !allASCII(from, rcpts) {
			// RFC 6531: an address with UTF-8 cannot be given to a server
			// without SMTPUTF8. Raw UTF-8 in the header alone is sent as
			// is; most servers accept it with 8BITMIME.
			return &Error{Kind: KindRecipient, Stage: "mail", Msg: "internationalised address and no SMTPUTF8 on the server"}
		}
	}
	if err := c.Mail(from, opts); err != nil {
		return classify("mail", err)
	}
	for _, r := range rcpts {
		if err := c.Rcpt(r, nil); err != nil {
			e := classify("rcpt", err)
			e.Recipient = r
			return e
		}
	}
	w, err := c.Data()
	if err != nil {
		return classify("data", err)
	}
	if _, err := io.Copy(w, markedReader{br}); err != nil {
		_ = w.Close()
		var rerr readError
		if errors.As(err, &rerr) {
			return &Error{Kind: KindOther, Stage: "data", Msg: "reading the message", Err: err}
		}
		return classify("data", err)
	}
	if beforeDot != nil {
		if err := beforeDot(); err != nil {
			// Dropping the connection now, before go-smtp's Close writes
			// the dot, leaves the server with an aborted transaction.
			return hookError{err}
		}
	}
	*dotSent = true
	if err := w.Close(); err != nil {
		e := classify("data", err)
		// A reply (any code) settles it: the server refused. No reply
		// (timeout, reset) leaves it open.
		e.Uncertain = e.Code == 0
		return e
	}
	return nil
}

// hookError carries the beforeDot hook's error through transact.
type hookError struct{ error }

func (e hookError) Unwrap() error { return e.error }

// readError marks a failure of the caller's reader (not the network).
type readError struct{ error }

func (e readError) Unwrap() error { return e.error }

// markedReader wraps its reader's errors (except EOF) in readError.
type markedReader struct{ r io.Reader }

func (m markedReader) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	if err != nil && err != io.EOF {
		err = readError{err}
	}
	return n, err
}

// auth logs in with PLAIN, or LOGIN for servers that offer only that.
func auth(c *gosmtp.Client, cfg Config) error {
	var mech sasl.Client
	switch {
	case c.SupportsAuth(sasl.Plain):
		mech = sasl.NewPlainClient("", cfg.Username, cfg.Password)
	case c.SupportsAuth(sasl.Login):
		mech = sasl.NewLoginClient(cfg.Username, cfg.Password)
	default:
		_, mechs := c.Extension("AUTH")
		return &Error{Kind: KindAuth, Stage: "auth", Msg: "no supported AUTH mechanism among " + mechs}
	}
	if err := c.Auth(mech); err != nil {
		e := classify("auth", err)
		if e.Code == 0 && !e.Temporary {
			e.Kind = KindAuth
		}
		return e
	}
	return nil
}

// needsUTF8 reports whether the envelope or the header has non-ASCII
// bytes (RFC 6531/6532).
func needsUTF8(from string, rcpts []string, head []byte) bool {
	if !allASCII(from, rcpts) {
		return true
	}
	end := bytes.Index(head, []byte("\r\n\r\n"))
	if end < 0 {
		end = bytes.Index(head, []byte("\n\n"))
	}
	if end < 0 {
		end = len(head)
	}
	for _, b := range head[:end] {
		if b >= 0x80 {
			return true
		}
	}
	return false
}

func allASCII(from string, rcpts []string) bool {
	for _, s := range append([]string{from}, rcpts...) {
		for i := 0; i < len(s); i++ {
			if s[i] >= 0x80 {
				return false
			}
		}
	}
	return true
}
