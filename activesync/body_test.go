package activesync_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/internal/httpserve"
	"github.com/idlebridge/idlebridge/internal/testenv"
)

// serveFront runs s on a real loopback listener (read deadlines need a
// real connection) and returns its host:port.
func serveFront(t *testing.T, s *activesync.Server) string {
	t.Helper()
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return strings.TrimPrefix(ts.URL, "http://")
}

// rawExchange writes req on a new connection and reads one response.
func rawExchange(t *testing.T, addr, req string) (*http.Response, []byte) {
	t.Helper()
	resp, body, _ := exchange(t, addr, req, false)
	return resp, body
}

// rawExchangeClosed is rawExchange that also reports whether the server
// closed the connection after its answer.
func rawExchangeClosed(t *testing.T, addr, req string) (*http.Response, bool) {
	t.Helper()
	resp, _, closed := exchange(t, addr, req, true)
	return resp, closed
}

func exchange(t *testing.T, addr, req string, waitClose bool) (*http.Response, []byte, bool) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if !waitClose {
		return resp, body, false
	}
	_, err = br.ReadByte()
	return resp, body, err == io.EOF
}

// TestGzipRequestBodies: issue 11 item 2. Bodies sent with
// Content-Encoding: gzip are decoded (WBXML at 14.1 and 12.1, raw MIME for
// a 12.1 SendMail); other codings are 415.
func TestGzipRequestBodies(t *testing.T) {
	ctx := context.Background()
	for _, version := range []string{"14.1", "12.1"} {
		t.Run(version, func(t *testing.T) {
			rs := &recordingSender{fakeBackend: newFakeBackend()}
			addr := serveFront(t, &activesync.Server{Backend: rs, MaxRequestBytes: 1 << 20})
			c := &client.Client{BaseURL: "http://" + addr, User: "alice@example.com", Password: "secret", DeviceID: "gz1", Version: version, Gzip: true}
			if _, err := c.Provision(ctx); err != nil {
				t.Fatalf("gzip Provision: %v", err)
			}
			if version != "12.1" {
				return
			}
			res, err := c.DoRaw(ctx, "SendMail", client.Params{SaveInSent: true}, []byte(sendMIME), "message/rfc822")
			if err != nil || res.HTTPStatus != 200 {
				t.Fatalf("gzip 12.1 SendMail: %v", err)
			}
			if got := rs.last(t); string(got.MIME) != sendMIME {
				t.Errorf("sent MIME %q, want %q", got.MIME, sendMIME)
			}
		})
	}

	t.Run("other codings", func(t *testing.T) {
		addr := serveFront(t, &activesync.Server{Backend: newFakeBackend()})
		body := mustEncode(t, client.ProvisionRequest("", nil))
		for _, coding := range []string{"br", "deflate", "gzip, br"} {
			resp, _ := rawExchange(t, addr, rawRequest("Provision", 0, body, "Content-Encoding: "+coding+"\r\n"))
			if resp.StatusCode != http.StatusUnsupportedMediaType {
				t.Errorf("Content-Encoding %q: HTTP %d, want 415", coding, resp.StatusCode)
			}
		}
		resp, _ := rawExchange(t, addr, rawRequest("Provision", 0, []byte("\x1f\x8bnot gzip at all"), "Content-Encoding: gzip\r\n"))
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("corrupt gzip: HTTP %d, want 400", resp.StatusCode)
		}
	})
}

