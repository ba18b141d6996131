package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape: HTTP %d", rec.Code)
	}
	b, err := io.ReadAll(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestExposition(t *testing.T) {
	m := New()
	m.ObserveRequest("Sync", 200, 1, 30*time.Millisecond)
	m.ObserveRequest("Sync", 200, 1, 40*time.Millisecond)
	m.ObserveRequest("Sync", 200, 3, time.Millisecond)
	m.ObserveRequest("Ping", 401, 0, time.Millisecond)
	m.PingParked(+1)
	m.PingParked(+1)
	m.PingParked(-1)
	m.WatcherActive(+3)
	m.UpstreamConns(+2)
	m.UpstreamReconnect()
	m.PushLatency(3 * time.Millisecond)
	m.StoreError("commit")
	m.PushPanic("watcher")
	m.Login(LoginOK)
	m.Login(LoginRejected)
	m.Login("alice@example.com") // must not become a label
	m.SyncSkipped("retry")
	m.SyncSkipped("given_up")
	m.SyncSkipped("alice@example.com")
	m.PushRecheck("version")
	m.PushRecheck("version")
	m.PushRecheck("upstream")
	m.PushRecheck("alice@example.com")

	text := scrape(t, m)
	want := []string{
		`idlebridge_requests_total{command="Sync",status="ok"} 2`,
		`idlebridge_requests_total{command="Sync",status="eas_3"} 1`,
		`idlebridge_requests_total{command="Ping",status="http_401"} 1`,
		`idlebridge_request_duration_seconds_count{command="Sync"} 3`,
		`idlebridge_request_duration_seconds_bucket{command="Sync",le="0.05"} 3`,
		`idlebridge_request_duration_seconds_bucket{command="Sync",le="0.025"} 1`,
		`idlebridge_parked_pings 1`,
		`idlebridge_active_watchers 3`,
		`idlebridge_upstream_connections 2`,
		`idlebridge_upstream_reconnects_total 1`,
		`idlebridge_push_latency_seconds_bucket{le="0.001"} 0`,
		`idlebridge_push_latency_seconds_bucket{le="0.005"} 1`,
		`idlebridge_push_latency_seconds_bucket{le="60"} 1`,
		`idlebridge_push_latency_seconds_count 1`,
		`idlebridge_store_errors_total{op="commit"} 1`,
		`idlebridge_push_panics_total{where="watcher"} 1`,
		`idlebridge_logins_total{result="ok"} 1`,
		`idlebridge_logins_total{result="rejected"} 1`,
		`idlebridge_logins_total{result="other"} 1`,
		`idlebridge_sync_messages_skipped_total{outcome="retry"} 1`,
		`idlebridge_sync_messages_skipped_total{outcome="given_up"} 1`,
		`idlebridge_sync_messages_skipped_total{outcome="other"} 1`,
		`idlebridge_push_rechecks_total{by="version"} 2`,
		`idlebridge_push_rechecks_total{by="upstream"} 1`,
		`idlebridge_push_rechecks_total{by="other"} 1`,
		`go_goroutines `,
	}
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("exposition lacks %q", w)
		}
	}
	if strings.Contains(text, "alice") {
		t.Error("a user address leaked into a label")
	}
}

func TestStatusLabel(t *testing.T) {
	tests := []struct {
		http, eas int
		want      string
	}{
		{200, 0, "ok"},
		{200, 1, "ok"},
		{200, 3, "eas_3"},
		{200, 142, "eas_142"},
		{200, 5000, "other"},
		{401, 0, "http_401"},
		{503, 111, "http_503"},
		{0, 0, "other"},
		{1000, 0, "other"},
	}
	for _, tt := range tests {
		if got := StatusLabel(tt.http, tt.eas); got != tt.want {
			t.Errorf("StatusLabel(%d, %d) = %q, want %q", tt.http, tt.eas, got, tt.want)
		}
	}
}

func TestNilMetricsIsNoOp(t *testing.T) {
	var m *Metrics
	m.ObserveRequest("Sync", 200, 1, time.Second)
	m.PingParked(1)
	m.WatcherActive(1)
	m.UpstreamConns(1)
	m.UpstreamReconnect()
	m.PushLatency(time.Second)
	m.StoreError("x")
	m.Login(LoginOK)
	m.SyncSkipped("retry")
	m.PushRecheck("version")
}

// Two instances in one process must not collide (no global registry).
func TestIndependentRegistries(t *testing.T) {
	a, b := New(), New()
	a.UpstreamReconnect()
	if strings.Contains(scrape(t, b), "idlebridge_upstream_reconnects_total 1") {
		t.Error("an observation on one Metrics showed up in another")
	}
}
