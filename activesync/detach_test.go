package activesync_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/internal/httpserve"

	"github.com/idlebridge/idlebridge/internal/testenv"
)

// heldPinger parks every Ping until the test answers it through the done
// callback it receives on parked.
type heldPinger struct {
	*fakeBackend
	parked chan func([]string, error)
	stops  atomic.Int32
}

func newHeldPinger() *heldPinger {
	return &heldPinger{fakeBackend: newFakeBackend(), parked: make(chan func([]string, error), 4)}
}

func (p *heldPinger) Ping(ctx context.Context, acct activesync.Account, dev string, fs []activesync.PingFolder, hb time.Duration,
	done func([]string, error)) (func(), error) {
	p.parked <- done
	return func() { p.stops.Add(1); done(nil, nil) }, nil
}

func (p *heldPinger) next(t *testing.T) func([]string, error) {
	t.Helper()
	select {
	case done := <-p.parked:
		return done
	case <-time.After(10 * time.Second):
		t.Fatal("no Ping parked")
		return nil
	}
}

// countingListener counts the TCP connections the server accepted.
type countingListener struct {
	net.Listener
	n atomic.Int32
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

type observed struct {
	mu   sync.Mutex
	seen []string
}

func (o *observed) add(cmd string, code int, st activesync.Status, _ time.Duration) {
	o.mu.Lock()
	o.seen = append(o.seen, fmt.Sprintf("%s %d %d", cmd, code, st))
	o.mu.Unlock()
}

func (o *observed) has(s string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, x := range o.seen {
		if x == s {
			return true
		}
	}
	return false
}

// serveDetaching runs the front on a real listener; with resume it parks
// Pings off their handlers.
func serveDetaching(t testing.TB, b activesync.Backend, resume bool) (string, *countingListener, *observed) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: ln}
	rl := httpserve.NewResumeListener(cl)
	obs := &observed{}
	s := &activesync.Server{Backend: b, Observe: obs.add, Log: slog.New(slog.DiscardHandler)}
	if resume {
		// As in production: detached, with the peer-close watcher.
		s.Resume = rl.Resume
		cw := httpserve.NewPeerCloseWatcher(slog.New(slog.DiscardHandler))
		t.Cleanup(func() { _ = cw.Close() })
		s.WatchClose = cw.Watch
	}
	srv := &http.Server{Handler: s.Handler()}
	go func() { _ = srv.Serve(rl) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String(), cl, obs
}

// serverConnGoroutines counts net/http's per-connection goroutines.
func serverConnGoroutines() int {
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	return strings.Count(string(buf[:n]), "net/http.(*conn).serve(")
}

// provisioned returns a provisioned device client of the test user.
func provisioned(t testing.TB, url string) *client.Client {
	t.Helper()
	c := &client.Client{BaseURL: url, User: "alice@example.com", Password: "secret", DeviceID: "dev1", Version: "14.1"}
	if _, err := c.Provision(context.Background()); err != nil {
		t.Fatal(err)
	}
	return c
}

type pingResult struct {
	status  string
	folders []string
	err     error
}

func pingAsync(c *client.Client, ctx context.Context, folders ...string) chan pingResult {
	out := make(chan pingResult, 1)
	go func() {
		st, fs, err := c.Ping(ctx, 300, folders...)
		out <- pingResult{st, fs, err}
	}()
	return out
}

func TestParkedPingHoldsNoGoroutineAndKeepsTheConnection(t *testing.T) {
	ctx := context.Background()
	p := newHeldPinger()
	url, conns, obs := serveDetaching(t, p, true)
	c := provisioned(t, url)

	res := pingAsync(c, ctx, "5", "7")
	done := p.next(t)
	// Parked: net/http no longer runs anything for this connection.
	testenv.WaitFor(t, 5*time.Second, "the parked Ping to leave its handler", func() bool { return serverConnGoroutines() == 0 })
	if obs.has("Ping 200 2") {
		t.Fatal("Ping reported before it was answered")
	}
	done([]string{"7"}, nil)
	r := <-res
	if r.err != nil || r.status != "2" || len(r.folders) != 1 || r.folders[0] != "7" {
		t.Fatalf("woken Ping: %+v", r)
	}
	testenv.WaitFor(t, 5*time.Second, "the Ping to be reported", func() bool { return obs.has("Ping 200 2") })

	// The next request goes over the same connection, handed back to
	// the server after the answer.
	res = pingAsync(c, ctx)
	done = p.next(t)
	done(nil, nil)
	if r := <-res; r.err != nil || r.status != "1" {
		t.Fatalf("expired Ping: %+v", r)
	}
	if n := conns.n.Load(); n != 1 {
		t.Fatalf("%d connections for provision + two Pings, want 1 (keep-alive lost)", n)
	}
}

