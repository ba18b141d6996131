package imap

import (
	"context"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/internal/testenv"
)

// watchProbe records what a MailboxWatch reports.
type watchProbe struct {
	ready     chan string
	changed   chan string
	hierarchy chan struct{}
	conns     atomic.Int32
}

func newWatchProbe() *watchProbe {
	return &watchProbe{ready: make(chan string, 8), changed: make(chan string, 64), hierarchy: make(chan struct{}, 64)}
}

func (p *watchProbe) options(o MailboxWatchOptions) MailboxWatchOptions {
	o.OnReady = func(mode string) { p.ready <- mode }
	o.OnChange = func(m string) { p.changed <- m }
	o.OnHierarchy = func() { p.hierarchy <- struct{}{} }
	return o
}

// waitFor waits for mailbox among the changes, ignoring others.
func (p *watchProbe) waitFor(t *testing.T, mailbox string, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case m := <-p.changed:
			if m == mailbox {
				return
			}
		case <-deadline:
			t.Fatalf("no change reported for %q within %v", mailbox, within)
		}
	}
}

func (p *watchProbe) drain() {
	for {
		select {
		case <-p.changed:
		case <-p.hierarchy:
		default:
			return
		}
	}
}

func startWatch(t *testing.T, cfg Config, opts MailboxWatchOptions, mailboxes []string) (*MailboxWatch, *watchProbe, context.CancelFunc, <-chan error) {
	t.Helper()
	p := newWatchProbe()
	cfg.OnConn = func(d int) { p.conns.Add(int32(d)) }
	w := NewMailboxWatch(cfg, p.options(opts))
	w.SetMailboxes(mailboxes)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	finished := make(chan struct{})
	// Start, as the bridge does: with NOTIFY the wait parks between
	// responses (mailwatch_park.go).
	w.Start(ctx, func(err error) { done <- err; close(finished) })
	t.Cleanup(func() {
		cancel()
		select {
		case <-finished:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return w, p, cancel, done
}

func TestMailboxWatchModes(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts MailboxWatchOptions
		mode string
	}{
		{"notify", MailboxWatchOptions{}, WatchModeNotify},
		{"idle and status", MailboxWatchOptions{NoNotify: true, PollInterval: 300 * time.Millisecond, HierarchyInterval: 300 * time.Millisecond}, WatchModeIdle},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := plainConfig(t)
			writer := mustDial(t, cfg)
			own := "Projects/Café & Co"
			if err := writer.CreateFolder(testCtx(t), own); err != nil {
				t.Fatalf("CreateFolder: %v", err)
			}
			_, p, cancel, done := startWatch(t, cfg, tc.opts, []string{"INBOX", "Sent", own})
			select {
			case mode := <-p.ready:
				if mode != tc.mode {
					t.Fatalf("mode %q, want %q", mode, tc.mode)
				}
			case err := <-done:
				t.Fatalf("Run ended before ready: %v", err)
			case <-time.After(30 * time.Second):
				t.Fatal("watch not ready")
			}
			if n := p.conns.Load(); n != 1 {
				t.Fatalf("%d connections open for three mailboxes, want 1", n)
			}
			p.drain()
			for _, mb := range []string{"INBOX", "Sent", own} {
				mustAppend(t, writer, mb, simpleMessage("a@example.test", "b@example.test", "to "+mb, "x"))
				p.waitFor(t, mb, 20*time.Second)
			}
			// A flag change by another client counts too.
			mustSelect(t, writer, own)
			p.drain()
			if err := writer.Store(testCtx(t), AllUIDs(), StoreAdd, []string{`\Flagged`}); err != nil {
				t.Fatalf("Store: %v", err)
			}
			p.waitFor(t, own, 20*time.Second)
			// A folder created by another client changes the hierarchy.
			p.drain()
			if err := writer.CreateFolder(testCtx(t), "Brand new"); err != nil {
				t.Fatalf("CreateFolder: %v", err)
			}
			select {
			case <-p.hierarchy:
			case <-time.After(20 * time.Second):
				t.Fatal("no hierarchy change reported after CREATE")
			}
			if n := p.conns.Load(); n != 1 {
				t.Fatalf("%d connections open, want still 1", n)
			}
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Run after cancel = %v, want nil", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return after cancel")
			}
			if n := p.conns.Load(); n != 0 {
				t.Fatalf("%d connections open after Run, want 0", n)
			}
		})
	}
}

