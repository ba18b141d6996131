package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/internal/testenv"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

// stallProxy relays TCP to a real server (the SMTP sink, Dovecot) and, when
// armed, stalls every connection at a byte pattern the client sends:
//
//   - holdClient: the pattern and everything after it never reach the
//     server (the bridge waits for an answer that never comes);
//   - holdServer: the pattern reaches the server, its answers from then on
//     never reach the bridge (for SMTP's final dot: the sink has the
//     message, the bridge never hears the 250).
//
// reached is closed the first time a connection stalls.
type stallProxy struct {
	addr, target string
	mu           sync.Mutex
	pattern      []byte
	holdServer   bool
	reached      chan struct{}
	once         sync.Once
}

func startStallProxy(t *testing.T, target string) *stallProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{addr: ln.Addr().String(), target: target, reached: make(chan struct{})}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

// arm sets the stall for new data on every connection; nil pattern passes
// everything.
func (p *stallProxy) arm(pattern string, holdServer bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pattern, p.holdServer = []byte(pattern), holdServer
	if pattern == "" {
		p.pattern = nil
	}
	p.reached = make(chan struct{})
	p.once = sync.Once{}
}

func (p *stallProxy) reachedCh() chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reached
}

func (p *stallProxy) serve(c net.Conn) {
	defer c.Close()
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer up.Close()
	var mu sync.Mutex
	muteServer := false
	done := make(chan struct{}, 2)
	go func() { // server -> client
		defer func() { done <- struct{}{} }()
		buf := make([]byte, 32<<10)
		for {
			n, err := up.Read(buf)
			mu.Lock()
			mute := muteServer
			mu.Unlock()
			if n > 0 && !mute {
				if _, werr := c.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	go func() { // client -> server
		defer func() { done <- struct{}{} }()
		buf := make([]byte, 32<<10)
		var tail []byte
		stalled := false
		for {
			n, err := c.Read(buf)
			chunk := buf[:n]
			if n > 0 && !stalled {
				p.mu.Lock()
				pat, holdServer, reached, once := p.pattern, p.holdServer, p.reached, &p.once
				p.mu.Unlock()
				if pat != nil {
					seen := append(tail, chunk...)
					if i := bytes.Index(seen, pat); i >= 0 {
						stalled = true
						// i is an offset in tail+chunk; what of the chunk
						// goes to the server depends on the mode.
						cut := i - len(tail)
						if holdServer {
							cut = i + len(pat) - len(tail)
							mu.Lock()
							muteServer = true
							mu.Unlock()
						}
						cut = max(0, min(cut, len(chunk)))
						if _, werr := up.Write(chunk[:cut]); werr != nil {
							return
						}
						once.Do(func() { close(reached) })
						chunk = nil
					}
					if len(seen) > len(pat) {
						tail = append([]byte(nil), seen[len(seen)-len(pat):]...)
					} else {
						tail = append([]byte(nil), seen...)
					}
				}
				if len(chunk) > 0 {
					if _, werr := up.Write(chunk); werr != nil {
						return
					}
				}
			}
			if err != nil {
				return
			}
		}
	}()
	<-done
}

// bridgeBinary builds cmd/idlebridge once for the test.
func bridgeBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "idlebridge")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// bridgeProcess is one `idlebridge serve` child.
type bridgeProcess struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func startServe(t *testing.T, bin, cfgPath, listen, logPath string) *bridgeProcess {
	t.Helper()
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, "serve", "--config", cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "IDLEBRIDGE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &bridgeProcess{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.kill() })
	testenv.WaitFor(t, 30*time.Second, "the bridge answering", func() bool {
		select {
		case <-p.done:
			b, _ := os.ReadFile(logPath)
			t.Fatalf("the bridge exited:\n%s", b)
		default:
		}
		res, err := http.Get("http://" + listen + "/healthz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return true
	})
	return p
}

// kill is kill -9: no deferred clean-up, no graceful stop.
func (p *bridgeProcess) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// TestSendKill9 kills the real binary with SIGKILL at chosen moments of a
// SendMail (the SMTP sink's or Dovecot's traffic stalled by a proxy, so the
// kill lands exactly there), restarts it on the same data directory and
// lets the device retry. Every case ends with the message in the real
// sink exactly once and the device told the truth: OK when it is known to
// have gone out, "not confirmed" (14.x Status 110, 12.x HTTP 500) when the
// bridge died between the final dot and the server's answer. The Sent
// folder holds one copy of every message known to be sent, none of an
// unconfirmed one.
func TestSendKill9(t *testing.T) {
	imapAddr, pass := testenv.IMAP(t)
	sinkAddr, maildir := testenv.SMTP(t)
	bin := bridgeBinary(t)
	tests := []struct {
		name       string
		version    string
		smtpStall  string // pattern held on the SMTP connection
		holdReply  bool   // hold the server's answer, not the bytes
		imapStall  string // pattern held on the IMAP connection
		wantStatus string // 14.x Status of the retry; "" = OK
		wantHTTP   int    // 12.x HTTP code of the retry
		wantSent   int
	}{
		{"14.1 killed before the dot", "14.1", "MAIL FROM", false, "", "", 200, 1},
		{"14.1 killed between dot and answer", "14.1", "\r\n.\r\n", true, "", "110", 200, 0},
		{"14.1 killed before the Sent copy", "14.1", "", false, " APPEND ", "", 200, 1},
		{"12.1 killed before the dot", "12.1", "MAIL FROM", false, "", "", 200, 1},
		{"12.1 killed between dot and answer", "12.1", "\r\n.\r\n", true, "", "", 500, 0},
		{"12.1 killed before the Sent copy", "12.1", "", false, " APPEND ", "", 200, 1},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user := testenv.UniqueUser(t)
			dir := t.TempDir()
			smtpProxy := startStallProxy(t, sinkAddr)
			imapProxy := startStallProxy(t, imapAddr)
			ih, ip, _ := net.SplitHostPort(imapProxy.addr)
			sh, sp, _ := net.SplitHostPort(smtpProxy.addr)
			if err := os.MkdirAll(filepath.Join(dir, "users"), 0o755); err != nil {
				t.Fatal(err)
			}
			userFile := fmt.Sprintf("imap: {host: %s, port: %s, security: none}\nsmtp: {host: %s, port: %s, security: none}\nlogin: {mode: passthrough}\n", ih, ip, sh, sp)
			if err := os.WriteFile(filepath.Join(dir, "users", user+".yaml"), []byte(userFile), 0o600); err != nil {
				t.Fatal(err)
			}
			listen := freeAddr(t)
			cfg := fmt.Sprintf("listen: %s\npublic_url: https://mail.example.test\ndata_dir: data\nusers_dir: users\nlog: {level: info}\n", listen)
			cfgPath := filepath.Join(dir, "idlebridge.yaml")
			if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			logPath := filepath.Join(dir, "bridge.log")
			proc := startServe(t, bin, cfgPath, listen, logPath)

			ctx := context.Background()
			dev := &client.Client{BaseURL: "http://" + listen, User: user, Password: pass, DeviceID: fmt.Sprintf("kill%d", i), Version: tt.version}
			if _, err := dev.Provision(ctx); err != nil {
				t.Fatal(err)
			}
			marker := fmt.Sprintf("kill9-%d-%d", i, time.Now().UnixNano())
			msg := []byte("From: " + user + "\r\nTo: bob@example.test\r\nSubject: " + marker + "\r\n\r\nsent once\r\n")
			send := func(ctx context.Context) (*client.Response, error) {
				if tt.version == "12.1" {
					return dev.DoRaw(ctx, "SendMail", client.Params{SaveInSent: true}, msg, "message/rfc822")
				}
				req := wbxml.New(wbxml.ComposeMail, "SendMail")
				req.AddText(wbxml.ComposeMail, "ClientId", marker)
				req.Add(wbxml.ComposeMail, "SaveInSentItems")
				req.AddOpaque(wbxml.ComposeMail, "Mime", msg)
				return dev.Do(ctx, "SendMail", req)
			}

			var stalled chan struct{}
			if tt.smtpStall != "" {
				smtpProxy.arm(tt.smtpStall, tt.holdReply)
				stalled = smtpProxy.reachedCh()
			} else {
				imapProxy.arm(tt.imapStall, false)
				stalled = imapProxy.reachedCh()
			}
			first := make(chan error, 1)
			go func() { _, err := send(ctx); first <- err }()
			select {
			case <-stalled:
			case err := <-first:
				b, _ := os.ReadFile(logPath)
				t.Fatalf("the send finished (%v) before reaching its stall point; log:\n%s", err, b)
			case <-time.After(30 * time.Second):
				t.Fatal("the send never reached its stall point")
			}
			proc.kill()
			if err := <-first; err == nil {
				t.Fatal("the killed request was answered")
			}
			smtpProxy.arm("", false)
			imapProxy.arm("", false)

			startServe(t, bin, cfgPath, listen, logPath)
			res, err := send(ctx)
			var he *client.HTTPError
			switch {
			case tt.version == "12.1" && tt.wantHTTP != 200:
				if !errors.As(err, &he) || he.Code != tt.wantHTTP {
					t.Fatalf("12.1 retry: %v, want HTTP %d", err, tt.wantHTTP)
				}
			case err != nil:
				t.Fatalf("retry: %v", err)
			case tt.wantStatus == "" && len(res.Body) != 0:
				t.Fatalf("retry answered with a body (status %s), want OK", res.Status())
			case tt.wantStatus != "" && (res.Doc == nil || res.Status() != tt.wantStatus):
				t.Fatalf("retry: status %q, want %s", res.Status(), tt.wantStatus)
			}
			if n := sinkCount(t, maildir, marker); n != 1 {
				t.Errorf("the sink holds %d copies, want exactly 1", n)
			}
			if n := sentCount(t, imapAddr, user, pass); n != tt.wantSent {
				t.Errorf("Sent holds %d copies, want %d", n, tt.wantSent)
			}
			if tt.wantStatus != "" || tt.wantHTTP == 500 {
				b, _ := os.ReadFile(logPath)
				if !strings.Contains(string(b), "send not confirmed") {
					t.Error("the unconfirmed send was not logged")
				}
			}
		})
	}
}

// sinkCount counts the sink's messages with Subject subject, once the
// sink has written at least one (it may still be writing the message it
// took just before the kill).
func sinkCount(t *testing.T, maildir, subject string) int {
	t.Helper()
	count := func() int {
		n := 0
		files, _ := filepath.Glob(filepath.Join(maildir, "new", "*"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err == nil && bytes.Contains(b, []byte("Subject: "+subject+"\n")) {
				n++
			}
		}
		return n
	}
	testenv.WaitFor(t, 10*time.Second, "the sink's copy", func() bool { return count() > 0 })
	return count()
}

// sentCount counts the messages in the user's Sent folder, straight from
// Dovecot.
func sentCount(t *testing.T, imapAddr, user, pass string) int {
	t.Helper()
	ctx := context.Background()
	s, err := imap.Dial(ctx, imap.Config{Addr: imapAddr, Security: imap.SecurityNone, Username: user, Password: pass})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	folders, err := s.ListFolders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	name := ""
	for _, f := range folders {
		if f.Special == imap.SpecialSent || (name == "" && f.Name == "Sent") {
			name = f.Name
		}
	}
	if name == "" {
		return 0
	}
	if _, err := s.Select(ctx, name, true); err != nil {
		t.Fatal(err)
	}
	infos, err := s.FetchFlags(ctx, imap.AllUIDs(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return len(infos)
}