// rawRequest renders an ActiveSync POST the way a device sends it.
func rawRequest(cmd string, policyKey uint32, body []byte, extra string) string {
	auth := base64.StdEncoding.EncodeToString([]byte("alice@example.com:secret"))
	return fmt.Sprintf("POST %s?Cmd=%s&User=alice&DeviceId=dev1&DeviceType=test HTTP/1.1\r\n"+
		"Host: bridge\r\nAuthorization: Basic %s\r\nMS-ASProtocolVersion: 14.1\r\nX-MS-PolicyKey: %d\r\n"+
		"Content-Type: application/vnd.ms-sync.wbxml\r\nContent-Length: %d\r\n%s\r\n%s",
		activesync.Path, cmd, auth, policyKey, len(body), extra, body)
}

func TestDetachedPingKeepsPipelinedRequestAndHonoursClose(t *testing.T) {
	p := newHeldPinger()
	url, _, _ := serveDetaching(t, p, true)
	c := provisioned(t, url)
	ping, err := wbxml.Encode(pingReq("300", "5"))
	if err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimPrefix(url, "http://")

	// A Ping followed at once by another request on the same connection:
	// the second is answered after the Ping, then the connection closes
	// as that request asked.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	pipelined := rawRequest("Ping", c.PolicyKey, ping, "") +
		"OPTIONS " + activesync.Path + " HTTP/1.1\r\nHost: bridge\r\nConnection: close\r\nAuthorization: Basic " +
		base64.StdEncoding.EncodeToString([]byte("alice@example.com:secret")) + "\r\n\r\n"
	if _, err := io.WriteString(conn, pipelined); err != nil {
		t.Fatal(err)
	}
	done := p.next(t)
	done([]string{"5"}, nil)
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	doc, err := wbxml.Decode(body, wbxml.DefaultLimits)
	if resp.StatusCode != 200 || err != nil || doc.ChildText(wbxml.Ping, "Status") != "2" {
		t.Fatalf("Ping answer: %d %v %x", resp.StatusCode, err, body)
	}
	if resp.Header.Get("MS-Server-ActiveSync") == "" || resp.Header.Get("Content-Type") != activesync.ContentTypeWBXML {
		t.Fatalf("Ping answer headers: %v", resp.Header)
	}
	resp, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("pipelined request lost: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("MS-ASProtocolVersions") == "" {
		t.Fatalf("OPTIONS after the Ping: %d %v", resp.StatusCode, resp.Header)
	}
	if n, err := br.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Fatalf("connection still open after Connection: close (%d, %v)", n, err)
	}

	// A Ping that itself asks for Connection: close gets it.
	conn2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	if _, err := io.WriteString(conn2, rawRequest("Ping", c.PolicyKey, ping, "Connection: close\r\n")); err != nil {
		t.Fatal(err)
	}
	p.next(t)(nil, nil)
	_ = conn2.SetReadDeadline(time.Now().Add(10 * time.Second))
	all, err := io.ReadAll(conn2)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(all, []byte("Connection: close\r\n")) || !bytes.HasPrefix(all, []byte("HTTP/1.1 200 OK\r\n")) {
		t.Fatalf("Ping with Connection: close answered %q", all)
	}
}

// TestDetachedPingOfAGoneDeviceIsHarmless: a device that hangs up while
// its Ping is parked ends the wait (the peer-close watcher calls stop);
// a late answer from the Backend is then ignored, and nothing is written
// to the gone connection twice.
func TestDetachedPingOfAGoneDeviceIsHarmless(t *testing.T) {
	p := newHeldPinger()
	url, _, obs := serveDetaching(t, p, true)
	c := provisioned(t, url)
	ctx, cancel := context.WithCancel(context.Background())
	res := pingAsync(c, ctx, "5")
	done := p.next(t)
	testenv.WaitFor(t, 5*time.Second, "the parked Ping to leave its handler", func() bool { return serverConnGoroutines() == 0 })
	cancel()
	if r := <-res; r.err == nil {
		t.Fatal("cancelled Ping returned no error")
	}
	c.HTTP = nil
	testenv.WaitFor(t, 10*time.Second, "the gone device's Ping to end", func() bool { return p.stops.Load() == 1 })
	testenv.WaitFor(t, 5*time.Second, "the Ping to be reported", func() bool { return obs.has("Ping 200 1") })
	done([]string{"5"}, nil) // too late: ignored
	if obs.has("Ping 200 2") {
		t.Fatal("a Ping answered twice")
	}
}

func TestPingWaitsInItsHandlerWithoutResume(t *testing.T) {
	p := newHeldPinger()
	url, _, _ := serveDetaching(t, p, false)
	c := provisioned(t, url)
	res := pingAsync(c, context.Background(), "5")
	p.next(t)([]string{"5"}, nil)
	if r := <-res; r.err != nil || r.status != "2" {
		t.Fatalf("Ping waiting in its handler: %+v", r)
	}

	// A device that goes away stops its wait.
	ctx, cancel := context.WithCancel(context.Background())
	res = pingAsync(c, ctx, "5")
	p.next(t)
	cancel()
	<-res
	testenv.WaitFor(t, 5*time.Second, "the wait to be stopped", func() bool { return p.stops.Load() == 1 })
}

