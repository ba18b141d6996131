package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/idlebridge/idlebridge/bridge/accounts"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/internal/httpserve"
)

// upstreamCheckInterval bounds how often /readyz connects to a provider:
// probes come every few seconds, the provider should not see them all.
const upstreamCheckInterval = 60 * time.Second

// newHealth builds the readiness checks of a running server:
//   - store (required): the state store answers Ping; without it no request
//     can be served, so the instance is taken out of rotation.
//   - users (reported only): how many users are loaded and how many files
//     are invalid. A broken user file hurts that user, not the instance.
//   - upstream (reported only): whether the IMAP server of one user (the
//     first by address) accepts a connection and greets, cached for 60 s. A
//     provider outage is not fixed by sending traffic to another instance.
//
// The bodies name no user address: /readyz is reachable on the main
// listener by anyone who can reach the bridge.
func newHealth(store state.Store, dir *accounts.Directory, engine string) *httpserve.Health {
	return &httpserve.Health{Checks: []httpserve.Check{
		{Name: "store", Required: true, Run: func(ctx context.Context) (string, error) {
			return engine, store.Ping(ctx)
		}},
		{Name: "users", Run: func(context.Context) (string, error) {
			n, problems := len(dir.Users()), len(dir.Problems())
			detail := fmt.Sprintf("%d users", n)
			if problems > 0 {
				return detail, fmt.Errorf("%d user files are invalid (see the log, or run idlebridge check)", problems)
			}
			return detail, nil
		}},
		{Name: "upstream", Run: httpserve.Cached(upstreamCheckInterval, time.Now, func(ctx context.Context) (string, error) {
			users := dir.Users()
			if len(users) == 0 {
				return "no users configured", nil
			}
			ep := users[0].IMAP
			d, err := probeIMAPGreeting(ctx, ep, nil)
			if err != nil {
				return "IMAP " + ep.Addr(), err
			}
			return fmt.Sprintf("IMAP %s greeted in %d ms (checked at most every %s)", ep.Addr(), d.Milliseconds(), upstreamCheckInterval), nil
		})},
	}}
}

// probeIMAPGreeting connects to an IMAP endpoint, secures the connection
// as the endpoint says (implicit TLS, or STARTTLS after the greeting) and
// checks the server's untagged OK (or PREAUTH) greeting (RFC 9051 7.1). It
// logs in nowhere. base supplies root CAs; nil uses the system's.
func probeIMAPGreeting(ctx context.Context, ep accounts.Endpoint, base *tls.Config) (time.Duration, error) {
	start := time.Now()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", ep.Addr())
	if err != nil {
		return 0, fmt.Errorf("connect: %w", err)
	}
	defer func() { _ = conn.Close() }()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	if ep.Security == accounts.SecurityTLS {
		tc := tls.Client(conn, tlsFor(base, ep.Host))
		if err := tc.HandshakeContext(ctx); err != nil {
			return 0, fmt.Errorf("tls: %w", err)
		}
		conn = tc
	}
	r := bufio.NewReaderSize(conn, 1024)
	greeting, err := readIMAPLine(r)
	if err != nil {
		return 0, fmt.Errorf("no greeting: %w", err)
	}
	if !strings.HasPrefix(greeting, "* OK") && !strings.HasPrefix(greeting, "* PREAUTH") {
		return 0, fmt.Errorf("unexpected greeting %q", truncate(greeting, 60))
	}
	if ep.Security == accounts.SecurityStartTLS {
		// RFC 9051 6.2.1. The server sends nothing between the tagged OK and
		// the handshake, so the buffered reader holds no TLS bytes.
		if _, err := io.WriteString(conn, "p1 STARTTLS\r\n"); err != nil {
			return 0, fmt.Errorf("starttls: %w", err)
		}
		for {
			line, err := readIMAPLine(r)
			if err != nil {
				return 0, fmt.Errorf("starttls: %w", err)
			}
			if strings.HasPrefix(line, "p1 ") {
				if !strings.HasPrefix(line, "p1 OK") {
					return 0, fmt.Errorf("starttls refused: %q", truncate(line, 60))
				}
				break
			}
		}
		tc := tls.Client(conn, tlsFor(base, ep.Host))
		if err := tc.HandshakeContext(ctx); err != nil {
			return 0, fmt.Errorf("starttls: tls: %w", err)
		}
		conn = tc
	}
	return time.Since(start), nil
}

// readIMAPLine reads one response line of bounded length.
func readIMAPLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return "", errors.New("response line too long")
	}
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(line), "\r\n"), nil
}

// tlsFor clones base (or starts empty) and sets the server name.
func tlsFor(base *tls.Config, host string) *tls.Config {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if base != nil {
		tc = base.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName = host
	}
	return tc
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// defaultHealthURL is what the container's HEALTHCHECK asks.
const defaultHealthURL = "http://127.0.0.1:8080/healthz"

// cmdHealthcheck GETs a health URL and fails unless it answers 2xx: the
// Docker HEALTHCHECK of an image that has no shell or curl.
func cmdHealthcheck(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	def := os.Getenv("IDLEBRIDGE_HEALTHCHECK_URL")
	if def == "" {
		def = defaultHealthURL
	}
	rawURL := fs.String("url", def, "URL to GET (default $IDLEBRIDGE_HEALTHCHECK_URL, else "+defaultHealthURL+")")
	timeout := fs.Duration("timeout", 5*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := url.Parse(*rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("healthcheck: %q is not an http(s) URL", *rawURL)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	client := &http.Client{Transport: healthTransport(u)}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("healthcheck: %s answered %s", u.Redacted(), resp.Status)
	}
	fmt.Fprintln(out, "ok")
	return nil
}

// healthTransport skips certificate verification for loopback only: the
// container checks itself on 127.0.0.1, where the certificate (issued for
// the public name) can never match, and nothing sits in between.
func healthTransport(u *url.URL) http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if ip := net.ParseIP(u.Hostname()); u.Hostname() == "localhost" || (ip != nil && ip.IsLoopback()) {
		t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} // loopback self-check, see above
	}
	return t
}
