// Package dav talks CalDAV (RFC 4791) and CardDAV (RFC 6352) to a user's
// provider on behalf of the bridge: discovery (RFC 6764 well-known and SRV,
// current-user-principal, calendar and address book home sets), listing
// calendars and address books with what a folder list needs, change
// detection as a ladder a caller drives per collection (Poll), a time-range
// listing for windowed initial syncs (ListRange) and ETag-only listings by
// component or property (ListMatching), fetching by
// multiget in batches, conditional writes, and making, renaming and
// deleting collections.
//
// It knows nothing of ActiveSync, iCalendar or vCard contents: objects go
// in and out as bytes with their href and ETag. It builds on go-webdav
// (the HEAD pseudo-version that has CalDAV SyncCollection) for SRV lookup
// and principal discovery, sending through the same bounded request path as
// the rest; what go-webdav lacks is done here with small XML requests and
// one multistatus parser:
//
//   - conditional PUT/DELETE (go-webdav sends neither If-Match nor
//     If-None-Match) and status-typed errors (its error type is internal);
//   - getctag, calendar-color, current-user-privilege-set and
//     supported-report-set, read in one PROPFIND with the collection list;
//   - a multiget that reports a missing href per href (v0.7.0 fails the
//     whole call on one 404);
//   - MKCALENDAR and extended MKCOL (go-webdav's Mkdir is a plain MKCOL).
//
// Limits:
//
//   - Every request is bounded by Config.Timeout and every response body
//     by Config.MaxResponseBytes (ErrResponseTooLarge); bodies are read
//     whole, so a listing of a very large collection needs a bound to
//     match (a Depth 1 getetag listing costs about 150 bytes per object).
//   - Redirects are followed only by Discover for /.well-known, to the same
//     host and never from https to http; credentials go to nowhere else.
//   - Hrefs are compared as canonical escaped paths ("%40" and "@" alike);
//     an href on another host is refused.
//   - No WebDAV-Push subscription, no free-busy or scheduling (RFC 6638)
//     yet; a caller polls.
//   - SRV discovery (LookupSRV) uses the system resolver and TLS records
//     only; it is not covered by tests (no DNS server on loopback).
//
// Errors are *StatusError for HTTP error statuses, matching the sentinel
// errors (ErrPrecondition, ErrConflict, ...) with errors.Is; transport
// errors are wrapped with the operation and href, and a timeout matches
// context.DeadlineExceeded. A Client is safe for concurrent use.
package dav
