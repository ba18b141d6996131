package davsync

import (
	"context"
	"errors"
	"hash/fnv"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/accounts"
	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/upstream/dav"
)

// watcher is the engine.Watcher of a DAV class: it polls the watched
// folders' collections with the change ladder (one small request each
// when nothing moved), stores what it saw in their listings, and calls
// changed when a listing's version moved — by its own poll or by anyone
// else's write (a device's Sync, another device's Add), so every parked
// device gets re-checked; the re-check plans from the store alone.
//
// The interval is short while the user is active (a request from any of
// their devices within ActiveFor: an edit on their laptop is likely then)
// and long otherwise. Users start staggered over the short interval, and
// a server answering 429/503 is left alone for its Retry-After (at least
// the interval), doubling up to maxBackoff while it keeps failing.
type watcher struct{ c *core }

const maxBackoff = 5 * time.Minute

func (w watcher) Kinds() []engine.Kind { return slices.Collect(maps.Keys(w.c.items)) }

func (w watcher) Watch(ctx context.Context, p *accounts.Principal, folders map[string]engine.Ref, changed func(string)) engine.WatchHandle {
	h := &watch{c: w.c, changed: changed, seen: map[string]string{}}
	h.Update(p, folders)
	go h.run(ctx)
	return h
}

type watch struct {
	c       *core
	changed func(string)

	mu      sync.Mutex
	p       *accounts.Principal
	folders map[string]engine.Ref

	seen map[string]string // folder ID → listing version last announced (run goroutine only)
}

func (h *watch) Update(p *accounts.Principal, folders map[string]engine.Ref) {
	h.mu.Lock()
	h.p, h.folders = p, maps.Clone(folders)
	h.mu.Unlock()
}

func (h *watch) state() (*accounts.Principal, map[string]engine.Ref) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.p, h.folders
}

func (h *watch) run(ctx context.Context) {
	p, _ := h.state()
	user := principalOf(p)
	t := time.NewTimer(stagger(user, h.c.opts.PollActive))
	defer t.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		next, err := h.pollOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			failures++
			back := min(h.c.opts.PollActive<<min(failures, 10), maxBackoff)
			var se *dav.StatusError
			if errors.As(err, &se) && se.RetryAfter > back {
				back = min(se.RetryAfter, 24*time.Hour)
			}
			next = max(next, back)
			h.c.opts.Log.Warn("dav watch: poll failed; backing off", "user", user, "wait", next, "failures", failures, "err", err)
		} else {
			failures = 0
		}
		t.Reset(next)
	}
}

// pollOnce refreshes every watched folder of the classes and announces
// the ones whose listing moved. It returns the interval to wait and the
// error that should make the watcher back off (429/503 or an unreachable
// server); other failures are logged per folder.
func (h *watch) pollOnce(ctx context.Context) (time.Duration, error) {
	p, folders := h.state()
	user := principalOf(p)
	interval := h.c.opts.PollIdle
	if h.c.activeUser(ctx, user) {
		interval = h.c.opts.PollActive
	}
	var ids []string
	for id, ref := range folders {
		if _, ok := h.c.items[ref.Kind]; ok {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return interval, nil
	}
	slices.Sort(ids)
	ce, err := h.c.clients.get(p, h.c.svc)
	if err != nil {
		return interval, err
	}
	// A mixed calendar is two folders (events, tasks) of one collection,
	// each with its own listing and token. When one poll found nothing
	// since token T, a sibling whose listing is also at T has nothing
	// either: one request per collection, not per folder.
	quiet := map[string]string{} // collection href → sync token a poll just found unchanged
	for _, id := range ids {
		ref := folders[id]
		var l *listing
		var err error
		if tok, ok := quiet[ref.Path]; ok {
			if l, err = loadListing(ctx, h.c.opts.Store, user, id); err == nil && (l.meta[metaToken] != tok || l.meta[metaHref] != ref.Path) {
				l = nil
			}
		}
		if l == nil && err == nil {
			var changed bool
			before := ""
			if pl, perr := loadListing(ctx, h.c.opts.Store, user, id); perr == nil {
				before = pl.meta[metaToken]
			}
			l, changed, err = h.c.refresh(ctx, ce, user, id, ref)
			if err == nil && !changed && before != "" && l.meta[metaToken] == before {
				quiet[ref.Path] = before
			}
		}
		if err != nil {
			if errors.Is(err, engine.ErrGone) {
				// The hub learns it from the re-check (Status 7 or 12).
				h.changed(id)
				continue
			}
			if errors.Is(err, activesync.ErrUnavailable) {
				return interval, err // the server (or the store) is down: back off
			}
			h.c.opts.Log.Warn("dav watch: folder not polled", "user", user, "collection", id, "err", err)
			continue
		}
		if v := l.version(); v != h.seen[id] {
			h.seen[id] = v
			if v != "" {
				h.changed(id)
			}
		}
	}
	return interval, nil
}

// stagger spreads users' first polls over the short interval by a hash
// of the address, so a restart does not poll every user at once.
func stagger(user string, over time.Duration) time.Duration {
	if over <= 0 {
		return 0
	}
	f := fnv.New64a()
	f.Write([]byte(user))
	return time.Duration(f.Sum64() % uint64(over))
}
