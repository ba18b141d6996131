package davsync

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/bridge/accounts"
	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/bridge/state"
)

// TestWatcherBacksOff: a DAV server answering 503 with Retry-After is
// left alone for that long, whatever the poll interval: over 1.5 s with
// a 20 ms interval and Retry-After: 1 the watcher asks at most a few
// times, where it would otherwise have asked about 75 times.
func TestWatcherBacksOff(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Retry-After", "1")
		http.Error(w, "busy", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	st, err := state.OpenEmbedded(filepath.Join(t.TempDir(), "s.db"), state.EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	class := CalendarClass(Options{Store: st, PollActive: 20 * time.Millisecond, PollIdle: 20 * time.Millisecond})
	p := &accounts.Principal{User: &accounts.User{Address: "busy@example.com", CalDAV: srv.URL + "/"}, Upstream: accounts.Credentials{Username: "busy", Password: "x"}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	class.Watcher.Watch(ctx, p, map[string]engine.Ref{"5": {Kind: engine.KindCalendar, Path: "/busy/cal/"}}, func(string) {
		t.Error("a failing server announced a change")
	})
	deadline := time.Now().Add(10 * time.Second)
	for hits.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if hits.Load() == 0 {
		t.Fatal("the watcher never polled")
	}
	time.Sleep(1500 * time.Millisecond)
	if n := hits.Load(); n > 3 {
		t.Errorf("%d requests within 1.5 s of a 503 with Retry-After: 1", n)
	}
}