// hangingBackend syncs like recordingSyncer and parks like heldPinger.
type hangingBackend struct {
	*recordingSyncer
	parked chan func([]string, error)
}

func (h *hangingBackend) Ping(ctx context.Context, acct activesync.Account, dev string, fs []activesync.PingFolder, hb time.Duration,
	done func([]string, error)) (func(), error) {
	h.parked <- done
	return func() { done(nil, nil) }, nil
}

func TestHangingSyncWaitsDetachedAndResyncsWhenWoken(t *testing.T) {
	rs := &recordingSyncer{fakeBackend: newFakeBackend(), next: map[string]*activesync.SyncResult{}}
	hb := &hangingBackend{recordingSyncer: rs, parked: make(chan func([]string, error), 1)}
	url, conns, obs := serveDetaching(t, hb, true)
	c := provisioned(t, url)
	c.Version = "16.1"

	req := syncReq(collection("7", "2"))
	req.AddText(wbxml.AirSync, "Wait", "5")
	type result struct {
		doc *wbxml.Element
		err error
	}
	res := make(chan result, 1)
	go func() {
		r, err := c.Do(context.Background(), "Sync", req)
		if err != nil {
			res <- result{nil, err}
			return
		}
		res <- result{r.Doc, nil}
	}()
	var done func([]string, error)
	select {
	case done = <-hb.parked:
	case <-time.After(10 * time.Second):
		t.Fatal("hanging Sync never parked")
	}
	testenv.WaitFor(t, 5*time.Second, "the hanging Sync to leave its handler", func() bool { return serverConnGoroutines() == 0 })
	rs.calls() // the first pass, with nothing to report

	// Woken: the collection is synced again, off the handler, and the
	// answer carries it.
	rs.mu.Lock()
	rs.next["7"] = &activesync.SyncResult{Status: 1, SyncKey: "3"}
	rs.mu.Unlock()
	done([]string{"7"}, nil)
	r := <-res
	if r.err != nil {
		t.Fatal(r.err)
	}
	col := r.doc.Child(wbxml.AirSync, "Collections").Child(wbxml.AirSync, "Collection")
	if col.ChildText(wbxml.AirSync, "CollectionId") != "7" || col.ChildText(wbxml.AirSync, "SyncKey") != "3" {
		t.Fatalf("woken hanging Sync answered %s", r.doc.XML())
	}
	if got := rs.calls(); len(got) != 1 || got[0].CollectionID != "7" || got[0].SyncKey != "2" {
		t.Fatalf("re-sync asked %+v, want collection 7 from key 2", got)
	}
	testenv.WaitFor(t, 5*time.Second, "the Sync to be reported", func() bool { return obs.has("Sync 200 0") || obs.has("Sync 200 1") })

	// Quiet until the end: an empty 200, and the connection lives on.
	rs.mu.Lock()
	delete(rs.next, "7") // back to "nothing new"
	rs.mu.Unlock()
	go func() {
		r, err := c.Do(context.Background(), "Sync", req)
		if err != nil {
			res <- result{nil, err}
			return
		}
		res <- result{r.Doc, nil}
	}()
	select {
	case done = <-hb.parked:
	case <-time.After(10 * time.Second):
		t.Fatal("second hanging Sync never parked")
	}
	done(nil, nil)
	if r := <-res; r.err != nil || r.doc != nil {
		t.Fatalf("expired hanging Sync: %v %v, want an empty answer", r.err, r.doc)
	}
	if n := conns.n.Load(); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
}

// TestParkedPingReleasesTheHTTPRequest: once a Ping is parked off its
// handler nothing of net/http's request stays reachable — the request,
// its response and the connection's buffers are ~10 KiB per parked device,
// thousands at once.
func TestParkedPingReleasesTheHTTPRequest(t *testing.T) {
	ctx := context.Background()
	p := newHeldPinger()
	var released atomic.Int32
	s := &activesync.Server{Backend: p, Log: slog.New(slog.DiscardHandler)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rl := httpserve.NewResumeListener(ln)
	s.Resume = rl.Resume
	h := s.Handler()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("Cmd") == "Ping" {
			runtime.AddCleanup(r, func(int) { released.Add(1) }, 0)
		}
		h.ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(rl) }()
	t.Cleanup(func() { _ = srv.Close() })
	c := provisioned(t, "http://"+ln.Addr().String())

	res := pingAsync(c, ctx, "5")
	done := p.next(t)
	testenv.WaitFor(t, 5*time.Second, "the parked Ping to leave its handler", func() bool { return serverConnGoroutines() == 0 })
	testenv.WaitFor(t, 10*time.Second, "the parked Ping's http.Request to be collected", func() bool {
		runtime.GC()
		return released.Load() == 1
	})
	done([]string{"5"}, nil)
	if r := <-res; r.err != nil || r.status != "2" {
		t.Fatalf("woken Ping: %+v", r)
	}
}
