package dav

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"strings"
)

// Cursor is what a caller stores per collection between polls. The zero
// Cursor means "never polled": the first Poll lists the collection.
type Cursor struct {
	SyncToken string // RFC 6578 token; "" when the server offers none
	CTag      string // CalendarServer getctag; "" when the server offers none
}

// Rung names the method of the change-detection ladder that answered.
type Rung int

const (
	RungSyncCollection Rung = iota + 1 // REPORT sync-collection with the stored token
	RungCTag                           // PROPFIND Depth 0 getctag: unchanged
	RungListing                        // PROPFIND Depth 1 getetag, diffed against the snapshot
)

func (r Rung) String() string {
	switch r {
	case RungSyncCollection:
		return "sync-collection"
	case RungCTag:
		return "getctag"
	case RungListing:
		return "etag-listing"
	}
	return "unknown"
}

// Changes is what changed in a collection since the caller's Cursor.
type Changes struct {
	Changed map[string]string // href → ETag of objects added or modified
	Removed []string          // hrefs gone from the collection (sorted)
	Next    Cursor            // store this (with the caller's updated snapshot) for the next poll
	Rung    Rung
	// Truncated: the server answered only part of the changes (RFC 6578
	// 3.6); poll again with Next at once.
	Truncated bool
	// TokenReset: the stored sync token was refused (ErrInvalidSyncToken)
	// and the answer came from one listing instead.
	TokenReset bool
}

// Empty says nothing changed.
func (c *Changes) Empty() bool { return len(c.Changed) == 0 && len(c.Removed) == 0 && !c.Truncated }

// Poll finds what changed in the collection coll since cur, cheapest way
// first:
//
//  1. with a sync token: REPORT sync-collection (RFC 6578), one request
//     whose answer holds only the changes;
//  2. else with a ctag: PROPFIND Depth 0 getctag, one small request that
//     says whether anything changed;
//  3. else, or when the ctag moved, or when the server refused the token
//     (403/409 DAV:valid-sync-token): one PROPFIND Depth 1 listing of
//     every href's ETag, diffed against snapshot.
//
// The listing also reads the collection's sync-token and getctag, so the
// next Poll climbs back to the cheapest rung the server offers. snapshot is
// the caller's href → ETag map for the collection as of cur (it is only
// read, and only on rung 3); an object that changed twice between polls is
// reported once, with its latest ETag.
func (c *Client) Poll(ctx context.Context, coll string, cur Cursor, snapshot map[string]string) (*Changes, error) {
	if cur.SyncToken != "" {
		ch, err := c.SyncCollection(ctx, coll, cur.SyncToken)
		if err == nil {
			if ch.Next.CTag == "" {
				ch.Next.CTag = cur.CTag
			}
			return ch, nil
		}
		if !errors.Is(err, ErrInvalidSyncToken) {
			return nil, err
		}
		ch, err = c.listingChanges(ctx, coll, snapshot)
		if ch != nil {
			ch.TokenReset = true
		}
		return ch, err
	}
	if cur.CTag != "" {
		ctag, token, err := c.CTag(ctx, coll)
		if err != nil {
			return nil, err
		}
		if ctag != "" && ctag == cur.CTag {
			// Unchanged since the snapshot, so the token read now (if the
			// server has one) is valid for it: climb to rung 1.
			return &Changes{Changed: map[string]string{}, Next: Cursor{SyncToken: token, CTag: ctag}, Rung: RungCTag}, nil
		}
	}
	return c.listingChanges(ctx, coll, snapshot)
}

func (c *Client) listingChanges(ctx context.Context, coll string, snapshot map[string]string) (*Changes, error) {
	list, next, err := c.List(ctx, coll)
	if err != nil {
		return nil, err
	}
	ch := &Changes{Changed: map[string]string{}, Next: next, Rung: RungListing}
	for href, etag := range list {
		if old, ok := snapshot[href]; !ok || old != etag || etag == "" {
			ch.Changed[href] = etag
		}
	}
	for href := range snapshot {
		if _, ok := list[href]; !ok {
			ch.Removed = append(ch.Removed, href)
		}
	}
	sort.Strings(ch.Removed)
	return ch, nil
}

// SyncCollection asks for the changes since token (RFC 6578 3.2; "" asks
// for every member, 3.4). Members come back with their ETag; removed ones
// as a 404 response (3.5.2).
func (c *Client) SyncCollection(ctx context.Context, coll, token string) (*Changes, error) {
	body := `<?xml version="1.0" encoding="utf-8"?>
<d:sync-collection xmlns:d="DAV:"><d:sync-token>` + escapeText(token) + `</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>`
	ms, err := c.report(ctx, "sync-collection", "REPORT", coll, "", body)
	if err != nil {
		return nil, err
	}
	ch := &Changes{Changed: map[string]string{}, Next: Cursor{SyncToken: ms.SyncToken}, Rung: RungSyncCollection}
	self := normHref(coll)
	for i := range ms.Responses {
		r := &ms.Responses[i]
		href := r.href()
		code := statusCode(r.Status)
		if !under(self, href) {
			// RFC 6578 3.6: a 507 on the request-URI means "truncated".
			if code == http.StatusInsufficientStorage {
				ch.Truncated = true
			}
			continue
		}
		if code == http.StatusNotFound {
			ch.Removed = append(ch.Removed, href)
			continue
		}
		ch.Changed[href] = r.found().ETag
	}
	sort.Strings(ch.Removed)
	if ch.Next.SyncToken == "" {
		// A server that answers without a token cannot continue the
		// sync; keep the old one rather than drop to a listing forever.
		ch.Next.SyncToken = token
	}
	return ch, nil
}

// CTag reads the collection's getctag and sync-token (PROPFIND Depth 0).
func (c *Client) CTag(ctx context.Context, coll string) (ctag, syncToken string, err error) {
	const body = `<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:cs="http://calendarserver.org/ns/"><d:prop><cs:getctag/><d:sync-token/></d:prop></d:propfind>`
	ms, err := c.propfind(ctx, "getctag", coll, "0", body)
	if err != nil {
		return "", "", err
	}
	for i := range ms.Responses {
		p := ms.Responses[i].found()
		if p.CTag != "" || p.SyncToken != "" {
			return p.CTag, p.SyncToken, nil
		}
	}
	return "", "", nil
}

// List reads every member's ETag (PROPFIND Depth 1) with the collection's
// sync-token and getctag from the same answer.
func (c *Client) List(ctx context.Context, coll string) (map[string]string, Cursor, error) {
	const body = `<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:cs="http://calendarserver.org/ns/"><d:prop><d:resourcetype/><d:getetag/><d:sync-token/><cs:getctag/></d:prop></d:propfind>`
	ms, err := c.propfind(ctx, "list", coll, "1", body)
	if err != nil {
		return nil, Cursor{}, err
	}
	self := normHref(coll)
	list := make(map[string]string, len(ms.Responses))
	var cur Cursor
	for i := range ms.Responses {
		r := &ms.Responses[i]
		p := r.found()
		href := r.href()
		if !under(self, href) {
			cur = Cursor{SyncToken: p.SyncToken, CTag: p.CTag}
			continue
		}
		if p.isType(nsDAV, "collection") || statusCode(r.Status) == http.StatusNotFound {
			continue
		}
		list[href] = p.ETag
	}
	return list, cur, nil
}

// under says whether href lies inside the collection coll (both escaped
// paths); used to ignore the collection's own response in listings.
func under(coll, href string) bool {
	coll = strings.TrimSuffix(coll, "/") + "/"
	return strings.HasPrefix(href, coll) && len(href) > len(coll)
}
