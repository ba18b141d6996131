package bridge_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/bridge/imappools"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/internal/bridgetest"
	"github.com/idlebridge/idlebridge/internal/testenv"
)

// syncLog is a log buffer safe for the bridge's goroutines.
type syncLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}
func (l *syncLog) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.buf.String() }

// wantRetryLater checks that err is HTTP 503 with Retry-After.
func wantRetryLater(t *testing.T, what string, resp *client.Response, err error) {
	t.Helper()
	var he *client.HTTPError
	if !errors.As(err, &he) || he.Code != 503 {
		t.Fatalf("%s: %v, want HTTP 503", what, err)
	}
	if resp == nil || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("%s: 503 without Retry-After", what)
	}
}

// folderSyncBody is a FolderSync request, sent raw so that the answer's
// headers can be read.
func folderSyncBody(t *testing.T, key string) []byte {
	t.Helper()
	req := wbxml.New(wbxml.FolderHierarchy, "FolderSync")
	req.AddText(wbxml.FolderHierarchy, "SyncKey", key)
	b, err := wbxml.Encode(req)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The provider refusing the app password stored in a user's file is the
// operator's problem: the device is told 503 with Retry-After (not 500,
// not 401, which would make it ask its user), the refusal is logged at
// ERROR once for the user however often the device retries, and counted.
func TestStoredAppPasswordRefusedIs503(t *testing.T) {
	logs := &syncLog{}
	var refused atomic.Int32
	e := bridgetest.Start(t, bridgetest.Options{
		AppPassword: &bridgetest.AppPassword{Device: "phone-secret", Upstream: "not-the-provider-password"},
		Upstream:    imappools.Options{OnRefused: func() { refused.Add(1) }},
		Log:         slog.New(slog.NewTextHandler(logs, nil)),
	})
	dev := e.Device(t, "apdev", "16.1")
	ctx := context.Background()
	for i := range 3 {
		resp, err := dev.DoRaw(ctx, "FolderSync", client.Params{}, folderSyncBody(t, "0"), "application/vnd.ms-sync.wbxml")
		wantRetryLater(t, "FolderSync with a refused stored password", resp, err)
		if i == 0 && !strings.Contains(logs.String(), "level=ERROR") {
			t.Fatalf("no ERROR line after the first refusal:\n%s", logs)
		}
	}
	if n := strings.Count(logs.String(), "refuses this user's stored app password"); n != 1 {
		t.Fatalf("the refusal was logged %d times for 3 requests, want once:\n%s", n, logs)
	}
	if n := strings.Count(logs.String(), "level=ERROR"); n != 1 {
		t.Fatalf("%d ERROR lines for 3 requests, want the one that names the cause:\n%s", n, logs)
	}
	if n := refused.Load(); n != 3 {
		t.Fatalf("counted %d refusals, want 3", n)
	}
}

// A full disk under the embedded store answers 503 with Retry-After and
// loses nothing: once space is freed the device carries on where it was.
func TestFullDiskIs503AndKeepsState(t *testing.T) {
	dir := testenv.TinyDisk(t, "2m")
	st, err := state.OpenEmbedded(filepath.Join(dir, state.EmbeddedFile), state.EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	// The device cap is raised so the fillers below never evict fulldev.
	e := bridgetest.Start(t, bridgetest.Options{Store: st, Bus: state.NewMemoryBus(), Leases: state.NewMemoryLeases(), MaxDevices: 1000})
	dev := e.Device(t, "fulldev", "16.1")
	ctx := context.Background()
	fs, err := dev.FolderSync(ctx, "0")
	if err != nil {
		t.Fatal(err)
	}

	free := testenv.FillDisk(t, dir)
	// bbolt writes into pages its file already holds for as long as its
	// free list lasts, so one small write may still succeed on a full
	// disk. New devices' records make the data grow until a write needs a
	// block the disk cannot give; that request must be a 503 with
	// Retry-After (and none may be anything but success or that).
	provision := wbxml.New(wbxml.Provision, "Provision")
	provision.Add(wbxml.Provision, "Policies").Add(wbxml.Provision, "Policy").
		AddText(wbxml.Provision, "PolicyType", "MS-EAS-Provisioning-WBXML")
	body, err := wbxml.Encode(provision)
	if err != nil {
		t.Fatal(err)
	}
	full := false
	for i := 0; i < 500 && !full; i++ {
		c := &client.Client{BaseURL: e.URL, User: e.User, Password: e.Password, DeviceID: fmt.Sprintf("filler%d", i), Version: "16.1", DeviceType: "TestPhone"}
		resp, err := c.DoRaw(ctx, "Provision", client.Params{}, body, "application/vnd.ms-sync.wbxml")
		if err == nil {
			continue
		}
		wantRetryLater(t, fmt.Sprintf("Provision of new device %d on a full disk", i), resp, err)
		full = true
	}
	if !full {
		t.Fatal("500 new devices were stored on a full disk: the test never reached the full disk")
	}
	free()

	again, err := dev.FolderSync(ctx, fs.SyncKey)
	if err != nil {
		t.Fatalf("FolderSync after space was freed: %v", err)
	}
	if again.Status != "1" || len(again.Add)+len(again.Update)+len(again.Delete) != 0 {
		t.Fatalf("the device's hierarchy state changed while the disk was full: %+v", again)
	}
	d, err := st.GetDevice(ctx, e.User, "fulldev")
	if err != nil || d.PolicyKey == 0 {
		t.Fatalf("device record after the full disk: %+v, %v", d, err)
	}
}
