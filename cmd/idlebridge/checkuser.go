package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/smtp"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/idlebridge/idlebridge/bridge"
	"github.com/idlebridge/idlebridge/bridge/accounts"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

// cmdCheckUser is `idlebridge check-user <address>`: it tries, part by
// part, everything the bridge will do upstream for one user, and says which
// part fails and why.
func cmdCheckUser(ctx context.Context, args []string, out io.Writer) error {
	return checkUserMain(ctx, args, os.Stdin, out)
}

// checkUserOptions are the flags of check-user.
type checkUserOptions struct {
	cfgPath     string
	passwordEnv string
	caFile      string
	timeout     time.Duration
}

func checkUserMain(ctx context.Context, args []string, in io.Reader, out io.Writer) error {
	fs := flag.NewFlagSet("check-user", flag.ContinueOnError)
	fs.SetOutput(out)
	var o checkUserOptions
	fs.StringVar(&o.cfgPath, "config", os.Getenv("IDLEBRIDGE_CONFIG"), "configuration file (YAML)")
	fs.StringVar(&o.passwordEnv, "password-env", "", "passthrough users: read the password from this environment variable instead of standard input")
	fs.StringVar(&o.caFile, "ca-file", "", "PEM file of extra CA certificates to trust (a private CA of the provider)")
	fs.DurationVar(&o.timeout, "timeout", 20*time.Second, "bound on each part of the check")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fmt.Fprintln(out, "usage: idlebridge check-user [--config FILE] [--password-env VAR] [--ca-file PEM] <address>")
		return errors.New("check-user: give exactly one address")
	}
	address := strings.ToLower(pos[0])

	cfg, err := LoadConfig(o.cfgPath)
	if err != nil {
		return err
	}
	dir, err := accounts.OpenDirectory(ctx, cfg.UsersDir, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	u, ok := dir.Lookup(address)
	if !ok {
		for _, p := range dir.Problems() {
			if strings.EqualFold(filepath.Base(p.File), address+".yaml") {
				fmt.Fprintf(out, "FAIL  user file: %s\n", p.Error())
				return fmt.Errorf("user file: %s", p.Error())
			}
		}
		return fmt.Errorf("no user file for %s in %s (expected %s.yaml)", address, cfg.UsersDir, address)
	}

	var roots *tls.Config
	if o.caFile != "" {
		if roots, err = tlsWithCA(o.caFile); err != nil {
			return err
		}
	}
	password, err := upstreamPassword(u, o.passwordEnv, in, out)
	if err != nil {
		return err
	}

	c := &userCheck{u: u, password: password, tls: roots, timeout: o.timeout, out: out}
	fmt.Fprintf(out, "user %s (%s login upstream as %s, file %s)\n", u.Address, u.Login.Mode, u.Login.UpstreamUser, u.File)
	c.run(ctx)
	if len(c.failed) > 0 {
		return fmt.Errorf("check-user %s: %s", u.Address, strings.Join(c.failed, "; "))
	}
	fmt.Fprintln(out, "all required parts ok")
	return nil
}

