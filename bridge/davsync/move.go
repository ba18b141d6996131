package davsync

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/upstream/dav"
)

// Move moves an object to another folder of the same kind (MoveItems
// between calendars): PUT a copy there with If-None-Match, then DELETE
// the original with If-Match. When the delete fails the copy is removed
// again, so a failed move never leaves the event twice.
func (j *job) Move(ctx context.Context, serverID string, dst engine.Ref, dstCollectionID string) (string, error) {
	if j.cl == nil {
		return "", errors.New("davsync: move without upstream credentials")
	}
	if dst.Kind != j.call.Ref.Kind {
		return "", activesync.CommandStatus(activesync.MoveStatusBadDest, "destination holds another item class")
	}
	if isMerged(dst) || isMerged(j.call.Ref) {
		// The merged folder is every book at once: a device that sees it
		// has no other contacts folder, and a book's card is already in it.
		return "", activesync.CommandStatus(activesync.MoveStatusBadDest, "the merged contacts folder takes no moves")
	}
	if dst.Path == j.call.Ref.Path {
		return "", activesync.CommandStatus(activesync.MoveStatusSameFolder, "source and destination are the same collection")
	}
	l, err := j.listing(ctx, false)
	if err != nil {
		return "", err
	}
	e, ok := l.items[serverID]
	if !ok || e.foreign {
		return "", activesync.CommandStatus(activesync.MoveStatusBadSource, "no such item")
	}
	obj, err := j.get(ctx, l, e.href)
	if err != nil {
		return "", upstreamErr(err)
	}
	if obj == nil {
		return "", activesync.CommandStatus(activesync.MoveStatusBadSource, "item gone upstream")
	}
	newHref := strings.TrimSuffix(dst.Path, "/") + "/" + path.Base(e.href)
	etag, err := j.cl.Create(ctx, newHref, j.it.ContentType(), obj.Data)
	if err != nil {
		if errors.Is(err, dav.ErrPrecondition) || errors.Is(err, dav.ErrConflict) || errors.Is(err, dav.ErrForbidden) {
			return "", activesync.CommandStatus(activesync.MoveStatusFailed, fmt.Sprintf("destination refused the object: %v", err))
		}
		return "", upstreamErr(err)
	}
	if err := j.cl.Delete(ctx, e.href, obj.ETag); err != nil && !errors.Is(err, dav.ErrNotFound) {
		if rerr := j.cl.Delete(ctx, newHref, etag); rerr != nil {
			j.log.Error("dav: move failed and its copy could not be removed; the object is in both collections", "from", e.href, "to", newHref, "err", rerr)
		}
		if errors.Is(err, dav.ErrPrecondition) || errors.Is(err, dav.ErrForbidden) {
			return "", activesync.CommandStatus(activesync.MoveStatusFailed, fmt.Sprintf("source refused the delete: %v", err))
		}
		return "", upstreamErr(err)
	}
	src := newEdit()
	src.del = []string{e.href}
	if _, _, err := updateListing(ctx, j.c.opts.Store, j.call.User, j.call.CollectionID, func(*listing) (*edit, error) { return src, nil }); err != nil {
		return "", err
	}
	j.l = nil
	var newID string
	_, _, err = updateListing(ctx, j.c.opts.Store, j.call.User, dstCollectionID, func(dl *listing) (*edit, error) {
		ed := newEdit()
		ed.set[newHref] = entry{etag: etag}
		ed.meta[metaHref] = dst.Path
		newID = itemID(dstCollectionID, newHref, func(id string) bool { _, taken := dl.items[id]; return taken })
		if id, ok := dl.byHref[newHref]; ok {
			newID = id
		}
		return ed, nil
	})
	if err != nil {
		return "", err
	}
	return newID, nil
}