// TestGzipBombStopsAtTheLimit: the body limit counts decompressed bytes,
// and decompression stops there: 64 MiB of zeros in a ~64 KiB gzip body
// is refused with 413 without allocating anything near its size.
func TestGzipBombStopsAtTheLimit(t *testing.T) {
	const limit = 1 << 20
	rs := &recordingSender{fakeBackend: newFakeBackend()}
	addr := serveFront(t, &activesync.Server{Backend: rs, MaxRequestBytes: limit})
	c := &client.Client{BaseURL: "http://" + addr, User: "alice@example.com", Password: "secret", DeviceID: "dev1", Version: "12.1"}
	if _, err := c.Provision(context.Background()); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zeros := make([]byte, 1<<20)
	for range 64 {
		_, _ = zw.Write(zeros)
	}
	_ = zw.Close()
	bomb := buf.Bytes()
	if len(bomb) > limit {
		t.Fatalf("the bomb itself is %d bytes, over the limit", len(bomb))
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	req := strings.Replace(rawRequest("SendMail", c.PolicyKey, bomb, "Content-Encoding: gzip\r\n"), "MS-ASProtocolVersion: 14.1", "MS-ASProtocolVersion: 12.1", 1)
	req = strings.Replace(req, "application/vnd.ms-sync.wbxml", "message/rfc822", 1)
	resp, _ := rawExchange(t, addr, req)
	runtime.ReadMemStats(&after)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("gzip bomb: HTTP %d, want 413", resp.StatusCode)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8*limit {
		t.Errorf("a gzip bomb with a %d-byte limit allocated %d bytes", limit, alloc)
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if len(rs.got) != 0 {
		t.Error("the bomb was sent")
	}
}

// TestDeclaredOversizeBodyIsRefusedUnread: a Content-Length over the limit
// is answered 413 at once, before any of the body arrives, and the
// connection is closed rather than drained.
func TestDeclaredOversizeBodyIsRefusedUnread(t *testing.T) {
	addr := serveFront(t, &activesync.Server{Backend: newFakeBackend(), MaxRequestBytes: 1 << 20})
	req := strings.Replace(rawRequest("Provision", 0, nil, ""), "Content-Length: 0", "Content-Length: 1073741824", 1)
	resp, closed := rawExchangeClosed(t, addr, req)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("1 GB declared: HTTP %d, want 413", resp.StatusCode)
	}
	if !closed {
		t.Error("the connection stayed open")
	}
}

// TestSlowBodyIsCutOff: issue 17 item 3. A body that stops arriving (here
// 1 byte of 1000 declared) is answered 408 once the grace period is over,
// and its connection is closed.
func TestSlowBodyIsCutOff(t *testing.T) {
	addr := serveFront(t, &activesync.Server{Backend: newFakeBackend(), BodyTimeout: 200 * time.Millisecond})
	req := strings.Replace(rawRequest("Provision", 0, []byte{0x03}, ""), "Content-Length: 1", "Content-Length: 1000", 1)
	resp, closed := rawExchangeClosed(t, addr, req)
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("stalled body: HTTP %d, want 408", resp.StatusCode)
	}
	if !closed {
		t.Error("the connection stayed open")
	}
}

// TestTrickledBodyIsCutOff: a body that keeps arriving, but below the
// minimum rate, is cut off too, although no single read waits long.
func TestTrickledBodyIsCutOff(t *testing.T) {
	addr := serveFront(t, &activesync.Server{Backend: newFakeBackend(), BodyTimeout: 300 * time.Millisecond, BodyMinRate: 1 << 20})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := strings.Replace(rawRequest("Provision", 0, nil, ""), "Content-Length: 0", "Content-Length: 10000000", 1)
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	// One byte every 50 ms, under the 300 ms idle bound, never near 1 MiB/s.
	answered := make(chan *http.Response, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err == nil {
			answered <- resp
		}
		close(answered)
	}()
	for sent := 0; ; sent++ {
		select {
		case resp := <-answered:
			if resp == nil || resp.StatusCode != http.StatusRequestTimeout {
				t.Fatalf("trickled body: %v, want 408", resp)
			}
			return
		case <-time.After(50 * time.Millisecond):
		}
		if sent > 2000 {
			t.Fatal("a body trickled for 100 s was not cut off")
		}
		if _, err := conn.Write([]byte{0}); err != nil {
			// The server closed the connection; its answer is read above.
			resp := <-answered
			if resp == nil || resp.StatusCode != http.StatusRequestTimeout {
				t.Fatalf("trickled body: %v, want 408", resp)
			}
			return
		}
	}
}

// TestBodyDeadlineDoesNotCutParkedPings: the body deadline is removed once
// the body is in, so a Ping parked longer than BodyTimeout, in its handler
// or taken off it, is answered, and its connection serves the next request.
func TestBodyDeadlineDoesNotCutParkedPings(t *testing.T) {
	for _, resume := range []bool{false, true} {
		t.Run(fmt.Sprintf("resume=%v", resume), func(t *testing.T) {
			p := newHeldPinger()
			url, conns, _ := serveDetachingWith(t, p, resume, func(s *activesync.Server) { s.BodyTimeout = 50 * time.Millisecond })
			c := provisioned(t, url)
			ctx := context.Background()
			res := pingAsync(c, ctx, "5")
			done := p.next(t)
			time.Sleep(300 * time.Millisecond) // well past BodyTimeout
			done([]string{"5"}, nil)
			if r := <-res; r.err != nil || r.status != "2" {
				t.Fatalf("Ping parked past the body deadline: %+v", r)
			}
			time.Sleep(300 * time.Millisecond)
			res = pingAsync(c, ctx, "5")
			p.next(t)([]string{"5"}, nil)
			if r := <-res; r.err != nil || r.status != "2" {
				t.Fatalf("second Ping: %+v", r)
			}
			if n := conns.n.Load(); n != 1 {
				t.Errorf("%d connections, want 1 (a leftover deadline closed it)", n)
			}
		})
	}
}

