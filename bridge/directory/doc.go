// Package directory answers the address questions a phone asks its
// Exchange server: Search of the global address list (MS-ASCMD 2.2.1.16,
// activesync.GALSearcher) and ResolveRecipients (2.2.1.15,
// activesync.RecipientResolver), over CardDAV address books and CalDAV
// free-busy.
//
// Where the GAL lives is configuration (bridge/accounts GAL: the user
// file's gal:, else the domain file's, else the user's own address
// books). How it is searched:
//
//   - by the server: addressbook-query text-match (RFC 6352 8.6) on FN, N,
//     EMAIL, NICKNAME and ORG. Servers are weak here: Radicale 3.1.8
//     answers 500 to a text-match on N or ORG (then the query is retried
//     on FN, EMAIL and NICKNAME alone) and ignores limits; SOGo and OX are
//     known to answer without matching.
//   - locally: a copy of the book's cards reduced to what a GAL entry
//     shows (no photos), kept per user and book, refreshed through the
//     change ladder (upstream/dav Poll: one sync-collection request when
//     nothing changed) at most every Options.Fresh, dropped after
//     Options.Idle unused. Matching is case-insensitive: every word of the
//     query must occur in one of the fields above.
//
// In the default mode (auto) a user's first search asks the server (on
// FN, EMAIL and NICKNAME where it refuses N and ORG) and builds the local
// copy behind it; later searches use the copy, so ranges and totals are
// stable and every field matches whatever the server's text-match can do.
// A server that cannot query at all is searched locally at once. Photos are fetched only for the entries in the answer, by one
// multiget, and re-encoded under the device's MaxSize (bridge/cardconv).
//
// The package reaches DAV servers only through the clients the Resolver
// hands it (the bridge's, carrying the request's credentials); it keeps no
// credentials of its own.
package directory
