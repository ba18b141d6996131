package state

import (
	"context"
	"slices"
	"time"
)

// Watches keeps, per user, which folders the parked requests on each
// bridge instance wait on. The instance holding the user's watch lease
// watches the union over all instances (a tablet's Ping parked on B is
// woken by the watcher running on A), so the set lives in the store, not
// in one process.
//
// Each (user, instance) entry carries its own deadline: the instance
// rewrites it while its requests stay parked, and an instance that dies
// stops doing so, so its entry lapses by itself. Readers ignore lapsed
// entries; writers prune them.
type Watches interface {
	// SetWatched replaces instance's entry for user with folders, valid
	// until until. Empty folders (or a deadline already past) remove it.
	SetWatched(ctx context.Context, user, instance string, folders []string, until time.Time) error
	// SetWatchedBatch is SetWatched for many users' entries of one
	// instance at once: the periodic renewals of a busy instance cost one
	// store transaction (one commit and sync on the embedded store)
	// rather than one per user. On error some entries may be written.
	SetWatchedBatch(ctx context.Context, instance string, entries []WatchedEntry) error
	// Watched returns the union of the user's entries still valid at now,
	// sorted, without duplicates.
	Watched(ctx context.Context, user string, now time.Time) ([]string, error)
	// WatchedMany is Watched for many users at once, in one store round
	// trip: the lease holder re-reads the union of every watched user
	// every few ticks, and one call per user was a round trip per user
	// at rest. out[i] is users[i]'s union.
	WatchedMany(ctx context.Context, users []string, now time.Time) (out [][]string, err error)
}

// WatchedEntry is one user's entry for SetWatchedBatch, with the meaning
// of SetWatched's arguments.
type WatchedEntry struct {
	User    string
	Folders []string
	Until   time.Time
}

// watchEntry is one instance's entry as the engines encode it.
type watchEntry struct {
	Folders []string `json:"f"`
	Until   int64    `json:"u"` // unix milliseconds
}

// unionWatched merges entries valid at now.
func unionWatched(entries []watchEntry, now time.Time) []string {
	var out []string
	for _, e := range entries {
		if e.Until > now.UnixMilli() {
			out = append(out, e.Folders...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
