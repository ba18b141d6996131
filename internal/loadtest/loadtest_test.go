package loadtest

import (
	"bytes"
	"context"
	"os"
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
		Metrics: true, Log: &progress,
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
