package httpserve

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestHealthEndpoints(t *testing.T) {
	tests := []struct {
		name      string
		checks    []Check
		wantCode  int
		wantReady bool
	}{
		{"all ok", []Check{
			{Name: "store", Required: true, Run: func(context.Context) (string, error) { return "redis", nil }},
		}, 200, true},
		{"required fails", []Check{
			{Name: "store", Required: true, Run: func(context.Context) (string, error) { return "", errors.New("down") }},
			{Name: "users", Run: func(context.Context) (string, error) { return "2 users", nil }},
		}, 503, false},
		{"optional fails: still ready", []Check{
			{Name: "store", Required: true, Run: func(context.Context) (string, error) { return "", nil }},
			{Name: "upstream", Run: func(context.Context) (string, error) { return "", errors.New("timeout") }},
		}, 200, true},
		{"hung check is bounded", []Check{
			{Name: "store", Required: true, Run: func(ctx context.Context) (string, error) { <-ctx.Done(); return "", ctx.Err() }},
		}, 503, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := (&Health{Checks: tt.checks, Timeout: 100 * time.Millisecond}).Wrap(http.NotFoundHandler())

			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
			if rec.Code != 200 || rec.Body.String() != "ok\n" {
				t.Fatalf("/healthz = %d %q", rec.Code, rec.Body.String())
			}

			rec = httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
			if rec.Code != tt.wantCode {
				t.Fatalf("/readyz = %d, want %d: %s", rec.Code, tt.wantCode, rec.Body.String())
			}
			var body Readiness
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("/readyz body: %v", err)
			}
			if body.Ready != tt.wantReady || len(body.Checks) != len(tt.checks) {
				t.Fatalf("/readyz body = %+v", body)
			}
			for i, c := range body.Checks {
				if c.Name != tt.checks[i].Name || c.OK != (c.Error == "") {
					t.Errorf("check %d = %+v", i, c)
				}
			}

			rec = httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/other", nil))
			if rec.Code != 404 {
				t.Errorf("other paths must reach the wrapped handler, got %d", rec.Code)
			}
		})
	}
}

func TestCachedCheck(t *testing.T) {
	now := time.Unix(1000, 0)
	calls := 0
	run := Cached(time.Minute, func() time.Time { return now }, func(context.Context) (string, error) {
		calls++
		return "", nil
	})
	ctx := context.Background()
	run(ctx)
	now = now.Add(30 * time.Second)
	run(ctx)
	if calls != 1 {
		t.Fatalf("within the interval: %d runs, want 1", calls)
	}
	now = now.Add(31 * time.Second)
	run(ctx)
	if calls != 2 {
		t.Fatalf("after the interval: %d runs, want 2", calls)
	}
}