// TestLargeBodiesAreSpooledAndBudgeted: a body past the spool threshold
// goes to an unlinked file in SpoolDir while it arrives, and bodies held in
// memory are bounded all requests together: a request whose body does not
// fit the budget waits until the one holding it is done.
func TestLargeBodiesAreSpooledAndBudgeted(t *testing.T) {
	spool := t.TempDir()
	bs := &blockingSender{recordingSender: recordingSender{fakeBackend: newFakeBackend()}, release: make(chan struct{}), entered: make(chan struct{}, 2)}
	s := &activesync.Server{Backend: bs, MaxRequestBytes: 4 << 20, MaxBodyBytesInFlight: 1 << 20, SpoolDir: spool}
	addr := serveFront(t, s)
	c := &client.Client{BaseURL: "http://" + addr, User: "alice@example.com", Password: "secret", DeviceID: "dev1", Version: "12.1"}
	if _, err := c.Provision(context.Background()); err != nil {
		t.Fatal(err)
	}
	mime := func(n int) []byte {
		return []byte(sendMIME + strings.Repeat("x", n))
	}

	// First: a body sent in two halves; between them its spool file exists
	// and is already unlinked.
	big := mime(activesync.SpoolThreshold * 3)
	req := strings.Replace(rawRequest("SendMail", c.PolicyKey, big, ""), "MS-ASProtocolVersion: 14.1", "MS-ASProtocolVersion: 12.1", 1)
	req = strings.Replace(req, "application/vnd.ms-sync.wbxml", "message/rfc822", 1)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	half := len(req) - len(big)/2
	if _, err := io.WriteString(conn, req[:half]); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS == "linux" {
		testenv.WaitFor(t, 10*time.Second, "an unlinked spool file", func() bool { return openDeletedIn(spool) })
	}
	if ents, _ := os.ReadDir(spool); len(ents) != 0 {
		t.Errorf("spool directory holds %d names; files must be unlinked", len(ents))
	}
	if _, err := io.WriteString(conn, req[half:]); err != nil {
		t.Fatal(err)
	}
	<-bs.entered // the first request holds its budget inside Send

	// Second: does not fit next to the first, so it waits for it.
	second := make(chan error, 1)
	go func() {
		c2 := *c
		_, err := c2.DoRaw(context.Background(), "SendMail", client.Params{}, mime(activesync.SpoolThreshold*2), "message/rfc822")
		second <- err
	}()
	testenv.WaitFor(t, 10*time.Second, "the second body to wait for the budget", func() bool { return s.BodyBudgetWaiters() == 1 })
	close(bs.release)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("first SendMail: %v %v", resp, err)
	}
	if err := <-second; err != nil {
		t.Fatalf("second SendMail: %v", err)
	}
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if len(bs.got) != 2 || !bytes.Equal(bs.got[0].MIME, big) {
		t.Errorf("%d mails sent; the spooled one intact: %v", len(bs.got), len(bs.got) > 0 && bytes.Equal(bs.got[0].MIME, big))
	}
}

// blockingSender holds each Send until release is closed.
type blockingSender struct {
	recordingSender
	entered chan struct{}
	release chan struct{}
}

func (b *blockingSender) Send(ctx context.Context, acct activesync.Account, deviceID string, m *activesync.OutgoingMail) error {
	b.entered <- struct{}{}
	<-b.release
	return b.recordingSender.Send(ctx, acct, deviceID, m)
}

// openDeletedIn reports whether this process holds an unlinked file that
// was in dir.
func openDeletedIn(dir string) bool {
	fds, _ := os.ReadDir("/proc/self/fd")
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && strings.HasPrefix(target, dir+string(filepath.Separator)) && strings.HasSuffix(target, " (deleted)") {
			return true
		}
	}
	return false
}

// serveDetachingWith is serveDetaching with the Server adjusted by tune.
func serveDetachingWith(t *testing.T, b activesync.Backend, resume bool, tune func(*activesync.Server)) (string, *countingListener, *observed) {
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
		s.Resume = rl.Resume
	}
	tune(s)
	srv := &http.Server{Handler: s.Handler()}
	go func() { _ = srv.Serve(rl) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String(), cl, obs
}

