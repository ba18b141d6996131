package testenv

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// redisReadyTimeout bounds how long a private redis-server may take to
// answer PING after it was started (including replaying its AOF).
const redisReadyTimeout = 15 * time.Second

// RedisServer is a private redis-server owned by one test, for cases the
// shared server cannot cover: stopping and restarting Redis under a running
// client. Its data lives in the test's temporary directory with
// appendonly on, so a Stop/Start keeps what was written.
type RedisServer struct {
	t    testing.TB
	bin  string
	dir  string
	port int

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// StartRedis starts a private redis-server on 127.0.0.1 and a free port and
// stops it when the test ends. It skips (or fails under
// IDLEBRIDGE_TEST_REQUIRE=1) when no redis-server is installed.
func StartRedis(t testing.TB) *RedisServer {
	t.Helper()
	bin := findRedisServer()
	if bin == "" {
		Missing(t, "redis-server ("+EnvRedisServer+" or PATH)")
	}
	port, err := freePort()
	if err != nil {
		t.Fatalf("testenv: no free port for redis-server: %v", err)
	}
	s := &RedisServer{t: t, bin: bin, dir: t.TempDir(), port: port}
	t.Cleanup(s.Stop)
	s.Start()
	return s
}

// findRedisServer returns the redis-server to run, or "" when there is none.
func findRedisServer() string {
	if p := os.Getenv(EnvRedisServer); p != "" {
		return p
	}
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/redis-server", "/usr/bin/redis-server"} {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	return ""
}

// freePort asks the kernel for an unused loopback port. Another process
// could take it before redis-server binds it; the start then fails loudly
// rather than talking to a stranger's server.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Addr is host:port of the server.
func (s *RedisServer) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// URL is the server's redis:// URL, database 0.
func (s *RedisServer) URL() string { return "redis://" + s.Addr() + "/0" }

// Start runs the server (again) on the same port and directory and waits
// until it answers PING. Starting a running server does nothing.
func (s *RedisServer) Start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return
	}
	logFile := filepath.Join(s.dir, "redis.log")
	cmd := exec.Command(s.bin,
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--dir", s.dir,
		"--appendonly", "yes",
		"--save", "",
		"--daemonize", "no",
		"--logfile", logFile,
	)
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("testenv: start %s: %v", s.bin, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.cmd, s.done = cmd, done

	deadline := time.Now().Add(redisReadyTimeout)
	for {
		err := pingRedis(s.Addr())
		if err == nil {
			return
		}
		select {
		case <-done:
			s.cmd, s.done = nil, nil
			s.t.Fatalf("testenv: redis-server exited at start (port %d): %s", s.port, tail(logFile))
		default:
		}
		if time.Now().After(deadline) {
			s.stopLocked()
			s.t.Fatalf("testenv: redis-server on port %d did not answer PING: %v: %s", s.port, err, tail(logFile))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop ends the server with SIGTERM and waits for it to exit. The AOF in
// its directory keeps the data for the next Start. Stopping a stopped
// server does nothing.
func (s *RedisServer) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
}

func (s *RedisServer) stopLocked() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd, s.done = nil, nil
}

// Restart is Stop then Start.
func (s *RedisServer) Restart() {
	s.t.Helper()
	s.Stop()
	s.Start()
}

// pingRedis sends an inline PING and expects +PONG; enough to know the
// server accepts commands without a client library.
func pingRedis(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("unexpected reply %q", strings.TrimSpace(line))
	}
	return nil
}

// tail returns the last lines of a log file for a failure message.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	return strings.Join(lines, "\n")
}
