package activesync

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// Path is where devices post ActiveSync requests (MS-ASHTTP 2.2.1.1.1).
const Path = "/Microsoft-Server-ActiveSync"

// serverVersion is announced in MS-Server-ActiveSync.
const serverVersion = "16.1"

// Server is the ActiveSync HTTP front. Create it with its fields set; it is
// safe for concurrent use once serving.
type Server struct {
	Backend Backend
	Policy  Policy
	// PublicURL is the bridge's external base URL (https://mail.example.com),
	// announced by Autodiscover.
	PublicURL string
	// MaxRequestBytes bounds a request body, counted after decompression
	// (HTTP 413 beyond it; default 32 MiB).
	MaxRequestBytes int64
	// MaxBodyBytesInFlight bounds the request bodies held in memory at
	// once, all requests together (default 64 MiB); requests past it wait
	// their turn, up to 30 s, then get 503 with Retry-After.
	MaxBodyBytesInFlight int64
	// SpoolDir receives bodies too large to wait in memory while they
	// arrive (default os.TempDir()); the files are unlinked at creation.
	SpoolDir string
	// BodyTimeout and BodyMinRate bound the time a body takes to arrive:
	// BodyTimeout of grace plus BodyMinRate bytes per second, and no read
	// waiting longer than BodyTimeout (defaults 30 s and 4 KiB/s). A body
	// slower than that is answered 408 and its connection closed.
	BodyTimeout time.Duration
	BodyMinRate int64
	// OnAuthenticated, if set, is told of each request that passed
	// authentication (the listener stops counting its connection as
	// unauthenticated; see httpserve.MarkAuthenticated).
	OnAuthenticated func(*http.Request)
	// MaxSyncResponseBytes bounds the item data of one Sync answer; what
	// does not fit waits for the next Sync (MoreAvailable). One item larger
	// than the budget still goes, alone. 0: DefaultSyncResponseBytes.
	MaxSyncResponseBytes int64
	// Limiter slows down password guessing; nil disables it.
	Limiter *LoginLimiter
	// ClientAddr returns the client's address (the default is the TCP peer;
	// deployments behind a proxy set one that trusts X-Forwarded-For from
	// the proxy only).
	ClientAddr func(*http.Request) netip.Addr
	// MinHeartbeat and MaxHeartbeat bound Ping and hanging Sync intervals
	// (defaults 60 s and 3540 s); MaxPingFolders bounds a Ping's folders.
	MinHeartbeat, MaxHeartbeat time.Duration
	MaxPingFolders             int
	// OnLogin, if set, is told the result of every login check: "ok",
	// "rejected", "throttled" or "error" (metrics).
	OnLogin func(result string)
	// Observe, if set, is told about every finished request (metrics).
	Observe func(cmd string, httpCode int, status Status, d time.Duration)
	// Resume, if set, takes back an HTTP/1.x connection the front took
	// over to park a Ping without a goroutine, once its answer is written,
	// so the device's next request reuses it (keep-alive). Use
	// httpserve.ResumeListener's Resume. Without it a parked Ping waits
	// in its handler.
	Resume func(net.Conn)
	// WatchClose, if set, reports that the device closed the connection
	// of a parked (detached) request by calling gone, so the request ends
	// within seconds instead of at its heartbeat; the returned cancel is
	// called before the connection is written to or handed back. Use
	// httpserve.PeerCloseWatcher's Watch (one goroutine for all).
	WatchClose func(c net.Conn, gone func()) (cancel func())
	Log        *slog.Logger

	detached   sync.WaitGroup // requests answered off their handlers
	budgetOnce sync.Once
	budget     *byteBudget   // see bodyBudget
	budgetWait time.Duration // 0: budgetWait; shorter in tests
}

// Handler returns the HTTP handler for the ActiveSync path and both
// Autodiscover forms.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(Path, s.serveEAS)
	mux.HandleFunc("/", s.serveOther)
	return mux
}

