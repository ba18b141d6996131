// Package engine is the class-independent sync engine: sync keys and the
// resent-key rule, the device's view of a collection (committed snapshot
// plus the pending delta it proved it received), windowing of a plan across
// Delete, SoftDelete, Change and Add with MoreAvailable, the atomic commit,
// estimates and "has changes" for Ping.
//
// An item class plugs in as a Source (mail over IMAP, calendar and tasks
// over CalDAV, contacts over CardDAV). A source plans with IDs and versions
// only, fetches the items of one window, and applies the device's commands;
// the engine owns every decision about keys and state. Optional abilities
// (moving items, emptying a folder) are further interfaces a Job may
// implement, found by type assertion as go-imap v2 does.
//
// The engine knows the store and the protocol's types; it imports nothing
// of IMAP, DAV or any upstream.
package engine
