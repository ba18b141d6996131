// Package metrics holds the bridge's Prometheus metrics in a registry of
// its own (never the global default, so tests and several servers in one
// process do not collide) and serves them on /metrics.
//
// Labels are bounded by construction: a command name from the ActiveSync
// command table, a status code class, a store operation or a login result.
// A user or device never becomes a label (DESIGN.md, "Bounded metric
// labels"): that would grow the series without limit and leak addresses.
//
// Every method is safe on a nil *Metrics, so code can be handed a nil
// collector in tests and tools without checks at each call site.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// namespace prefixes every metric name.
const namespace = "idlebridge"

// Metrics is the bridge's set of collectors. Create it with New.
type Metrics struct {
	reg *prometheus.Registry

	requests        *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec
	parkedPings     prometheus.Gauge
	activeWatchers  prometheus.Gauge
	upstreamConns   prometheus.Gauge
	reconnects      prometheus.Counter
	pushLatency     prometheus.Histogram
	storeErrors     *prometheus.CounterVec
	logins          *prometheus.CounterVec
	connsShed       prometheus.Counter
	pushPanics      *prometheus.CounterVec
	refusedSecrets  prometheus.Counter
	syncSkipped     *prometheus.CounterVec
	pushRechecks    *prometheus.CounterVec
	memoryReturned  prometheus.Counter
}

// pushBuckets span 1 ms to 60 s: a push on a healthy path takes a few
// milliseconds; tens of seconds means a poll cycle or a stuck IDLE.
var pushBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// requestBuckets cover ordinary commands (milliseconds) up to a Ping held
// for the longest heartbeat (3540 s).
var requestBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800, 3600}

