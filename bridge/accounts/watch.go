package accounts

import (
	"context"
	"fmt"
	"time"

	"github.com/fsnotify/fsnotify"
)

// watchDebounce gathers the burst of events one save produces (editors write
// a temporary file, rename it, chmod it) into a single rescan.
const watchDebounce = 200 * time.Millisecond

// Watch follows changes to the users directory and reloads it when files are
// added, changed or removed. It blocks until ctx ends, then returns nil; it
// returns an error only when watching cannot start.
//
// Every burst of events triggers a rescan of the whole directory rather than
// of the named files: Kubernetes ConfigMap/Secret mounts update by swapping a
// "..data" symlink, so the events never name the user files themselves. A
// rescan parses only files whose content changed.
func (d *Directory) Watch(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watching users directory: %w", err)
	}
	defer w.Close()
	if err := w.Add(d.dir); err != nil {
		return fmt.Errorf("watching users directory %s: %w", d.dir, err)
	}
	// Catch what changed between OpenDirectory and the watch starting.
	d.reload(ctx)

	timer := time.NewTimer(watchDebounce)
	timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			d.log.Debug("users directory event", "event", ev.String())
			timer.Reset(watchDebounce)
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			// Typically an event-queue overflow: changes may have been lost,
			// so rescan anyway.
			d.log.Warn("watching users directory", "error", err)
			timer.Reset(watchDebounce)
		case <-timer.C:
			d.reload(ctx)
		}
	}
}

func (d *Directory) reload(ctx context.Context) {
	if err := d.rescan(ctx); err != nil && ctx.Err() == nil {
		// The directory itself is unreadable: keep serving the last good set.
		d.log.Error("reloading users directory; keeping the users loaded before", "error", err)
	}
}