// tlsWithCA trusts the system roots plus the certificates in caFile.
func tlsWithCA(caFile string) (*tls.Config, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("--ca-file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--ca-file %s: no PEM certificate found", caFile)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// upstreamPassword is the secret the bridge would log in upstream with:
// from the user file for app-password users; for passthrough users the
// device password, which the operator types (or pipes) or names an
// environment variable for. It is never printed.
func upstreamPassword(u *accounts.User, env string, in io.Reader, out io.Writer) (string, error) {
	if u.Login.Mode == accounts.ModeAppPassword {
		return u.Login.UpstreamPassword, nil
	}
	if env != "" {
		v, ok := os.LookupEnv(env)
		if !ok || v == "" {
			return "", fmt.Errorf("--password-env: %s is not set", env)
		}
		return v, nil
	}
	if f, ok := in.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprintf(out, "password of %s (shown as you type; use --password-env or a pipe to avoid that): ", u.Address)
		}
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && line == "" {
		return "", errors.New("check-user: no password on standard input (passthrough user; or use --password-env VAR)")
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// userCheck runs and prints the parts of a check.
type userCheck struct {
	u        *accounts.User
	password string
	tls      *tls.Config
	timeout  time.Duration
	out      io.Writer
	failed   []string // "IMAP login: rejected by host:port"
}

func (c *userCheck) ok(part, detail string) { fmt.Fprintf(c.out, "ok    %s: %s\n", part, detail) }
func (c *userCheck) warn(part, detail string) {
	fmt.Fprintf(c.out, "warn  %s: %s\n", part, detail)
}
func (c *userCheck) skip(part, why string) { fmt.Fprintf(c.out, "skip  %s: %s\n", part, why) }
func (c *userCheck) fail(part, why string) {
	fmt.Fprintf(c.out, "FAIL  %s: %s\n", part, why)
	c.failed = append(c.failed, part+": "+why)
}

func (c *userCheck) run(ctx context.Context) {
	c.checkIMAP(ctx)
	c.checkSMTP(ctx)
	c.checkDAV(ctx, "CalDAV", c.u.CalDAV)
	c.checkDAV(ctx, "CardDAV", c.u.CardDAV)
}

func (c *userCheck) checkIMAP(ctx context.Context) {
	ep := c.u.IMAP
	pctx, cancel := context.WithTimeout(ctx, c.timeout)
	d, err := probeIMAPGreeting(pctx, ep, c.tls)
	cancel()
	if err != nil {
		c.fail("IMAP connect", fmt.Sprintf("%s (%s): %v", ep.Addr(), ep.Security, err))
		for _, p := range []string{"IMAP login", "IMAP capabilities", "IMAP folders"} {
			c.skip(p, "no connection")
		}
		return
	}
	what := "greeting and TLS"
	if ep.Security == accounts.SecurityNone {
		what = "greeting (no TLS)"
	}
	c.ok("IMAP connect", fmt.Sprintf("%s (%s), %s after %d ms", ep.Addr(), ep.Security, what, d.Milliseconds()))

	sess, err := imap.Dial(ctx, bridge.IMAPConfig(ep, c.tls, c.u.Login.UpstreamUser, c.password, c.timeout))
	switch {
	case errors.Is(err, imap.ErrLoginRejected):
		c.fail("IMAP login", fmt.Sprintf("rejected by %s (%v)", ep.Addr(), err))
	case err != nil:
		c.fail("IMAP login", fmt.Sprintf("%s: %v", ep.Addr(), err))
	}
	if err != nil {
		c.skip("IMAP capabilities", "not logged in")
		c.skip("IMAP folders", "not logged in")
		return
	}
	defer func() {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = sess.Logout(lctx)
	}()
	c.ok("IMAP login", "as "+c.u.Login.UpstreamUser)

	caps := sess.Caps()
	var have, missing []string
	for _, f := range []struct {
		name string
		on   bool
		cost string
	}{
		{"IDLE", caps.Idle, "new mail is found by polling, not pushed"},
		{"CONDSTORE", caps.CondStore, "flag changes are found by rescanning whole folders"},
		{"SPECIAL-USE", caps.SpecialUse, "Sent/Drafts/Trash are guessed from folder names"},
		{"MOVE", caps.Move, "moves are done as copy and delete"},
		{"UIDPLUS", caps.UIDPlus, "new message IDs after copy/append need an extra search"},
	} {
		if f.on {
			have = append(have, f.name)
		} else {
			missing = append(missing, f.name+" ("+f.cost+")")
		}
	}
	if len(missing) == 0 {
		c.ok("IMAP capabilities", strings.Join(have, " "))
	} else {
		c.warn("IMAP capabilities", "has "+orNone(have)+"; missing "+strings.Join(missing, ", "))
	}

	fctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	folders, err := sess.ListFolders(fctx)
	if err != nil {
		c.fail("IMAP folders", fmt.Sprintf("LIST on %s: %v", ep.Addr(), err))
		return
	}
	var roles []string
	found := map[string]bool{}
	for _, f := range folders {
		if f.Special != "" {
			roles = append(roles, f.Special+"="+f.Name)
			found[f.Special] = true
		}
	}
	detail := fmt.Sprintf("%d folders; roles: %s", len(folders), orNone(roles))
	var lacking []string
	for _, r := range []string{imap.SpecialSent, imap.SpecialDrafts, imap.SpecialTrash} {
		if !found[r] {
			lacking = append(lacking, r)
		}
	}
	if len(lacking) > 0 {
		c.warn("IMAP folders", detail+"; no folder for "+strings.Join(lacking, ", ")+" (phones show none)")
		return
	}
	c.ok("IMAP folders", detail)
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// checkSMTP connects to the submission server, secures the connection as
// the user file says and authenticates with AUTH PLAIN; no mail is sent.
func (c *userCheck) checkSMTP(ctx context.Context) {
	ep := c.u.SMTP
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	client, err := dialSMTP(ctx, ep, c.tls)
	if err != nil {
		c.fail("SMTP connect", fmt.Sprintf("%s (%s): %v", ep.Addr(), ep.Security, err))
		c.skip("SMTP login", "no connection")
		return
	}
	defer client.Close()
	c.ok("SMTP connect", fmt.Sprintf("%s (%s)", ep.Addr(), ep.Security))

	ok, mechs := client.Extension("AUTH")
	switch {
	case !ok:
		// A server that takes mail without login is either an internal
		// relay or misconfigured; the bridge cannot verify credentials.
		c.warn("SMTP login", "the server offers no AUTH: mail would be submitted without logging in")
	case !hasWord(mechs, "PLAIN"):
		c.fail("SMTP login", fmt.Sprintf("%s offers AUTH %s but not PLAIN", ep.Addr(), mechs))
	default:
		err := client.Auth(smtp.PlainAuth("", c.u.Login.UpstreamUser, c.password, ep.Host))
		var tpe *textproto.Error
		switch {
		case err == nil:
			c.ok("SMTP login", "AUTH PLAIN as "+c.u.Login.UpstreamUser)
		case errors.As(err, &tpe) && tpe.Code == 535: // RFC 4954 6: credentials invalid
			c.fail("SMTP login", fmt.Sprintf("rejected by %s (%v)", ep.Addr(), err))
		default:
			c.fail("SMTP login", fmt.Sprintf("%s: %v", ep.Addr(), err))
		}
	}
	_ = client.Quit()
}

// dialSMTP connects and secures an SMTP session. The context bounds the
// whole conversation through the connection deadline.
func dialSMTP(ctx context.Context, ep accounts.Endpoint, base *tls.Config) (*smtp.Client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", ep.Addr())
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	if ep.Security == accounts.SecurityTLS {
		tc := tls.Client(conn, tlsFor(base, ep.Host))
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("tls: %w", err)
		}
		conn = tc
	}
	client, err := smtp.NewClient(conn, ep.Host)
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	if err := client.Hello(helloName()); err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("EHLO: %w", err)
	}
	if ep.Security == accounts.SecurityStartTLS {
		if ok, _ := client.Extension("STARTTLS"); !ok {
			_ = client.Close()
			return nil, errors.New("the server does not offer STARTTLS")
		}
		if err := client.StartTLS(tlsFor(base, ep.Host)); err != nil {
			_ = client.Close()
			return nil, fmt.Errorf("starttls: %w", err)
		}
	}
	return client, nil
}

// helloName is the EHLO name: the machine's name when it looks like one.
func helloName() string {
	if h, err := os.Hostname(); err == nil && strings.Contains(h, ".") {
		return h
	}
	return "localhost"
}

func hasWord(list, word string) bool {
	for _, w := range strings.Fields(list) {
		if strings.EqualFold(w, word) {
			return true
		}
	}
	return false
}

// redactedURL drops any password written into a URL.
func redactedURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Redacted()
}
