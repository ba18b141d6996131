package httpserve

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// Check is one readiness check.
type Check struct {
	Name string
	// Required checks make /readyz answer 503 when they fail; the others
	// are reported in the body only (a problem an operator should see but
	// that sending traffic elsewhere would not fix).
	Required bool
	// Run reports the state; detail says what was found, err what is wrong.
	Run func(ctx context.Context) (detail string, err error)
}

// CheckResult is one check in the /readyz body.
type CheckResult struct {
	Name     string `json:"name"`
	OK       bool   `json:"ok"`
	Required bool   `json:"required"`
	Detail   string `json:"detail,omitempty"`
	Error    string `json:"error,omitempty"`
}

// Readiness is the /readyz body.
type Readiness struct {
	Ready  bool          `json:"ready"`
	Checks []CheckResult `json:"checks"`
}

// defaultCheckTimeout bounds every check, so a hung dependency makes
// /readyz say so instead of hanging the load balancer's probe.
const defaultCheckTimeout = 3 * time.Second

// Health serves /healthz (the process answers: 200 "ok") and /readyz (the
// checks, as JSON; 503 when a required one fails).
type Health struct {
	Checks []Check
	// Timeout bounds each check; 0 means 3 s.
	Timeout time.Duration
}

// Mount adds both endpoints to mux.
func (h *Health) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", serveAlive)
	mux.HandleFunc("GET /readyz", h.serveReady)
}

// Wrap returns a handler serving the health endpoints and passing every
// other path to next.
func (h *Health) Wrap(next http.Handler) http.Handler {
	mux := http.NewServeMux()
	h.Mount(mux)
	mux.Handle("/", next)
	return mux
}

func serveAlive(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok\n"))
}

// Run runs every check (one after the other: there are few, and each is
// bounded by Timeout).
func (h *Health) Run(ctx context.Context) Readiness {
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = defaultCheckTimeout
	}
	out := Readiness{Ready: true, Checks: make([]CheckResult, 0, len(h.Checks))}
	for _, c := range h.Checks {
		cctx, cancel := context.WithTimeout(ctx, timeout)
		detail, err := c.Run(cctx)
		cancel()
		r := CheckResult{Name: c.Name, OK: err == nil, Required: c.Required, Detail: detail}
		if err != nil {
			r.Error = err.Error()
			if c.Required {
				out.Ready = false
			}
		}
		out.Checks = append(out.Checks, r)
	}
	return out
}

func (h *Health) serveReady(w http.ResponseWriter, r *http.Request) {
	res := h.Run(r.Context())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if !res.Ready {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(res)
}

// Cached wraps a check so it runs at most once per interval; requests in
// between get the last result. For checks that cost something on the other
// side (a connection to the provider), since probes come every few seconds.
func Cached(interval time.Duration, now func() time.Time, run func(ctx context.Context) (string, error)) func(ctx context.Context) (string, error) {
	c := &cachedCheck{interval: interval, now: now, run: run}
	return c.get
}

type cachedCheck struct {
	interval time.Duration
	now      func() time.Time
	run      func(ctx context.Context) (string, error)

	mu     sync.Mutex
	at     time.Time
	detail string
	err    error
}

func (c *cachedCheck) get(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() && c.now().Sub(c.at) < c.interval {
		return c.detail, c.err
	}
	c.detail, c.err = c.run(ctx)
	c.at = c.now()
	return c.detail, c.err
}
