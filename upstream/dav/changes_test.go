package dav

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

// follower is what a caller keeps per collection: the cursor and the
// href → ETag snapshot the ladder's answers are applied to.
type follower struct {
	t    *testing.T
	c    *Client
	coll string
	cur  Cursor
	snap map[string]string
}

func (f *follower) poll() *Changes {
	f.t.Helper()
	ch, err := f.c.Poll(ctxT(f.t), f.coll, f.cur, f.snap)
	if err != nil {
		f.t.Fatalf("poll: %v", err)
	}
	for h, e := range ch.Changed {
		f.snap[h] = e
	}
	for _, h := range ch.Removed {
		delete(f.snap, h)
	}
	f.cur = ch.Next
	return ch
}

// truth lists the collection directly.
func truth(t *testing.T, c *Client, coll string) map[string]string {
	t.Helper()
	list, _, err := c.List(ctxT(t), coll)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func wantChanges(t *testing.T, ch *Changes, rung Rung, changed map[string]string, removed []string) {
	t.Helper()
	if ch.Rung != rung {
		t.Errorf("rung %v, want %v", ch.Rung, rung)
	}
	if !maps.Equal(ch.Changed, changed) {
		t.Errorf("changed %v, want %v", ch.Changed, changed)
	}
	if !slices.Equal(ch.Removed, removed) && len(ch.Removed)+len(removed) > 0 {
		t.Errorf("removed %v, want %v", ch.Removed, removed)
	}
}

func TestLadderSyncCollection(t *testing.T) {
	c, w, home := radicale(t)
	ctx := ctxT(t)
	cal := newCalendar(t, c, home, "cal")
	etags := map[string]string{}
	for i := range 3 {
		h := fmt.Sprintf("%s%d.ics", cal, i)
		e, err := c.Create(ctx, h, ContentCalendar, event(fmt.Sprintf("l-%d", i), "x"))
		if err != nil {
			t.Fatal(err)
		}
		etags[h] = e
	}
	f := &follower{t: t, c: c, coll: cal, snap: map[string]string{}}

	// First poll: one listing, which also yields the token.
	w.reset()
	ch := f.poll()
	wantChanges(t, ch, RungListing, etags, nil)
	if f.cur.SyncToken == "" || f.cur.CTag == "" || w.requests.Load() != 1 {
		t.Fatalf("after first poll cursor %+v, %s", f.cur, w)
	}

	// Nothing changed: one small sync-collection request.
	w.reset()
	ch = f.poll()
	wantChanges(t, ch, RungSyncCollection, map[string]string{}, nil)
	t.Logf("empty poll (sync-collection): %s", w)
	if w.requests.Load() != 1 || w.sent.Load()+w.got.Load() > 2048 {
		t.Errorf("empty poll cost %s, want 1 request of at most 2 KB", w)
	}

	// Add one and delete one: the count stays 3, the ladder still sees both.
	add := cal + "new.ics"
	e, err := c.Create(ctx, add, ContentCalendar, event("l-new", "new"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, cal+"0.ics", etags[cal+"0.ics"]); err != nil {
		t.Fatal(err)
	}
	ch = f.poll()
	wantChanges(t, ch, RungSyncCollection, map[string]string{add: e}, []string{cal + "0.ics"})

	// Two edits within one second, a poll after each: both are seen.
	one := cal + "1.ics"
	e1, err := c.Update(ctx, one, etags[one], ContentCalendar, event("l-1", "edit 1"))
	if err != nil {
		t.Fatal(err)
	}
	wantChanges(t, f.poll(), RungSyncCollection, map[string]string{one: e1}, nil)
	e2, err := c.Update(ctx, one, e1, ContentCalendar, event("l-1", "edit 2"))
	if err != nil {
		t.Fatal(err)
	}
	wantChanges(t, f.poll(), RungSyncCollection, map[string]string{one: e2}, nil)
	// Two edits between polls: reported once, with the last ETag.
	e3, _ := c.Update(ctx, one, e2, ContentCalendar, event("l-1", "edit 3"))
	e4, err := c.Update(ctx, one, e3, ContentCalendar, event("l-1", "edit 4"))
	if err != nil {
		t.Fatal(err)
	}
	wantChanges(t, f.poll(), RungSyncCollection, map[string]string{one: e4}, nil)

	if !maps.Equal(f.snap, truth(t, c, cal)) {
		t.Fatalf("snapshot %v drifted from the server %v", f.snap, truth(t, c, cal))
	}
}

// TestLadderStaleToken: a token the server no longer knows costs one
// listing, reports exactly what changed (no unchanged object as an Add
// again) and the next poll climbs back to sync-collection.
func TestLadderStaleToken(t *testing.T) {
	c, w, home := radicale(t)
	ctx := ctxT(t)
	cal := newCalendar(t, c, home, "cal")
	keep := cal + "keep.ics"
	gone := cal + "gone.ics"
	ek, err := c.Create(ctx, keep, ContentCalendar, event("s-keep", "keep"))
	if err != nil {
		t.Fatal(err)
	}
	eg, err := c.Create(ctx, gone, ContentCalendar, event("s-gone", "gone"))
	if err != nil {
		t.Fatal(err)
	}
	f := &follower{t: t, c: c, coll: cal, snap: map[string]string{keep: ek, gone: eg}}
	// A token Radicale never issued (or expired: max_sync_token_age).
	f.cur = Cursor{SyncToken: "http://radicale.org/ns/sync/0000000000000000000000000000000000000000000000000000000000000000"}
	if err := c.Delete(ctx, gone, eg); err != nil {
		t.Fatal(err)
	}
	add := cal + "add.ics"
	ea, err := c.Create(ctx, add, ContentCalendar, event("s-add", "add"))
	if err != nil {
		t.Fatal(err)
	}

	w.reset()
	ch := f.poll()
	if !ch.TokenReset {
		t.Error("TokenReset not set")
	}
	wantChanges(t, ch, RungListing, map[string]string{add: ea}, []string{gone})
	if n := w.requests.Load(); n != 2 {
		t.Errorf("stale token cost %d requests, want 2 (refused REPORT + one listing)", n)
	}
	if f.cur.SyncToken == "" {
		t.Fatal("listing gave no new token")
	}
	ch = f.poll()
	wantChanges(t, ch, RungSyncCollection, map[string]string{}, nil)
}

// TestLadderCTag drives the getctag rung (servers without sync-collection):
// unchanged is one Depth 0 PROPFIND; a change costs one listing.
func TestLadderCTag(t *testing.T) {
	c, w, home := radicale(t)
	ctx := ctxT(t)
	cal := newCalendar(t, c, home, "cal")
	a := cal + "a.ics"
	ea, err := c.Create(ctx, a, ContentCalendar, event("c-a", "a"))
	if err != nil {
		t.Fatal(err)
	}
	ctag, _, err := c.CTag(ctx, cal)
	if err != nil || ctag == "" {
		t.Fatalf("ctag %q, %v", ctag, err)
	}
	f := &follower{t: t, c: c, coll: cal, cur: Cursor{CTag: ctag}, snap: map[string]string{a: ea}}

	w.reset()
	ch, err := c.Poll(ctx, cal, Cursor{CTag: ctag}, f.snap)
	if err != nil {
		t.Fatal(err)
	}
	wantChanges(t, ch, RungCTag, map[string]string{}, nil)
	t.Logf("empty poll (getctag): %s", w)
	if w.requests.Load() != 1 || w.sent.Load()+w.got.Load() > 2048 {
		t.Errorf("empty ctag poll cost %s", w)
	}

	// Two edits within a second, polled on the ctag rung each time (the
	// token the ctag rung returns is dropped to stay on this rung).
	for i := range 2 {
		e, err := c.Update(ctx, a, f.snap[a], ContentCalendar, event("c-a", fmt.Sprintf("edit %d", i)))
		if err != nil {
			t.Fatal(err)
		}
		w.reset()
		ch := f.poll()
		wantChanges(t, ch, RungListing, map[string]string{a: e}, nil)
		if w.requests.Load() != 2 {
			t.Errorf("changed ctag poll: %s, want 2 requests", w)
		}
		f.cur.SyncToken = ""
	}

	// Listing rung alone (no token, no ctag): add + delete, same count.
	b := cal + "b.ics"
	eb, err := c.Create(ctx, b, ContentCalendar, event("c-b", "b"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, a, f.snap[a]); err != nil {
		t.Fatal(err)
	}
	f.cur = Cursor{}
	w.reset()
	ch = f.poll()
	wantChanges(t, ch, RungListing, map[string]string{b: eb}, []string{a})
	t.Logf("listing of 1 object: %s", w)
}

func TestPollStopsOnRateLimit(t *testing.T) {
	c := canned(t, 429, map[string]string{"Retry-After": "30"}, "")
	_, err := c.Poll(context.Background(), "/cal/", Cursor{SyncToken: "t"}, nil)
	var se *StatusError
	if !errors.Is(err, ErrRateLimited) || !errors.As(err, &se) || se.RetryAfter != 30*time.Second {
		t.Fatalf("poll: %v, want ErrRateLimited with Retry-After 30s", err)
	}
}

func (w *wire) reset() { w.requests.Store(0); w.sent.Store(0); w.got.Store(0) }

// TestSyncCollectionTruncated: RFC 6578 3.6 lets a server answer part of
// the changes, marking the request-URI 507; the caller must poll again.
func TestSyncCollectionTruncated(t *testing.T) {
	c := canned(t, 207, nil, `<?xml version="1.0"?><d:multistatus xmlns:d="DAV:">
<d:response><d:href>/cal/a.ics</d:href><d:propstat><d:prop><d:getetag>"1"</d:getetag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
<d:response><d:href>/cal/b.ics</d:href><d:status>HTTP/1.1 404 Not Found</d:status></d:response>
<d:response><d:href>/cal/</d:href><d:status>HTTP/1.1 507 Insufficient Storage</d:status></d:response>
<d:sync-token>http://example/sync/2</d:sync-token></d:multistatus>`)
	ch, err := c.Poll(context.Background(), "/cal/", Cursor{SyncToken: "http://example/sync/1", CTag: "c1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !ch.Truncated || ch.Empty() || ch.Next.SyncToken != "http://example/sync/2" || ch.Next.CTag != "c1" {
		t.Fatalf("got %+v", ch)
	}
	wantChanges(t, ch, RungSyncCollection, map[string]string{"/cal/a.ics": `"1"`}, []string{"/cal/b.ics"})
}

// TestLadderAddressBook: the same ladder on CardDAV, and the hrefs it
// reports fetched with addressbook-multiget (sync-collection gives no
// card data).
func TestLadderAddressBook(t *testing.T) {
	c, _, home := radicale(t)
	ctx := ctxT(t)
	book := home + "book/"
	if err := c.MakeAddressBook(ctx, book, "Book"); err != nil {
		t.Fatal(err)
	}
	a := book + "a.vcf"
	ea, err := c.Create(ctx, a, ContentVCard, card("ab-a", "Alice"))
	if err != nil {
		t.Fatal(err)
	}
	f := &follower{t: t, c: c, coll: book, snap: map[string]string{}}
	wantChanges(t, f.poll(), RungListing, map[string]string{a: ea}, nil)

	b := book + "b.vcf"
	eb, err := c.Create(ctx, b, ContentVCard, card("ab-b", "Bob"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, a, ea); err != nil {
		t.Fatal(err)
	}
	ch := f.poll()
	wantChanges(t, ch, RungSyncCollection, map[string]string{b: eb}, []string{a})
	objs, failed, err := c.MultiGet(ctx, book, KindAddressBook, slices.Collect(maps.Keys(ch.Changed)))
	if err != nil || len(failed) != 0 || len(objs) != 1 || objs[0].ETag != eb || !strings.Contains(string(objs[0].Data), "FN:Bob") {
		t.Fatalf("multiget of the changes: %+v %v %v", objs, failed, err)
	}
}
