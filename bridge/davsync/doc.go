// Package davsync serves calendars and task lists over CalDAV (and, on the
// same core, address books over CardDAV) as sources of the sync engine
// (bridge/engine).
//
// The core is class-independent:
//
//   - one dav.Client per user and credentials, cached and bounded
//     (clients.go), with the user's discovered homes;
//   - a listing per (user, folder) kept in the store under
//     state.UserScope (collection "dav:<folderID>"): item ID → ETag and
//     href, with the change-ladder cursor (sync token, ctag) in its Meta
//     (listing.go). It is refreshed with dav.Client.Poll: one small
//     request when nothing moved; a refused token costs one ETag listing,
//     diffed, so no duplicate Adds and every deletion seen;
//   - item server IDs "<folderID>:<hash of the href>", stable across polls
//     and devices (ids.go);
//   - Plan = diff(listing, device view), from IDs and ETags only; a device
//     view recorded complete at the listing's version is Plan.Unchanged
//     without looking further (plan.go);
//   - the watcher polls the watched folders' listings and calls changed
//     when one moved, so Ping's HasChanges plans from the store alone
//     (watch.go).
//
// An item class (Items) adds what is particular to it: the component it
// holds (a mixed calendar's VEVENTs form a calendar folder, its VTODOs a
// tasks folder), the initial window by FilterType, and the conversion
// both ways with calconv (calendar.go, tasks.go). Device edits are
// patches on the stored object (calconv.Merge), written with If-Match; an
// Add is PUT with If-None-Match at a name derived from its UID, so a
// resent Add finds its object and updates it instead of duplicating it.
//
// A further class (contacts over CardDAV) is an Items (Collection
// dav.KindAddressBook, Component "") on a core of its own service
// (newCore(opts, serviceCardDAV, ...)), with a hierarchy of address books
// from the discovery's AddressBookHome; source, listing, plan, fetch,
// apply, move and watcher are shared as they are.
//
// For apps that show one contacts folder, every address book is also
// offered merged into one folder (merged.go, the family rule in
// onefolder.go); the hierarchy hides from each device the shape it does
// not see.
//
// WebDAV-Push is not used: the test server (Radicale) does not offer it,
// and a bridge behind NAT could rarely receive it; the watcher polls.
package davsync
