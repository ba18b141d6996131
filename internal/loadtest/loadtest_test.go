package loadtest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/internal/testenv"
)

// TestSmallRun runs the whole tool — bridge subprocess, 5 devices over 2
// users, 5 deliveries, baseline — against the test Dovecot.
func TestSmallRun(t *testing.T) {
	imapAddr, pass := testenv.IMAP(t)
	if testing.Short() {
		t.Skip("builds and starts the bridge")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var progress bytes.Buffer
	o := Options{
		IMAPAddr: imapAddr, Password: pass, SMTPAddr: os.Getenv(testenv.EnvSMTPAddr),
		Devices: 5, Users: 2, Deliveries: 5, Rate: 1.5, // 1.33 s between two deliveries to a user
		Settle: time.Second, IdleMeasure: time.Second, WakeTimeout: 15 * time.Second,
		Metrics: true, Log: &progress, BridgeBin: testBridge(t),
	}
	rep, err := Run(ctx, o)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, progress.String())
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	t.Logf("report:\n%s", text.String())

	// User 0 has devices 0, 2, 4 and gets deliveries 0, 2, 4; user 1 has
	// devices 1, 3 and gets deliveries 1, 3: 3*3 + 2*2 wake-ups.
	const wantWakes = 13
	checks := []struct {
		name      string
		got, want int
	}{
		{"devices parked", rep.DevicesParked, 5},
		{"devices failed", rep.DevicesFailed, 0},
		{"delivery errors", rep.DeliveryErrors, 0},
		{"wake-ups expected", rep.WakeExpected, wantWakes},
		{"wake-ups seen", rep.WakeSeen, wantWakes},
		{"missed", rep.WakeMissed, 0},
		{"duplicates", rep.WakeDuplicate, 0},
		{"unknown messages", rep.UnknownMessages, 0},
		{"latencies measured", rep.Bridge.N + rep.WakeCoalesced, wantWakes},
		{"baseline measured", rep.Baseline.N, 5},
		{"baseline missed", rep.BaselineMissed, 0},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	if rep.Bridge.Median <= 0 || rep.Bridge.Max > 15000 || rep.Bridge.Median > rep.Bridge.Max {
		t.Errorf("bridge latency not sane: %+v", rep.Bridge)
	}
	if rep.RSSBeforeMiB <= 0 || rep.RSSParkedMiB <= 0 || rep.RSSEndMiB <= 0 {
		t.Errorf("RSS not measured: %v / %v / %v", rep.RSSBeforeMiB, rep.RSSParkedMiB, rep.RSSEndMiB)
	}
	if rep.AnonBeforeMiB <= 0 || rep.AnonParkedMiB <= 0 || rep.AnonParkedMiB > rep.RSSParkedMiB {
		t.Errorf("anonymous RSS not measured: %v / %v (RSS %v)", rep.AnonBeforeMiB, rep.AnonParkedMiB, rep.RSSParkedMiB)
	}
	if rep.RSSIdleMiB <= 0 || rep.AnonIdleMiB <= 0 {
		t.Errorf("RSS after the idle measurement not taken: %v / %v", rep.RSSIdleMiB, rep.AnonIdleMiB)
	}
	// At least the INBOX IDLE watcher of each user.
	if rep.UpstreamConns < 2 {
		t.Errorf("upstream connections = %d, want >= 2", rep.UpstreamConns)
	}
	if rep.IdleSeconds <= 0 || rep.IdleCPUPercent < 0 {
		t.Errorf("idle CPU not measured: %v s, %v%%", rep.IdleSeconds, rep.IdleCPUPercent)
	}
	path := t.TempDir() + "/report.json"
	if err := rep.WriteJSON(path); err != nil {
		t.Fatal(err)
	}
}

var (
	bridgeOnce sync.Once
	bridgeBin  string
	bridgeErr  error
)

// testBridge builds the bridge once for the package's runs.
func testBridge(t *testing.T) string {
	t.Helper()
	bridgeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "loadtest-bin-")
		if err != nil {
			bridgeErr = err
			return
		}
		bridgeBin, bridgeErr = buildBridge(context.Background(), dir)
	})
	if bridgeErr != nil {
		t.Fatal(bridgeErr)
	}
	return bridgeBin
}

