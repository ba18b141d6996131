package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/internal/testenv"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestServeEndToEnd runs the real `serve` wiring — config file, users
// directory, embedded store, mail engine, push hub, metrics listener — in
// front of the test Dovecot, drives a device through provision, FolderSync,
// Sync and a parked Ping woken by a delivery, and reads the metrics.
func TestServeEndToEnd(t *testing.T) {
	imapAddr, pass := testenv.IMAP(t)
	user := testenv.UniqueUser(t)
	dir := t.TempDir()
	host, port, _ := net.SplitHostPort(imapAddr)
	if err := os.MkdirAll(filepath.Join(dir, "users"), 0o755); err != nil {
		t.Fatal(err)
	}
	smtpHost, smtpPort, _ := net.SplitHostPort(testenv.Get(t, testenv.EnvSMTPAddr))
	userFile := fmt.Sprintf("imap: {host: %s, port: %s, security: none}\nsmtp: {host: %s, port: %s, security: none}\nlogin: {mode: passthrough}\n",
		host, port, smtpHost, smtpPort)
	if err := os.WriteFile(filepath.Join(dir, "users", user+".yaml"), []byte(userFile), 0o600); err != nil {
		t.Fatal(err)
	}
	listen, metricsListen := freeAddr(t), freeAddr(t)
	cfg := fmt.Sprintf("listen: %s\npublic_url: https://mail.example.test\ndata_dir: data\nusers_dir: users\nmetrics: {listen: %q}\nheartbeat: {min: 1s, max: 600s}\nlog: {level: warn}\n", listen, metricsListen)
	cfgPath := filepath.Join(dir, "idlebridge.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- cmdServe(ctx, []string{"--config", cfgPath}, io.Discard) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("serve returned %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("serve did not stop")
		}
	})
	base := "http://" + listen
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get(base + "/healthz")
		if err == nil {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server never came up: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	bg := context.Background()
	dev := &client.Client{BaseURL: base, User: user, Password: pass, DeviceID: "phone1", Version: "16.1"}
	if _, err := dev.Provision(bg); err != nil {
		t.Fatal(err)
	}
	fs, err := dev.FolderSync(bg, "0")
	if err != nil || fs.Status != "1" {
		t.Fatalf("FolderSync: %v %+v", err, fs)
	}
	inbox, _ := client.FolderByType(fs.Add, 2)
	if _, _, err := dev.SyncAll(bg, inbox.ServerID, client.SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	pinged := make(chan string, 1)
	ping := func() {
		go func() {
			st, _, err := dev.Ping(bg, 300, inbox.ServerID)
			if err != nil {
				st = err.Error()
			}
			pinged <- st
		}()
	}
	ping()
	scrape := func() string {
		res, err := http.Get("http://" + metricsListen + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	waitParked := func() {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(scrape(), "idlebridge_parked_pings 1") {
			if time.Now().After(deadline) {
				t.Fatalf("parked Ping never showed in the metrics:\n%s", scrape())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitParked()
	up, err := imap.Dial(bg, imap.Config{Addr: imapAddr, Security: imap.SecurityNone, Username: user, Password: pass})
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	msg := []byte("From: a@example.test\r\nTo: b@example.test\r\nSubject: hi\r\n\r\nhello\r\n")
	if _, err := up.Append(bg, "INBOX", nil, time.Now(), bytes.NewReader(msg), int64(len(msg))); err != nil {
		t.Fatal(err)
	}
	select {
	case st := <-pinged:
		if st != "2" {
			t.Fatalf("Ping answered %q, want 2", st)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Ping not woken by the delivery")
	}
	m := scrape()
	for _, want := range []string{
		`idlebridge_requests_total{command="FolderSync",status="ok"} 1`,
		`idlebridge_requests_total{command="Provision",status="ok"} 2`,
		`idlebridge_requests_total{command="Ping",status="eas_2"} 1`,
		`idlebridge_logins_total{result="ok"}`,
		`idlebridge_parked_pings 0`,
		`idlebridge_push_latency_seconds_count 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// Upstream connections are counted: the pool's and the watcher's.
	if strings.Contains(m, "idlebridge_upstream_connections 0\n") || !strings.Contains(m, "idlebridge_upstream_connections ") {
		t.Errorf("upstream connections not counted")
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", m)
	}

	// Stopping the bridge answers a parked Ping (no changes), so the
	// device Pings again at once instead of seeing its connection die.
	if _, _, err := dev.SyncAll(bg, inbox.ServerID, client.SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	ping()
	waitParked()
	cancel()
	select {
	case st := <-pinged:
		if st != "1" {
			t.Fatalf("Ping parked at shutdown answered %q, want 1", st)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Ping parked at shutdown not answered")
	}
}
