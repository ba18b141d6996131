package activesync_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/internal/testenv"
)

// TestParkedPingsOfClosedClientsAreReleased: 300 devices park a Ping and
// hang up. Each parked Ping ends (the Backend's stop is called, the
// answer is attempted and the socket closed) without waiting for its
// heartbeat, and without a goroutine per parked connection meanwhile.
func TestParkedPingsOfClosedClientsAreReleased(t *testing.T) {
	const n = 300
	p := &stopCountingPinger{collectPinger: collectPinger{fakeBackend: newFakeBackend()}}
	url, _, obs := serveDetaching(t, p, true)
	c := provisioned(t, url)
	body, err := wbxml.Encode(pingReq("3000", "5"))
	if err != nil {
		t.Fatal(err)
	}
	req := rawRequest("Ping", c.PolicyKey, body, "")
	addr := strings.TrimPrefix(url, "http://")

	base := runtime.NumGoroutine()
	conns := make([]net.Conn, 0, n)
	for range n {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(conn, req); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, conn)
	}
	testenv.WaitFor(t, 20*time.Second, "every Ping to park", func() bool { return p.parked() == n })
	// (The provisioning client's idle keep-alive connection is the one
	// net/http still serves.)
	testenv.WaitFor(t, 20*time.Second, "the parked Pings to leave their handlers", func() bool { return serverConnGoroutines() <= 1 })
	// The test's own 300 client sockets hold no goroutine either; the
	// watcher is one goroutine for all.
	if g := runtime.NumGoroutine() - base; g > 10 {
		t.Fatalf("%d more goroutines with %d parked Pings, want a handful at most", g, n)
	}
	closed := time.Now()
	for _, conn := range conns {
		_ = conn.Close()
	}
	testenv.WaitFor(t, 30*time.Second, "every parked Ping of a closed client to end", func() bool { return int(p.stops.Load()) == n })
	t.Logf("%d parked Pings of closed clients ended %v after the closes (heartbeat 3000 s)", n, time.Since(closed))
	testenv.WaitFor(t, 10*time.Second, "the answers to be reported", func() bool { return obs.count("Ping 200 1") == n })
}

// TestHalfClosedDeviceKeepsItsPipelinedRequest: a device that pipelined a
// request after its Ping and then shut down its sending side ends the
// parked Ping (Status 1 at once, not at the heartbeat), and the pipelined
// request is still served on the same connection after it.
func TestHalfClosedDeviceKeepsItsPipelinedRequest(t *testing.T) {
	p := newHeldPinger()
	url, _, _ := serveDetaching(t, p, true)
	c := provisioned(t, url)
	ping, err := wbxml.Encode(pingReq("3000", "5"))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	pipelined := rawRequest("Ping", c.PolicyKey, ping, "") +
		"OPTIONS " + activesync.Path + " HTTP/1.1\r\nHost: bridge\r\nAuthorization: Basic " +
		base64.StdEncoding.EncodeToString([]byte("alice@example.com:secret")) + "\r\n\r\n"
	if _, err := io.WriteString(conn, pipelined); err != nil {
		t.Fatal(err)
	}
	p.next(t) // parked
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer to the parked Ping after the half-close: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	doc, err := wbxml.Decode(b, wbxml.DefaultLimits)
	if err != nil || doc.ChildText(wbxml.Ping, "Status") != "1" || p.stops.Load() != 1 {
		t.Fatalf("Ping answer %v %x (stops %d), want Status 1 from stop", err, b, p.stops.Load())
	}
	resp, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("pipelined request lost: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("MS-ASProtocolVersions") == "" {
		t.Fatalf("OPTIONS after the Ping: %d %v", resp.StatusCode, resp.Header)
	}
}

// stopCountingPinger is a collectPinger whose stop answers the Ping and
// counts.
type stopCountingPinger struct {
	collectPinger
	stops atomic.Int32
}

func (p *stopCountingPinger) Ping(ctx context.Context, acct activesync.Account, dev string, fs []activesync.PingFolder, hb time.Duration,
	done func([]string, error)) (func(), error) {
	if _, err := p.collectPinger.Ping(ctx, acct, dev, fs, hb, done); err != nil {
		return nil, err
	}
	return func() { p.stops.Add(1); done(nil, nil) }, nil
}

func (o *observed) count(s string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, x := range o.seen {
		if x == s {
			n++
		}
	}
	return n
}
