package davsync

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
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

// TestHierarchyOutage: a CalDAV server that cannot be reached is an error
// for FolderSync (the bridge then keeps the device's calendar folders),
// never an empty list that would delete them; a user without CalDAV has
// no calendar folders and no error.
func TestHierarchyOutage(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/"
	srv.Close() // nothing listens there any more
	class := CalendarClass(Options{Timeout: 2 * time.Second})
	p := &accounts.Principal{User: &accounts.User{Address: "down@example.com", CalDAV: url}, Upstream: accounts.Credentials{Username: "down", Password: "x"}}
	fs, err := class.Hierarchy.Folders(context.Background(), p, engine.Client{})
	if err == nil || !errors.Is(err, activesync.ErrUnavailable) {
		t.Fatalf("Folders of an unreachable server = %v, %v; want a retryable error", fs, err)
	}
	p.User.CalDAV = ""
	if fs, err := class.Hierarchy.Folders(context.Background(), p, engine.Client{}); err != nil || len(fs) != 0 {
		t.Fatalf("Folders without CalDAV = %v, %v", fs, err)
	}
}
