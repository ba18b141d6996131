package loadtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// bridgeModulePath is the bridge's main package, built when no binary is
// given. A package path rather than ./cmd/idlebridge so it builds from any
// directory of the module (the test runs in internal/loadtest).
const bridgeModulePath = "github.com/idlebridge/idlebridge/cmd/idlebridge"

// bridgeProc is a bridge subprocess with its generated configuration.
type bridgeProc struct {
	cmd         *exec.Cmd
	url         string
	metricsAddr string // "" when not configured
	logPath     string
	done        chan error // receives the exit status once
}

// buildBridge compiles the bridge into dir and returns the binary's path.
func buildBridge(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "idlebridge")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, bridgeModulePath)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("building the bridge (go build %s): %w\n%s", bridgeModulePath, err, out)
	}
	return bin, nil
}

// freeAddr returns a loopback address with a port free at the time of the
// call (the bridge binds it a moment later; a collision fails loudly).
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// writeUsers writes one passthrough user file per user into dir, the shape
// internal/bridgetest uses: plain IMAP on loopback, the device password is
// the IMAP password.
func writeUsers(dir string, o Options) error {
	host, port, err := net.SplitHostPort(o.IMAPAddr)
	if err != nil {
		return fmt.Errorf("imap address %q: %w", o.IMAPAddr, err)
	}
	shost, sport, err := net.SplitHostPort(o.SMTPAddr)
	if err != nil {
		return fmt.Errorf("smtp address %q: %w", o.SMTPAddr, err)
	}
	security := "none"
	if o.TLS {
		security = "tls"
	}
	body := fmt.Sprintf("imap: {host: %s, port: %s, security: %s}\nsmtp: {host: %s, port: %s, security: none}\nlogin: {mode: passthrough}\n",
		host, port, security, shost, sport)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for i := range o.Users {
		if err := os.WriteFile(filepath.Join(dir, o.userName(i)+".yaml"), []byte(body), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// bridgeConfig is the YAML the spawned bridge runs with. The heartbeat
// range is as wide as the bridge allows, so any --heartbeat fits; the
// failed-login back-off is off so a provisioning burst is never throttled,
// and the per-user device cap fits the run's devices per user (at 100
// devices per user the default cap of 20 would evict devices mid-run).
func bridgeConfig(listen, metricsAddr, dataDir, usersDir, redisURL string, pprof bool, devicesPerUser int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "listen: %s\npublic_url: http://%s\n", listen, listen)
	fmt.Fprintf(&b, "data_dir: %s\nusers_dir: %s\n", dataDir, usersDir)
	if redisURL != "" {
		fmt.Fprintf(&b, "redis: {url: %q}\n", redisURL)
	}
	b.WriteString("heartbeat: {min: 1s, max: 3540s}\n")
	b.WriteString("log: {level: warn, format: text}\n")
	fmt.Fprintf(&b, "limits: {max_failed_logins: 0, max_devices_per_user: %d}\n", max(20, devicesPerUser))
	if metricsAddr != "" {
		if pprof {
			fmt.Fprintf(&b, "metrics: {listen: %s, pprof: true}\n", metricsAddr)
		} else {
			fmt.Fprintf(&b, "metrics: {listen: %s}\n", metricsAddr)
		}
	}
	return b.String()
}

// startBridge writes the config and users into work and starts bin on a
// free loopback port; it returns once the bridge answers HTTP.
func startBridge(ctx context.Context, bin, work string, o Options) (*bridgeProc, error) {
	usersDir := filepath.Join(work, "users")
	if err := writeUsers(usersDir, o); err != nil {
		return nil, err
	}
	listen, err := freeAddr()
	if err != nil {
		return nil, err
	}
	var metricsAddr string
	if o.Metrics {
		if metricsAddr, err = freeAddr(); err != nil {
			return nil, err
		}
	}
	cfgPath := filepath.Join(work, "idlebridge.yaml")
	cfg := bridgeConfig(listen, metricsAddr, filepath.Join(work, "data"), usersDir, o.Redis, o.PProf, (o.Devices+o.Users-1)/o.Users)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	logPath := filepath.Join(work, "idlebridge.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child holds its own descriptor

	cmd := exec.Command(bin, "serve", "--config", cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	// No IDLEBRIDGE_* from our environment may override the generated
	// config (IDLEBRIDGE_TEST_* are harmless but dropped too).
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "IDLEBRIDGE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if o.TLS && o.CAFile != "" {
		// The bridge verifies the provider against the system roots; Go
		// reads them from SSL_CERT_FILE when it is set.
		cmd.Env = append(cmd.Env, "SSL_CERT_FILE="+o.CAFile)
	}
	// Its own process group: a Ctrl-C on the tool reaches the tool only,
	// which then stops the bridge in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the bridge: %w", err)
	}
	p := &bridgeProc{cmd: cmd, url: "http://" + listen, metricsAddr: metricsAddr, logPath: logPath, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	if err := p.waitReady(ctx, listen, 30*time.Second); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

// waitReady polls until the bridge answers any HTTP request.
func (p *bridgeProc) waitReady(ctx context.Context, listen string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	hc := &http.Client{Timeout: time.Second}
	for {
		select {
		case err := <-p.done:
			p.done <- err
			return fmt.Errorf("the bridge exited before answering (%v); see %s:\n%s", err, p.logPath, tail(p.logPath, 2000))
		default:
		}
		res, err := hc.Get("http://" + listen + "/")
		if err == nil {
			res.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the bridge did not answer on %s within %v; see %s", listen, limit, p.logPath)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (p *bridgeProc) pid() int { return p.cmd.Process.Pid }

// stop ends the bridge with SIGTERM (graceful: parked Pings are released),
// then SIGKILL after 15 s.
func (p *bridgeProc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		p.done <- <-p.done
	}
}

// exited reports the exit error if the bridge is gone.
func (p *bridgeProc) exited() (error, bool) {
	select {
	case err := <-p.done:
		p.done <- err
		if err == nil {
			err = errors.New("exited with status 0")
		}
		return err, true
	default:
		return nil, false
	}
}

// tail returns the last n bytes of a file, for error messages.
func tail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > n {
		_, _ = f.Seek(st.Size()-n, 0)
	}
	b := make([]byte, n)
	k, _ := f.Read(b)
	return string(b[:k])
}