// serveOther routes Autodiscover case-insensitively: clients spell the path
// /Autodiscover/Autodiscover.xml, /autodiscover/autodiscover.xml, ...
func (s *Server) serveOther(w http.ResponseWriter, r *http.Request) {
	p := strings.ToLower(r.URL.Path)
	switch {
	case p == "/autodiscover/autodiscover.xml":
		s.serveAutodiscoverXML(w, r)
	case p == "/autodiscover/autodiscover.json" || strings.HasPrefix(p, "/autodiscover/autodiscover.json/"):
		s.serveAutodiscoverJSON(w, r)
	case strings.EqualFold(r.URL.Path, Path):
		s.serveEAS(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

func (s *Server) clientAddr(r *http.Request) netip.Addr {
	if s.ClientAddr != nil {
		return s.ClientAddr(r)
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

// call is one ActiveSync request on its way through the front.
type call struct {
	s    *Server
	w    http.ResponseWriter
	r    *http.Request
	q    *Query
	ver  Version
	cmd  *command
	acct Account
	dev  *Device
	// req is the decoded WBXML body (nil when the body is empty or raw).
	req *wbxml.Element
	// raw is the body as received (decompressed).
	raw []byte
	// reqBytes is the size of the body as received (for the trace).
	reqBytes int
	// held is the part of the server's body budget the request holds.
	held int64
	// bodyDL bounds the time the body takes to arrive.
	bodyDL *bodyDeadline
	log    *slog.Logger

	// start and label (a bounded command name) are for the request log
	// line and metrics.
	start time.Time
	label string
	// Set by the handler for the request log line.
	status Status
	// wrote is set when the handler wrote the response itself (streams).
	wrote bool
	// reported is set when the failure's cause was logged at ERROR where
	// it was found (Error.Reported): the request's own lines are WARN.
	reported bool
}

// ctx is the request's context while net/http still owns the request.
func (c *call) ctx() context.Context {
	if c.r != nil {
		return c.r.Context()
	}
	return context.Background()
}

func (s *Server) serveEAS(w http.ResponseWriter, r *http.Request) {
	c := &call{s: s, w: w, r: r, log: s.log(), start: time.Now(), label: "unknown"}
	c.bodyDL = s.startBodyDeadline(w, r)
	s.run(c, func() int {
		defer c.releaseBody()
		return s.handle(c)
	})
}

// run runs a request (or the rest of a detached one) with one recovery
// point, then logs it and reports it, unless it detached.
func (s *Server) run(c *call, f func() int) {
	code := http.StatusInternalServerError
	defer func() {
		if v := recover(); v != nil {
			// A bug in one command answers 500 and is logged with its
			// stack; the server goes on.
			c.log.Error("panic in request", "panic", v, "stack", string(debug.Stack()))
			code = http.StatusInternalServerError
			if !c.wrote {
				c.w.WriteHeader(code)
			}
		}
		if code == codeDetached {
			return
		}
		d := time.Since(c.start)
		if s.Observe != nil {
			s.Observe(c.label, code, c.status, d)
		}
		if code == codeClientGone {
			// No answer was written: log no HTTP code for it.
			c.log.Log(context.Background(), slog.LevelInfo, "request", "client_gone", true, "ms", d.Milliseconds())
			return
		}
		level := requestLevel(code)
		if c.reported && level == slog.LevelError {
			level = slog.LevelWarn // its cause was logged once, at ERROR
		}
		c.log.Log(c.ctx(), level, "request", "http", code, "status", int(c.status), "ms", d.Milliseconds())
	}()
	code = f()
}

// handle runs the request and returns the HTTP code it answered with
// (codeDetached when it goes on without the handler); it sets c.label.
func (s *Server) handle(c *call) int {
	w, r := c.w, c.r
	setCommonHeaders(w.Header())
	switch r.Method {
	case http.MethodOptions:
		c.label = "OPTIONS"
		return s.serveOptions(c)
	case http.MethodPost:
	default:
		w.Header().Set("Allow", "OPTIONS, POST")
		w.WriteHeader(http.StatusMethodNotAllowed)
		c.label = "other"
		return http.StatusMethodNotAllowed
	}

	q, err := ParseQuery(r.URL.RawQuery, r.Header.Get)
	if err != nil {
		c.log.Warn("bad request URI", "err", err, "remote", s.clientAddr(r).String())
		http.Error(w, "bad request", http.StatusBadRequest)
		c.label = "invalid"
		return http.StatusBadRequest
	}
	c.q = q
	c.cmd = commandTable[q.Cmd]
	if c.cmd != nil {
		c.label = q.Cmd
	}
	c.log = c.log.With("cmd", q.Cmd, "device", q.DeviceID)

	acct, code := s.authenticate(c)
	if acct == nil {
		return code
	}
	c.acct = acct
	c.log = c.log.With("user", acct.Address())

	ver, ok := ParseVersion(q.ProtocolVersion)
	if !ok {
		// MS-ASHTTP 3.2.5.1: tell the client what is supported.
		w.Header().Set("MS-ASProtocolVersions", SupportedVersions)
		c.log.Warn("unsupported protocol version", "version", q.ProtocolVersion)
		http.Error(w, "unsupported protocol version", http.StatusBadRequest)
		return http.StatusBadRequest
	}
	c.ver = ver
	c.log = c.log.With("ver", ver.String())

	if c.cmd == nil {
		return s.notImplemented(c)
	}
	if err := s.readBody(c); err != nil {
		return s.fail(c, err) // a client that went away is logged and counted there
	}
	c.trace("request", c.req, c.reqBytes)
	if err := s.touchDevice(c); err != nil {
		return s.fail(c, err)
	}
	if err := s.checkPolicy(c); err != nil {
		return s.fail(c, err)
	}
	if o, ok := s.Backend.(RequestObserver); ok {
		o.DeviceRequest(c.acct, c.q.DeviceID, q.Cmd)
	}
	if c.cmd.handle == nil || !c.cmd.available(s.Backend) {
		// Known to the protocol but not built (or not offered by this
		// Backend): the provisioning answer above still comes first, so a
		// device learns it must provision before learning anything else.
		return s.notImplemented(c)
	}
	resp, err := c.cmd.handle(r.Context(), c)
	if errors.Is(err, errDetached) {
		return codeDetached
	}
	if err != nil {
		return s.fail(c, err)
	}
	if c.wrote {
		return http.StatusOK
	}
	return s.writeWBXML(c, resp)
}

// setCommonHeaders sets what every ActiveSync answer carries.
func setCommonHeaders(h http.Header) {
	h.Set("MS-Server-ActiveSync", serverVersion)
	h.Set("Cache-Control", "private")
}

// notImplemented answers 501, MS-ASHTTP's code for a command the server
// does not support. Such commands are left out of MS-ASProtocolCommands,
// so clients that read OPTIONS do not send them.
func (s *Server) notImplemented(c *call) int {
	// Expected traffic (clients try Search, ResolveRecipients...): INFO.
	c.log.Info("command not implemented")
	c.w.WriteHeader(http.StatusNotImplemented)
	return http.StatusNotImplemented
}

// serveOptions answers OPTIONS (MS-ASHTTP 2.2.3): which versions and
// commands the bridge speaks. Like Exchange it wants credentials: some
// clients validate a password with OPTIONS during account setup.
func (s *Server) serveOptions(c *call) int {
	c.log = c.log.With("cmd", "OPTIONS")
	if acct, code := s.authenticate(c); acct == nil {
		return code
	}
	h := c.w.Header()
	h.Set("Allow", "OPTIONS,POST")
	h.Set("Public", "OPTIONS,POST")
	h.Set("MS-ASProtocolVersions", SupportedVersions)
	h.Set("MS-ASProtocolCommands", strings.Join(s.supportedCommands(), ","))
	c.w.WriteHeader(http.StatusOK)
	return http.StatusOK
}

// authenticate checks HTTP Basic credentials, slowing down repeated
// failures. It returns nil and the HTTP code it answered with on failure.
func (s *Server) authenticate(c *call) (Account, int) {
	w, r := c.w, c.r
	user, pass, ok := basicAuth(r)
	if !ok {
		unauthorized(w)
		return nil, http.StatusUnauthorized
	}
	addr := s.clientAddr(r)
	known := s.knownDevice(c, user)
	// A password verified a moment ago is no guess: the phone's parallel
	// requests are neither counted nor held back.
	lim := s.Limiter
	if dl, ok := s.Backend.(DeviceLogin); ok && lim != nil && dl.Verified(user, pass) {
		lim = nil
	}
	if lim != nil {
		if d, err := lim.Begin(r.Context(), user, addr, known); errors.Is(err, ErrThrottled) {
			return nil, s.throttled(c, user, addr, d)
		} else if err != nil {
			lim.Release(user, addr)
			return nil, c.logClientGone(err) // while throttled
		} else if d > 0 {
			c.log.Warn("login throttled after repeated failures", "user", user, "remote", addr.String(), "delay", d)
		}
	}
	var acct Account
	var err error
	if dl, ok := s.Backend.(DeviceLogin); ok {
		acct, err = dl.LoginDevice(r.Context(), user, pass, c.deviceID(), known)
	} else {
		acct, err = s.Backend.Login(r.Context(), user, pass)
	}
	switch {
	case err == nil:
		s.loginResult("ok")
		if s.OnAuthenticated != nil {
			s.OnAuthenticated(r)
		}
		if lim != nil {
			lim.Succeeded(user, addr)
		}
		return acct, 0
	case errors.Is(err, ErrBadCredentials):
		s.loginResult("rejected")
		// Counted by Begin already.
		// Never say whether the user or the password was wrong.
		c.log.Warn("login failed", "user", user, "remote", addr.String())
		unauthorized(w)
		return nil, http.StatusUnauthorized
	case c.clientGone(err):
		// The password could not be checked: not a failure.
		if lim != nil {
			lim.Release(user, addr)
		}
		return nil, c.logClientGone(err)
	case errors.Is(err, ErrThrottled):
		// The backend would not ask the provider now; the password was
		// not checked, so the attempt is not a failure.
		if lim != nil {
			lim.Release(user, addr)
		}
		d := 60 * time.Second
		var ra interface{ Wait() time.Duration }
		if errors.As(err, &ra) && ra.Wait() > 0 {
			d = ra.Wait()
		}
		return nil, s.throttled(c, user, addr, d)
	default:
		if lim != nil {
			lim.Release(user, addr)
		}
		s.loginResult("error")
		c.log.Error("login could not be checked", "user", user, "err", err)
		w.Header().Set("Retry-After", "30")
		http.Error(w, "service unavailable", http.StatusServiceUnavailable)
		return nil, http.StatusServiceUnavailable
	}
}

// throttled answers 429 with Retry-After (whole seconds, at least 1).
func (s *Server) throttled(c *call, user string, addr netip.Addr, d time.Duration) int {
	s.loginResult("throttled")
	c.log.Warn("login refused after repeated failures", "user", user, "remote", addr.String(), "retry_after", d)
	c.w.Header().Set("Retry-After", strconv.Itoa(max(1, int((d+time.Second-1)/time.Second))))
	http.Error(c.w, "too many failed logins", http.StatusTooManyRequests)
	return http.StatusTooManyRequests
}

// knownDevice returns a memoised "has this device logged in before" for
// the limiter and the Backend, or nil when the Backend cannot tell or the
// request names no device.
func (s *Server) knownDevice(c *call, user string) func() bool {
	dl, ok := s.Backend.(DeviceLogin)
	id := c.deviceID()
	if !ok || id == "" {
		return nil
	}
	var once sync.Once
	var known bool
	return func() bool {
		once.Do(func() { known = dl.KnownDevice(c.ctx(), user, id) })
		return known
	}
}

// deviceID is the request's DeviceId, "" before the query is parsed
// (OPTIONS).
func (c *call) deviceID() string {
	if c.q == nil {
		return ""
	}
	return c.q.DeviceID
}

func (s *Server) loginResult(r string) {
	if s.OnLogin != nil {
		s.OnLogin(r)
	}
}

func unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Basic realm="ActiveSync"`)
	http.Error(w, "unauthorized", http.StatusUnauthorized)
}

// basicAuth parses HTTP Basic credentials. Clients send the user as
// "alice@example.com", or as "example.com\alice" when the account form has
// a separate domain field; the latter becomes alice@example.com.
func basicAuth(r *http.Request) (user, pass string, ok bool) {
	h := r.Header.Get("Authorization")
	const prefix = "basic "
	if len(h) < len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) || len(h) > 4096 {
		return "", "", false
	}
	dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(h[len(prefix):]))
	if err != nil {
		return "", "", false
	}
	user, pass, ok = strings.Cut(string(dec), ":")
	if !ok || user == "" || len(user) > 320 {
		return "", "", false
	}
	if dom, name, found := strings.Cut(user, `\`); found {
		if strings.Contains(name, "@") || dom == "" {
			user = name
		} else {
			user = name + "@" + dom
		}
	}
	// A user name is UTF-8 (RFC 7617's charset="UTF-8"; mail addresses are
	// UTF-8 since RFC 6531). Lowering would turn invalid bytes into U+FFFD,
	// so two different logins would meet in one account: refuse them. The
	// bound is checked again after lowering, which can lengthen a name.
	if !utf8.ValidString(user) {
		return "", "", false
	}
	user = strings.ToLower(strings.TrimSpace(user))
	if len(user) > 320 {
		return "", "", false
	}
	return user, pass, user != ""
}

// readBody reads and, for WBXML commands, decodes the request body.
func (s *Server) readBody(c *call) error {
	body, err := s.receiveBody(c)
	if err != nil {
		return err
	}
	c.raw = body
	c.reqBytes = len(body)
	if len(body) == 0 && c.cmd.body == bodyRequired {
		return statusError(StatusInvalidContent, http.StatusBadRequest, "empty request body", nil)
	}
	if len(body) == 0 || !c.decodesWBXML() {
		return nil
	}
	el, err := wbxml.Decode(body, wbxml.DefaultLimits)
	if cerr := c.r.Context().Err(); cerr != nil {
		// Nobody is left to answer: do not start the command's work.
		return fmt.Errorf("decoding the body: %w (%w)", errClientGone, cerr)
	}
	if err != nil {
		return statusError(StatusInvalidWBXML, http.StatusBadRequest, "malformed WBXML", err)
	}
	if !el.Is(c.cmd.space, c.cmd.root) {
		return statusError(StatusInvalidContent, http.StatusBadRequest,
			fmt.Sprintf("body is <%s:%s>, want <%s:%s>", el.Space, el.Name, c.cmd.space, c.cmd.root), nil)
	}
	c.req = el
	c.raw = nil // the tree is all the handlers need; do not hold the body twice
	return nil
}

// decodesWBXML reports whether the command's body is WBXML, not raw (12.x
// SendMail style: the body is the MIME message).
func (c *call) decodesWBXML() bool {
	switch c.cmd.body {
	case bodyRaw, bodyNone:
		return false
	case bodyRawOr:
		return isWBXML(c.r.Header.Get("Content-Type"))
	}
	return true
}

func isWBXML(contentType string) bool {
	return strings.Contains(strings.ToLower(contentType), "wbxml")
}

// touchDevice records that the device was seen, with what it calls itself.
func (s *Server) touchDevice(c *call) error {
	now := time.Now().UTC()
	ua := c.r.Header.Get("User-Agent")
	if len(ua) > 256 {
		ua = ua[:256]
	}
	dev, err := s.Backend.UpdateDevice(c.r.Context(), c.acct, c.q.DeviceID, func(d *Device) error {
		if d.FirstSeen.IsZero() {
			d.FirstSeen = now
			c.log.Info("new device", "type", c.q.DeviceType, "user_agent", ua)
		}
		d.LastSeen = now
		if c.cmd == nil || c.cmd.name != "Ping" {
			// A Ping is the phone waiting, not its user: only other
			// requests say someone is looking (DAV polls faster then).
			d.LastActive = now
		}
		if c.q.DeviceType != "" {
			d.Type = c.q.DeviceType
		}
		if ua != "" {
			d.UserAgent = ua
		}
		d.ProtocolVersion = c.ver.String()
		return nil
	})
	if err != nil {
		return fmt.Errorf("recording device: %w", err)
	}
	c.dev = dev
	return nil
}

// checkPolicy enforces provisioning (MS-ASPROV 3.2.5.2) and remote wipe.
// Provision itself and the commands that real devices send before it
// (Settings) are exempt.
func (s *Server) checkPolicy(c *call) error {
	if !c.cmd.provisioned {
		return nil
	}
	d := c.dev
	switch {
	case d.Wipe != WipeNone:
		return errWipe
	case d.PolicyKey == 0 || !c.q.HasPolicyKey || c.q.PolicyKey == 0:
		return errNotProvisioned
	case c.q.PolicyKey != d.PolicyKey:
		return errBadPolicyKey
	case d.PolicyHash != s.Policy.Hash():
		return errPolicyRefresh
	}
	return nil
}

// fail is the one place where errors become answers: an HTTP code, or a
// command response carrying only a Status for 14.0+ clients.
func (s *Server) fail(c *call, err error) int {
	if c.clientGone(err) {
		return c.logClientGone(err)
	}
	e := asError(err)
	code := e.HTTP
	if code == 0 && ((c.ver < V140 && !e.Command) || c.cmd == nil || c.cmd.root == "") {
		code = e.Fallback
		if code == 0 {
			code = http.StatusInternalServerError
		}
	}
	level := slog.LevelWarn
	if code >= 500 && !e.Reported {
		level = slog.LevelError
	}
	c.reported = e.Reported
	c.status = e.Status
	c.log.Log(c.ctx(), level, "request failed", "err", e.Error())
	if code != 0 {
		if e.Retry {
			c.w.Header().Set("Retry-After", "30")
		}
		if code == http.StatusUnauthorized {
			unauthorized(c.w)
			return code
		}
		if code == 449 {
			// MS-ASHTTP 3.2.5.1: 449 asks a 12.x client to Provision.
			c.w.WriteHeader(code)
			return code
		}
		http.Error(c.w, http.StatusText(code), code)
		return code
	}
	resp := wbxml.New(c.cmd.space, c.cmd.root)
	resp.AddText(c.cmd.space, "Status", strconv.Itoa(int(e.Status)))
	return s.writeWBXML(c, resp)
}

// writeWBXML encodes and sends a response; nil means an empty 200.
func (s *Server) writeWBXML(c *call, resp *wbxml.Element) int {
	if resp == nil {
		c.w.Header().Set("Content-Length", "0")
		c.w.WriteHeader(http.StatusOK)
		return http.StatusOK
	}
	b, err := wbxml.Encode(resp)
	if err != nil {
		c.log.Error("encoding response", "err", err)
		http.Error(c.w, "internal error", http.StatusInternalServerError)
		return http.StatusInternalServerError
	}
	c.trace("response", resp, len(b))
	c.w.Header().Set("Content-Type", ContentTypeWBXML)
	c.w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write(b)
	return http.StatusOK
}

// ContentTypeWBXML is the media type of WBXML bodies (MS-ASHTTP 2.2.1.1.2.2).
const ContentTypeWBXML = "application/vnd.ms-sync.wbxml"