// Changing the watched set keeps the connection and covers the new
// mailbox; in IDLE mode a new first mailbox becomes the IDLE target.
func TestMailboxWatchSetChanges(t *testing.T) {
	for _, noNotify := range []bool{false, true} {
		t.Run(map[bool]string{false: "notify", true: "idle"}[noNotify], func(t *testing.T) {
			cfg := plainConfig(t)
			writer := mustDial(t, cfg)
			w, p, _, _ := startWatch(t, cfg, MailboxWatchOptions{NoNotify: noNotify, PollInterval: time.Hour, HierarchyInterval: -1}, []string{"Sent"})
			select {
			case <-p.ready:
			case <-time.After(30 * time.Second):
				t.Fatal("watch not ready")
			}
			w.SetMailboxes([]string{"INBOX", "Sent"})
			p.waitFor(t, "INBOX", 10*time.Second) // announced as newly watched
			// INBOX is now pushed (NOTIFY, or IDLE on the new primary),
			// not polled (the poll is an hour away).
			p.drain()
			mustAppend(t, writer, "INBOX", simpleMessage("a@example.test", "b@example.test", "new", "x"))
			p.waitFor(t, "INBOX", 20*time.Second)
			if n := p.conns.Load(); n != 1 {
				t.Fatalf("%d connections, want 1", n)
			}
		})
	}
}

// A dropped connection ends the watch with an error, parked or not (the
// caller's reconnect loop starts it again).
func TestMailboxWatchConnectionDrop(t *testing.T) {
	for _, noNotify := range []bool{false, true} {
		t.Run(map[bool]string{false: "notify", true: "idle"}[noNotify], func(t *testing.T) {
			cfg := plainConfig(t)
			proxy := startDropProxy(t, cfg.Addr)
			cfg.Addr = proxy.addr
			_, p, _, done := startWatch(t, cfg, MailboxWatchOptions{NoNotify: noNotify}, []string{"INBOX"})
			select {
			case <-p.ready:
			case <-time.After(30 * time.Second):
				t.Fatal("watch not ready")
			}
			time.Sleep(5 * parkLinger) // parked, with NOTIFY
			proxy.drop()               // the provider (or a NAT) drops it
			select {
			case err := <-done:
				if err == nil {
					t.Fatal("watch after a dropped connection ended with nil, want an error")
				}
			case <-time.After(20 * time.Second):
				t.Fatal("the watch did not notice the dropped connection")
			}
			if n := p.conns.Load(); n != 0 {
				t.Fatalf("%d connections counted open after the drop, want 0", n)
			}
		})
	}
}