// New creates the collectors and registers them, together with the Go
// runtime and process collectors, in a fresh registry.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "requests_total",
			Help: "ActiveSync requests by command and outcome (http_<code> when not 200, else eas_<status> or ok).",
		}, []string{"command", "status"}),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "request_duration_seconds",
			Help:    "Time to answer an ActiveSync request, by command (Ping includes the time it was parked).",
			Buckets: requestBuckets,
		}, []string{"command"}),
		parkedPings: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "parked_pings",
			Help: "Ping requests currently waiting for a change or their heartbeat.",
		}),
		activeWatchers: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "active_watchers",
			Help: "Users whose upstream watcher runs on this instance.",
		}),
		upstreamConns: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "upstream_connections",
			Help: "Open connections to upstream servers (IMAP sessions, IDLE included).",
		}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "upstream_reconnects_total",
			Help: "Upstream connections re-established after they were lost.",
		}),
		pushLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Name: "push_latency_seconds",
			Help:    "Time from an upstream change event to the answer of the Ping it woke.",
			Buckets: pushBuckets,
		}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "store_errors_total",
			Help: "State store operations that failed, by operation.",
		}, []string{"op"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "logins_total",
			Help: "Device authentications by result.",
		}, []string{"result"}),
		connsShed: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "connections_shed_total",
			Help: "New connections closed at accept because too many unauthenticated ones were open.",
		}),
		pushPanics: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "push_panics_total",
			Help: "Panics recovered in push goroutines (dispatcher, re-checks, watchers), by place.",
		}, []string{"where"}),
		refusedSecrets: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "upstream_login_refused_total",
			Help: "Upstream logins the provider refused with a stored app password (the operator must fix the user file).",
		}),
		syncSkipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "sync_messages_skipped_total",
			Help: "Messages a Sync could not fetch or convert: retry (a later Sync tries again) or given_up (sent as a placeholder).",
		}, []string{"outcome"}),
		pushRechecks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "push_rechecks_total",
			Help: "Re-checks of a parked device's mail folder, by what decided: version (the watcher's recorded upstream version equalled the device's, no upstream I/O) or upstream (asked the provider).",
		}, []string{"by"}),
		memoryReturned: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "memory_returned_total",
			Help: "Times the heap left free by a burst (devices parking, sessions closing) was returned to the OS after a quiet period.",
		}),
	}
	m.reg.MustRegister(
		m.requests, m.requestDuration, m.parkedPings, m.activeWatchers,
		m.upstreamConns, m.reconnects, m.pushLatency, m.storeErrors, m.logins, m.connsShed, m.pushPanics, m.refusedSecrets, m.syncSkipped, m.pushRechecks,
		m.memoryReturned,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Registry is the registry the collectors live in, for callers that add
// their own.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the exposition format for Prometheus to scrape.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		// A failing collector must not hide the others.
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// ObserveRequest records one finished ActiveSync request. cmd must already
// be bounded (a command-table name, "unknown", "OPTIONS", ...); easStatus
// is 0 when the command set none.
func (m *Metrics) ObserveRequest(cmd string, httpCode int, easStatus int, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(cmd, StatusLabel(httpCode, easStatus)).Inc()
	m.requestDuration.WithLabelValues(cmd).Observe(d.Seconds())
}

// StatusLabel folds an answer into a bounded label: "http_<code>" for a
// non-200 answer, "eas_<status>" for a 200 carrying an EAS Status other
// than 1 (success), "ok" otherwise. Out-of-range numbers become "other".
func StatusLabel(httpCode int, easStatus int) string {
	switch {
	case httpCode != http.StatusOK:
		if httpCode < 100 || httpCode > 599 {
			return "other"
		}
		return "http_" + strconv.Itoa(httpCode)
	case easStatus == 0 || easStatus == 1:
		return "ok"
	case easStatus < 0 || easStatus > 999:
		// Every status in MS-ASCMD is below 200; leave room, but bound it.
		return "other"
	default:
		return "eas_" + strconv.Itoa(easStatus)
	}
}

// PingParked adds delta (+1 when a Ping parks, -1 when it is answered).
func (m *Metrics) PingParked(delta int) {
	if m != nil {
		m.parkedPings.Add(float64(delta))
	}
}

// WatcherActive adds delta to the number of running upstream watchers.
func (m *Metrics) WatcherActive(delta int) {
	if m != nil {
		m.activeWatchers.Add(float64(delta))
	}
}

// UpstreamConns adds delta to the number of open upstream connections.
func (m *Metrics) UpstreamConns(delta int) {
	if m != nil {
		m.upstreamConns.Add(float64(delta))
	}
}

// ConnectionShed counts one new connection closed at accept (see
// httpserve's bound on unauthenticated connections).
func (m *Metrics) ConnectionShed() {
	if m != nil {
		m.connsShed.Inc()
	}
}

// UpstreamReconnect counts one re-established upstream connection.
func (m *Metrics) UpstreamReconnect() {
	if m != nil {
		m.reconnects.Inc()
	}
}

// StoredSecretRefused counts an upstream login refused with a stored app
// password.
func (m *Metrics) StoredSecretRefused() {
	if m != nil {
		m.refusedSecrets.Inc()
	}
}

// PushLatency records the time from an upstream event to the Ping answer.
func (m *Metrics) PushLatency(d time.Duration) {
	if m != nil {
		m.pushLatency.Observe(d.Seconds())
	}
}

// PushPanic counts a panic recovered in a push goroutine; where is one of
// the hub's fixed place names.
func (m *Metrics) PushPanic(where string) {
	if m != nil {
		m.pushPanics.WithLabelValues(where).Inc()
	}
}

// PushRecheck counts a parked device's re-check of a mail folder; by is
// "version" or "upstream" (bridge/mail's Recheck outcomes).
func (m *Metrics) PushRecheck(by string) {
	if m == nil {
		return
	}
	switch by {
	case "version", "upstream", "shared":
	default:
		by = "other"
	}
	m.pushRechecks.WithLabelValues(by).Inc()
}

// MemoryReturned counts one return of free heap to the OS (quietmem).
func (m *Metrics) MemoryReturned() {
	if m != nil {
		m.memoryReturned.Inc()
	}
}

// StoreError counts a failed store operation; op is a fixed name such as
// "commit" or "get_device", never a key.
func (m *Metrics) StoreError(op string) {
	if m != nil {
		m.storeErrors.WithLabelValues(op).Inc()
	}
}

// Login results for Login.
const (
	LoginOK        = "ok"
	LoginRejected  = "rejected"  // wrong password or unknown user
	LoginThrottled = "throttled" // refused by the failed-login back-off
	LoginError     = "error"     // the provider could not be asked
)

// Login counts a device authentication by result (one of the Login*
// constants; anything else is counted as "other" to keep labels bounded).
func (m *Metrics) Login(result string) {
	if m == nil {
		return
	}
	switch result {
	case LoginOK, LoginRejected, LoginThrottled, LoginError:
	default:
		result = "other"
	}
	m.logins.WithLabelValues(result).Inc()
}

// SyncSkipped counts a message a Sync could not fetch or convert, by
// outcome: "retry" or "given_up" (anything else counts as "other").
func (m *Metrics) SyncSkipped(outcome string) {
	if m == nil {
		return
	}
	switch outcome {
	case "retry", "given_up":
	default:
		outcome = "other"
	}
	m.syncSkipped.WithLabelValues(outcome).Inc()
}