// TestRunFoldersOverTLS is the real shape of issue 16: one device per
// user, three folders pinged each, mail to random folders, IMAPS to the
// provider; every delivery must wake its user's device and be measured
// against an IDLE client on the same folder.
func TestRunFoldersOverTLS(t *testing.T) {
	imapsAddr, caFile := testenv.IMAPS(t)
	_, pass := testenv.IMAP(t)
	if testing.Short() {
		t.Skip("builds and starts the bridge")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var progress bytes.Buffer
	o := Options{
		IMAPAddr: imapsAddr, TLS: true, CAFile: caFile, Password: pass, SMTPAddr: os.Getenv(testenv.EnvSMTPAddr),
		Devices: 3, Users: 3, Folders: 3, Deliveries: 6, Rate: 1.5, Seed: 7,
		Settle: time.Second, WakeTimeout: 15 * time.Second, Metrics: true, Log: &progress, BridgeBin: testBridge(t),
		WorkDir: filepath.Join(t.TempDir(), "work"),
	}
	if err := os.MkdirAll(o.WorkDir, 0o700); err != nil {
		t.Fatal(err)
	}
	rep, err := Run(ctx, o)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, progress.String())
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	t.Logf("report:\n%s", text.String())
	checks := []struct {
		name      string
		got, want int
	}{
		{"devices parked", rep.DevicesParked, 3},
		{"delivery errors", rep.DeliveryErrors, 0},
		{"wake-ups expected", rep.WakeExpected, 6},
		{"wake-ups seen", rep.WakeSeen, 6},
		{"missed", rep.WakeMissed, 0},
		{"duplicates", rep.WakeDuplicate, 0},
		{"unknown messages", rep.UnknownMessages, 0},
		{"baseline measured", rep.Baseline.N, 6},
		{"baseline duplicates", rep.BaselineDuplicate, 0},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	if !rep.TLS || rep.Folders != 3 || rep.UpstreamConns < 3 || rep.UpstreamPerUser <= 0 || rep.RSSPerUserKiB == 0 {
		t.Errorf("shape figures missing: tls %v folders %d upstream %d (%.2f/user) rss/user %.1f",
			rep.TLS, rep.Folders, rep.UpstreamConns, rep.UpstreamPerUser, rep.RSSPerUserKiB)
	}
	// The seed sends mail to more than one folder, or the test shows nothing.
	if len(rep.DeliveriesPerFolder) < 2 {
		t.Errorf("deliveries per folder %v: want mail in at least two folders", rep.DeliveriesPerFolder)
	}
}

// TestRunTwoInstancesOnRedis spreads 4 one-device users over two bridge
// processes on one Redis, the shape that holds more users than one
// process's descriptor limit allows: every device is woken, and each
// process holds the upstream connections of its own half of the users.
func TestRunTwoInstancesOnRedis(t *testing.T) {
	imapAddr, pass := testenv.IMAP(t)
	redisURL := testenv.RedisURL(t)
	if testing.Short() {
		t.Skip("builds and starts the bridge")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var progress bytes.Buffer
	o := Options{
		IMAPAddr: imapAddr, Password: pass, SMTPAddr: os.Getenv(testenv.EnvSMTPAddr),
		Redis: redisURL, Instances: 2,
		Devices: 4, Users: 4, Deliveries: 4, Rate: 2,
		Settle: time.Second, IdleMeasure: time.Second, WakeTimeout: 15 * time.Second,
		Metrics: true, Log: &progress, BridgeBin: testBridge(t),
	}
	rep, err := Run(ctx, o)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, progress.String())
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	t.Logf("report:\n%s", text.String())
	checks := []struct {
		name      string
		got, want int
	}{
		{"instances", rep.Instances, 2},
		{"devices parked", rep.DevicesParked, 4},
		{"wake-ups seen", rep.WakeSeen, 4},
		{"missed", rep.WakeMissed, 0},
		{"duplicates", rep.WakeDuplicate, 0},
		{"instances with connections", len(rep.UpstreamConnsPerInstance), 2},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	// Users 0 and 2 are the first instance's, 1 and 3 the second's: a
	// watcher each at least, on both.
	for i, n := range rep.UpstreamConnsPerInstance {
		if n < 2 {
			t.Errorf("instance %d holds %d upstream connections, want >= 2 (its two users): %v", i, n, rep.UpstreamConnsPerInstance)
		}
	}
	if rep.GoroutinesPerUser == nil || rep.RSSPerUserKiB == 0 || rep.IdleSeconds <= 0 {
		t.Errorf("summed process figures missing: goroutines/user %v rss/user %.1f idle %v s", rep.GoroutinesPerUser, rep.RSSPerUserKiB, rep.IdleSeconds)
	}
}