// Parked NOTIFY watchers hold no goroutine each; Run (blocking) still
// works and is woken by mail.
func TestMailboxWatchParksWithoutGoroutines(t *testing.T) {
	cfg := plainConfig(t)
	const n = 20
	var probes []*watchProbe
	before := runtime.NumGoroutine()
	for i := range n {
		c := cfg
		c.Username = fmt.Sprintf("%s-%d", cfg.Username, i)
		_, p, _, _ := startWatch(t, c, MailboxWatchOptions{}, []string{"INBOX"})
		probes = append(probes, p)
	}
	for _, p := range probes {
		select {
		case <-p.ready:
		case <-time.After(30 * time.Second):
			t.Fatal("watch not ready")
		}
	}
	// Within a few lingers (late responses to the setup resume a wait
	// briefly) only the poller's goroutine is left.
	grown := 0
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * parkLinger) {
		if grown = runtime.NumGoroutine() - before; grown <= 3 {
			break
		}
	}
	if grown > 3 {
		t.Fatalf("%d parked NOTIFY watchers hold %d more goroutines, want at most 3 (the poller's and a lingering one)", n, grown)
	}
	// Each still wakes.
	writer := mustDial(t, Config{Addr: cfg.Addr, Security: cfg.Security, Username: cfg.Username + "-7", Password: cfg.Password})
	mustAppend(t, writer, "INBOX", simpleMessage("a@example.test", "b@example.test", "parked", "x"))
	probes[7].waitFor(t, "INBOX", 20*time.Second)

	// Run blocks in its goroutine and reports the same.
	rc := plainConfig(t)
	rp := newWatchProbe()
	w := NewMailboxWatch(rc, rp.options(MailboxWatchOptions{}))
	w.SetMailboxes([]string{"INBOX"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- w.Run(ctx) }()
	select {
	case <-rp.ready:
	case <-time.After(30 * time.Second):
		t.Fatal("Run not ready")
	}
	mustAppend(t, mustDial(t, rc), "INBOX", simpleMessage("a@example.test", "b@example.test", "run", "x"))
	rp.waitFor(t, "INBOX", 20*time.Second)
	cancel()
	if err := <-ran; err != nil {
		t.Fatalf("Run after cancel = %v", err)
	}
}

// dropProxy relays TCP to the server until drop closes every relayed
// connection from the server's side.
type dropProxy struct {
	addr  string
	mu    sync.Mutex
	conns []net.Conn
}

func startDropProxy(t *testing.T, target string) *dropProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	p := &dropProxy{addr: ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(s, c); _ = s.Close() }()
			go func() { _, _ = io.Copy(c, s); _ = c.Close() }()
		}
	}()
	t.Cleanup(p.drop)
	return p
}

func (p *dropProxy) drop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

func TestMailboxWatchLoginRejected(t *testing.T) {
	cfg := plainConfig(t)
	cfg.Password = "wrong"
	err := NewMailboxWatch(cfg, MailboxWatchOptions{}).Run(testCtx(t))
	if !errorsIs(err, ErrLoginRejected) {
		t.Fatalf("Run with a wrong password = %v, want ErrLoginRejected", err)
	}
}

// The watcher connection secures itself like Dial: implicit TLS and
// STARTTLS against the test CA, and refuses an unknown CA.
func TestMailboxWatchSecurity(t *testing.T) {
	addr, pw := testenv.IMAP(t)
	imapsAddr, caFile := testenv.IMAPS(t)
	ca := testCA(t, caFile)
	for _, tc := range []struct {
		name    string
		cfg     Config
		wantErr bool
	}{
		{"implicit tls", Config{Addr: imapsAddr, Security: SecurityTLS, TLSConfig: ca}, false},
		{"starttls", Config{Addr: addr, Security: SecurityStartTLS, TLSConfig: ca}, false},
		{"unknown CA", Config{Addr: imapsAddr, Security: SecurityTLS}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Username, cfg.Password = testenv.UniqueUser(t), pw
			cfg.DialTimeout, cfg.CommandTimeout = 10*time.Second, 30*time.Second
			if tc.wantErr {
				if err := NewMailboxWatch(cfg, MailboxWatchOptions{}).Run(testCtx(t)); err == nil {
					t.Fatal("Run with an unknown CA = nil, want an error")
				}
				return
			}
			writer := mustDial(t, cfg)
			_, p, _, _ := startWatch(t, cfg, MailboxWatchOptions{}, []string{"INBOX"})
			select {
			case mode := <-p.ready:
				if mode != WatchModeNotify {
					t.Fatalf("mode %q, want notify", mode)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("watch not ready")
			}
			mustAppend(t, writer, "INBOX", simpleMessage("a@example.test", "b@example.test", "tls", "x"))
			p.waitFor(t, "INBOX", 20*time.Second)
		})
	}
}
