// Package imap talks IMAP to a user's mail provider on behalf of the bridge:
// dialing and logging in (Dial, CheckLogin), folder listing with special-use
// mapping, mailbox status, UID searches, cheap CONDSTORE flag diffs,
// streaming body fetches, flag stores, moves, appends, a bounded per-user
// connection Pool and an IDLE Watcher for push.
//
// It knows nothing of ActiveSync. It wraps go-imap v2 (beta.8) and keeps its
// types out of the API. Design limits inherited from that client:
//
//   - QRESYNC is never enabled: a VANISHED response would close the
//     connection. Deletions are found by comparing UID lists (SearchUIDs).
//   - The client has no read timeout while waiting for a reply, so every
//     wait here is bounded by the caller's context and Config.CommandTimeout;
//     when either ends, the connection is closed and the Session is broken.
//   - Unilateral FETCH updates may arrive out of order; the Watcher only
//     uses them as a "something changed" signal.
//
// A Session is not safe for concurrent use: one goroutine at a time (the
// Pool hands each Session to one holder).
package imap
