package davsync

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/upstream/dav"
)

// The merged contacts folder (issue 14): for a device that shows only
// one contacts folder (mergeBooks), every address book of the user's
// home as ONE type-9 folder.
//
// It is a folder of its own in the user's folder map, with the Ref
// {KindContacts, mergedPath}; the books keep their own Refs and IDs. The
// hierarchy lists both to the map on every FolderSync (so neither kind of
// device takes the other's IDs away: an iPhone beside a Samsung keeps its
// books, the Samsung its merged folder), and marks for each device the
// ones it does not see as Hidden. A device switched between modes (the
// user file's merge_books changed) is told by the next FolderSync to
// delete the old folders and add the new ones, so it never holds a card
// twice; a Sync of a folder hidden for the device answers Status 12
// (FolderSync needed). Stored IDs keep resolving: a book's ID names the
// book for every device as before.
//
// Its listing is an ordinary listing ("dav:<folderID>") whose entries are
// the cards of every book by full href; item IDs are "<folderID>:<hash of
// the href>" as everywhere, so unique across books and stable across
// Syncs. The change-ladder cursor is kept per book (metaToken/metaCTag
// "@" + book href), and one PROPFIND of the home per poll lists the books
// with their sync-token/getctag, so a book that did not move costs no
// further request. A card moved from one book to another upstream has a
// new href, so the device sees a Delete and an Add (a new ServerId):
// IDs are the href's hash, and the listing holds no UIDs to match the two
// without fetching every new card; the device ends with the card once.
const mergedPath = "*"

// mergedRef is the Ref of a user's merged contacts folder. Hrefs are
// paths or URLs, never "*", so it names no book.
func mergedRef() engine.Ref { return engine.Ref{Kind: engine.KindContacts, Path: mergedPath} }

func isMerged(ref engine.Ref) bool { return ref == mergedRef() }

// Listing Meta keys of the merged folder.
const (
	metaBooks   = "books"   // the books' hrefs, entrySep-separated, sorted
	metaDefault = "default" // the default book's href: where a device's Add goes
)

func bookKey(key, book string) string { return key + "@" + book }

// bookOf returns the book an href of the merged listing belongs to: the
// known book whose href is its prefix (the longest), else its parent
// collection (RFC 6352 5.2: address objects are members of their book).
func bookOf(meta map[string]string, href string) string {
	best := ""
	for _, b := range strings.Split(meta[metaBooks], entrySep) {
		if b != "" && strings.HasPrefix(href, b) && len(b) > len(best) {
			best = b
		}
	}
	if best != "" {
		return best
	}
	return href[:strings.LastIndex(href, "/")+1]
}

// pollMerged is poll for the merged folder: it lists the books of the
// home and polls each one that moved since its cursor.
func (c *core) pollMerged(ctx context.Context, ce *clientEntry, l *listing) (*edit, bool, error) {
	if ce == nil {
		return nil, false, errors.New("davsync: merged contacts polled without a client")
	}
	d, err := ce.discovery(ctx)
	if err != nil {
		return nil, false, err
	}
	var books []dav.Collection
	if d.AddressBookHome != "" {
		if books, err = ce.client.AddressBooks(ctx, d.AddressBookHome); err != nil {
			return nil, false, upstreamErr(err)
		}
	}
	slices.SortFunc(books, func(a, b dav.Collection) int { return strings.Compare(a.Href, b.Href) })
	ed := newEdit()
	meta := l.meta
	if l.exists && l.meta[metaHref] != mergedPath {
		// Not this folder's listing: start over.
		for _, e := range l.items {
			ed.del = append(ed.del, e.href)
		}
		meta = map[string]string{}
		ed.bump = true
	}
	ed.meta[metaHref] = mergedPath
	ed.meta[metaGone] = ""
	hrefs := make([]string, len(books))
	for i, b := range books {
		hrefs[i] = b.Href
	}
	// Books gone from the home take their cards with them.
	for _, b := range strings.Split(meta[metaBooks], entrySep) {
		if b == "" || slices.Contains(hrefs, b) {
			continue
		}
		for _, e := range l.items {
			if bookOf(meta, e.href) == b {
				ed.del = append(ed.del, e.href)
			}
		}
		ed.meta[bookKey(metaToken, b)], ed.meta[bookKey(metaCTag, b)] = "", ""
	}
	ed.meta[metaBooks] = strings.Join(hrefs, entrySep)
	ed.meta[metaDefault], ed.meta[metaOffered] = "", ""
	if def := defaultBook(books); def >= 0 {
		ed.meta[metaDefault] = books[def].Href
		ed.meta[metaOffered] = strings.Join(books[def].VCardVersions, ",")
	}
	truncated := false
	for _, b := range books {
		cur := dav.Cursor{SyncToken: meta[bookKey(metaToken, b.Href)], CTag: meta[bookKey(metaCTag, b.Href)]}
		if cur.SyncToken != "" && cur.SyncToken == b.SyncToken || cur.SyncToken == "" && cur.CTag != "" && cur.CTag == b.CTag {
			continue // the listing of the home says it did not move
		}
		snap := map[string]string{}
		for _, e := range l.items {
			if bookOf(meta, e.href) == b.Href {
				snap[e.href] = e.etag
			}
		}
		ch, err := ce.client.Poll(ctx, b.Href, cur, snap)
		if errors.Is(err, dav.ErrNotFound) {
			continue // deleted since the listing: the next poll drops it
		}
		if err != nil {
			return nil, false, upstreamErr(err)
		}
		if ch.TokenReset {
			c.opts.Log.Info("dav: sync token refused, listed the book once", "collection", b.Href, "folder", l.folderID)
		}
		ed.meta[bookKey(metaToken, b.Href)], ed.meta[bookKey(metaCTag, b.Href)] = ch.Next.SyncToken, ch.Next.CTag
		for href, etag := range ch.Changed {
			ed.set[href] = entry{etag: etag}
		}
		ed.del = append(ed.del, ch.Removed...)
		truncated = truncated || ch.Truncated
	}
	return ed, truncated, nil
}

// collectionOf is the collection that holds href: the folder's own, or
// for the merged folder the card's book.
func (j *job) collectionOf(l *listing, href string) string {
	if !isMerged(j.call.Ref) {
		return j.call.Ref.Path
	}
	return bookOf(l.meta, href)
}

// addTarget is the collection a device's Add goes to: the folder's own,
// or for the merged folder the default book (learnt by a poll, made now
// when the listing has none yet).
func (j *job) addTarget(ctx context.Context, l *listing) (string, error) {
	if !isMerged(j.call.Ref) {
		return j.call.Ref.Path, nil
	}
	if def := l.meta[metaDefault]; def != "" {
		return def, nil
	}
	fresh, _, err := j.c.refresh(ctx, j.ce, j.call.User, j.call.CollectionID, j.call.Ref)
	if err != nil {
		return "", err
	}
	if def := fresh.meta[metaDefault]; def != "" {
		return def, nil
	}
	return "", itemErr(errors.New("the user has no address book to add the contact to"))
}

// inDefault says whether href counts for the version tally of new cards:
// every object of an ordinary folder, the default book's in the merged
// one (a device's Add goes there).
func (j *job) inDefault(l *listing, href string) bool {
	return !isMerged(j.call.Ref) || bookOf(l.meta, href) == l.meta[metaDefault]
}

// hiddenFor says whether the contacts folder ref is one the device does
// not see: the books for a merged device, the merged folder for the
// others.
func hiddenFor(ref engine.Ref, merged bool) bool {
	return ref.Kind == engine.KindContacts && isMerged(ref) != merged
}
