package davsync

import (
	"context"
	"errors"
	"maps"
	"strconv"
	"strings"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/upstream/dav"
)

// Fetch loads the objects of one window by multiget (in batches) and
// converts them for the device, within the byte budget. An object that
// vanished since the listing is skipped (the next Sync's diff deletes
// it); one that does not convert is skipped and counted per ETag, and
// after GiveUpAfter failures it is returned with nil Data: recorded on
// the device's view at that ETag, never sent, so it stops coming back
// until someone edits it.
func (j *job) Fetch(ctx context.Context, ids []string, b engine.Budget) ([]engine.Item, []string, bool, error) {
	if j.cl == nil {
		return nil, ids, false, nil
	}
	l, err := j.listing(ctx, false)
	if err != nil {
		return nil, nil, false, err
	}
	// One multiget per collection: the merged contacts folder's cards
	// live in several books, and a multiget names hrefs of its own
	// collection only (RFC 6352 8.7).
	byColl := map[string][]string{}
	var colls []string
	for _, id := range ids {
		if e, ok := l.items[id]; ok && !e.foreign {
			coll := j.collectionOf(l, e.href)
			if _, seen := byColl[coll]; !seen {
				colls = append(colls, coll)
			}
			byColl[coll] = append(byColl[coll], e.href)
		}
	}
	var objs []dav.Object
	failed := map[string]error{}
	for _, coll := range colls {
		got, fails, err := j.cl.MultiGet(ctx, coll, j.it.Collection(), byColl[coll])
		if err != nil {
			return nil, nil, false, collectionErr(err)
		}
		objs = append(objs, got...)
		maps.Copy(failed, fails)
	}
	byHref := make(map[string]*dav.Object, len(objs))
	for i := range objs {
		byHref[objs[i].Href] = &objs[i]
	}
	var out []engine.Item
	var skipped []string
	var used int64
	bad := newEdit()
	cut := false
	for _, id := range ids {
		e, ok := l.items[id]
		if !ok || e.foreign {
			skipped = append(skipped, id)
			continue
		}
		obj := byHref[e.href]
		if obj == nil {
			if ferr := failed[e.href]; ferr != nil && !errors.Is(ferr, dav.ErrNotFound) {
				j.log.Warn("dav: object not fetched", "item", id, "href", e.href, "err", ferr)
			}
			skipped = append(skipped, id)
			continue
		}
		el, cerr := j.it.Encode(obj.Data, j.call)
		if cerr != nil {
			n := j.failures(l, id, obj.ETag) + 1
			bad.meta[metaBad+id] = obj.ETag + " " + strconv.Itoa(n)
			if n >= j.c.opts.GiveUpAfter {
				j.log.Error("dav: object does not convert; given up, recorded unsent until it changes", "item", id, "href", e.href, "etag", obj.ETag, "tries", n, "err", cerr)
				out = append(out, engine.Item{ServerID: id, Version: obj.ETag})
				continue
			}
			j.log.Warn("dav: object does not convert; skipped", "item", id, "href", e.href, "tries", n, "err", cerr)
			skipped = append(skipped, id)
			continue
		}
		size := activesync.DataSize(el)
		if b.MaxBytes < 0 || b.MaxBytes > 0 && used+size > b.MaxBytes && !(len(out) == 0 && b.FirstItemFree) {
			cut = true
			break
		}
		used += size
		out = append(out, engine.Item{ServerID: id, Version: obj.ETag, Data: el, Size: size})
	}
	var datas [][]byte
	for i := range objs {
		if j.inDefault(l, objs[i].Href) {
			datas = append(datas, objs[i].Data)
		}
	}
	j.learnVersion(l, datas, bad)
	if len(bad.meta) > 0 {
		if _, _, err := updateListing(ctx, j.c.opts.Store, j.call.User, j.call.CollectionID, func(*listing) (*edit, error) { return bad, nil }); err != nil {
			j.log.Warn("dav: failed conversions or format version not recorded", "err", err)
		}
	}
	return out, skipped, cut, nil
}

// failures is how often this version of the object failed to convert.
func (j *job) failures(l *listing, id, etag string) int {
	v, ok := l.meta[metaBad+id]
	if !ok {
		return 0
	}
	tag, n, _ := strings.Cut(v, " ")
	if tag != etag {
		return 0
	}
	k, _ := strconv.Atoi(n)
	return k
}
