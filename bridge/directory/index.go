package directory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/idlebridge/idlebridge/upstream/dav"
)

// errTooLarge: the book holds more cards than a local copy may.
var errTooLarge = errors.New("directory: address book too large for a local copy")

// index is the local copy of one address book for one user.
type index struct {
	user, href string
	class      bookClass
	// warmed is set once the copy was filled; read without mu, so a search
	// never waits behind the first (long) fill of the copy.
	warmed atomic.Bool

	mu        sync.Mutex // one refresh at a time; guards everything below
	cursor    dav.Cursor
	etags     map[string]string // href → ETag, the snapshot Poll diffs against
	records   map[string]*record
	refreshed time.Time // last successful refresh; zero: never (cold)
	used      time.Time
	sorted    []*record // records by sortKey; nil after a change
}

func newIndex(user, href string, class bookClass) *index {
	return &index{user: user, href: href, class: class, etags: map[string]string{}, records: map[string]*record{}}
}

// warm says whether the index has been filled once.
func (x *index) warm() bool { return x.warmed.Load() }

// refresh brings the copy up to date when it is older than fresh: one Poll
// (one sync-collection request when nothing changed) and a multiget of
// what changed. A card that cannot be read is logged and left out, never
// stalling the rest.
func (x *index) refresh(ctx context.Context, c *dav.Client, fresh time.Duration, maxCards int, log *slog.Logger) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	now := time.Now()
	x.used = now
	if !x.refreshed.IsZero() && now.Sub(x.refreshed) < fresh {
		return nil
	}
	for round := 0; ; round++ {
		ch, err := c.Poll(ctx, x.href, x.cursor, x.etags)
		if err != nil {
			return fmt.Errorf("directory: poll %s: %w", x.href, err)
		}
		if len(x.etags)+len(ch.Changed)-len(ch.Removed) > maxCards {
			return fmt.Errorf("%w: %s has more than %d cards", errTooLarge, x.href, maxCards)
		}
		for _, h := range ch.Removed {
			delete(x.etags, h)
			delete(x.records, h)
		}
		if len(ch.Changed) > 0 {
			hrefs := make([]string, 0, len(ch.Changed))
			for h := range ch.Changed {
				hrefs = append(hrefs, h)
			}
			sort.Strings(hrefs)
			objs, failed, err := c.MultiGet(ctx, x.href, dav.KindAddressBook, hrefs)
			if err != nil {
				return fmt.Errorf("directory: fetch %s: %w", x.href, err)
			}
			for _, o := range objs {
				x.etags[o.Href] = o.ETag
				r, err := parseRecord(o.Href, x.class, o.Data)
				if err != nil {
					log.Warn("directory: card skipped", "user", x.user, "book", x.href, "href", o.Href, "error", err)
					delete(x.records, o.Href)
					continue
				}
				x.records[o.Href] = r
			}
			for h, ferr := range failed {
				// Gone since the listing: the next Poll reports it removed.
				log.Debug("directory: card not fetched", "user", x.user, "book", x.href, "href", h, "error", ferr)
				delete(x.etags, h)
				delete(x.records, h)
			}
		}
		x.cursor = ch.Next
		if len(ch.Changed) > 0 || len(ch.Removed) > 0 {
			x.sorted = nil
		}
		if !ch.Truncated || round >= 100 {
			break
		}
	}
	x.refreshed = time.Now()
	x.warmed.Store(true)
	return nil
}

// search returns the matching records in display order.
func (x *index) search(ts []string) []*record {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.sorted == nil {
		x.sorted = make([]*record, 0, len(x.records))
		for _, r := range x.records {
			x.sorted = append(x.sorted, r)
		}
		sort.Slice(x.sorted, func(i, j int) bool { return x.sorted[i].sortKey < x.sorted[j].sortKey })
	}
	var out []*record
	for _, r := range x.sorted {
		if r.matches(ts) {
			out = append(out, r)
		}
	}
	return out
}