// TestClientGoneStopsTheRequest: a request whose client disconnected
// while it waited (here for the body budget) is dropped, not handled: no
// mail sent, no status invented (logged as 499).
func TestClientGoneStopsTheRequest(t *testing.T) {
	bs := &blockingSender{recordingSender: recordingSender{fakeBackend: newFakeBackend()}, release: make(chan struct{}), entered: make(chan struct{}, 2)}
	obs := &observed{}
	s := &activesync.Server{Backend: bs, MaxRequestBytes: 4 << 20, MaxBodyBytesInFlight: 1 << 20, SpoolDir: t.TempDir(), Observe: obs.add}
	addr := serveFront(t, s)
	c := &client.Client{BaseURL: "http://" + addr, User: "alice@example.com", Password: "secret", DeviceID: "dev1", Version: "12.1"}
	if _, err := c.Provision(context.Background()); err != nil {
		t.Fatal(err)
	}
	raw := func(n int) string {
		req := strings.Replace(rawRequest("SendMail", c.PolicyKey, []byte(sendMIME+strings.Repeat("x", n)), ""), "MS-ASProtocolVersion: 14.1", "MS-ASProtocolVersion: 12.1", 1)
		return strings.Replace(req, "application/vnd.ms-sync.wbxml", "message/rfc822", 1)
	}
	first, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if _, err := io.WriteString(first, raw(1<<20)); err != nil {
		t.Fatal(err)
	}
	<-bs.entered // holds the whole budget

	second, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(second, raw(1000)); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 10*time.Second, "the second request to wait", func() bool { return s.BodyBudgetWaiters() == 1 })
	_ = second.Close()
	testenv.WaitFor(t, 10*time.Second, "the abandoned request to end", func() bool { return obs.has("SendMail 499 0") })
	close(bs.release)
	if _, err := http.ReadResponse(bufio.NewReader(first), nil); err != nil {
		t.Fatal(err)
	}
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if len(bs.got) != 1 {
		t.Errorf("%d mails sent, want 1 (the abandoned one must not be)", len(bs.got))
	}
}

// TestFullBodyBudgetAsksToRetry: a request that cannot get its share of
// the body budget in time is answered 503 with Retry-After, and is not
// handled.
func TestFullBodyBudgetAsksToRetry(t *testing.T) {
	bs := &blockingSender{recordingSender: recordingSender{fakeBackend: newFakeBackend()}, release: make(chan struct{}), entered: make(chan struct{}, 2)}
	s := &activesync.Server{Backend: bs, MaxRequestBytes: 4 << 20, MaxBodyBytesInFlight: 1 << 20, SpoolDir: t.TempDir()}
	s.SetBudgetWait(100 * time.Millisecond)
	addr := serveFront(t, s)
	c := &client.Client{BaseURL: "http://" + addr, User: "alice@example.com", Password: "secret", DeviceID: "dev1", Version: "12.1"}
	if _, err := c.Provision(context.Background()); err != nil {
		t.Fatal(err)
	}
	first := make(chan error, 1)
	go func() {
		c1 := *c
		_, err := c1.DoRaw(context.Background(), "SendMail", client.Params{}, []byte(sendMIME+strings.Repeat("x", 1<<20)), "message/rfc822")
		first <- err
	}()
	<-bs.entered
	res, err := c.DoRaw(context.Background(), "SendMail", client.Params{}, []byte(sendMIME), "message/rfc822")
	if err == nil || res == nil || res.HTTPStatus != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Errorf("with the budget taken: %v (want 503 with Retry-After)", err)
	}
	close(bs.release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if len(bs.got) != 1 {
		t.Errorf("%d mails sent, want 1", len(bs.got))
	}
}

// TestSpoolFailureIsRetryLater: when a large body cannot be written to
// disk the device is told to retry later (503 with Retry-After), not that
// its request was wrong.
func TestSpoolFailureIsRetryLater(t *testing.T) {
	rs := &recordingSender{fakeBackend: newFakeBackend()}
	s := &activesync.Server{Backend: rs, MaxRequestBytes: 4 << 20, SpoolDir: filepath.Join(t.TempDir(), "missing")}
	addr := serveFront(t, s)
	c := &client.Client{BaseURL: "http://" + addr, User: "alice@example.com", Password: "secret", DeviceID: "dev1", Version: "12.1"}
	if _, err := c.Provision(context.Background()); err != nil {
		t.Fatal(err)
	}
	res, err := c.DoRaw(context.Background(), "SendMail", client.Params{}, []byte(sendMIME+strings.Repeat("x", 2*activesync.SpoolThreshold)), "message/rfc822")
	if err == nil || res == nil || res.HTTPStatus != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Errorf("spool directory missing: %v (want 503 with Retry-After)", err)
	}
}
