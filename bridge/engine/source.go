package engine

import (
	"context"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/bridge/accounts"
	"github.com/idlebridge/idlebridge/bridge/state"
)

// Call is one collection of one request, as a source sees it.
type Call struct {
	Principal    *accounts.Principal // the user and the upstream credentials of this request
	User         string              // canonical address (the store's user key)
	DeviceID     string
	DeviceType   string // DeviceType query parameter, when known
	UserAgent    string
	CollectionID string
	Ref          Ref // what CollectionID names upstream
	Options      activesync.SyncOptions
	// Sync is the collection of the Sync request being answered (its
	// WindowSize, DeletesAsMoves, Commands); nil outside Sync.
	Sync *activesync.SyncCollection
	// Header is the stored collection header (nil: no state yet) and Role
	// how the presented key relates to it.
	Header *state.Collection
	Role   Role
	// Store is the bridge's store, for sources that keep per-user state
	// (a DAV listing, an item ID map) beside the per-device snapshot.
	Store state.Store
	// Cached is set by HasChanges (Ping): plan from what the source's
	// watcher recorded, without upstream I/O. A source that keeps no such
	// record ignores it.
	Cached bool
}

// Meta returns the stored collection Meta (never nil).
func (c *Call) Meta() map[string]string {
	if c.Header == nil || c.Header.Meta == nil {
		return map[string]string{}
	}
	return c.Header.Meta
}

// Source is one item class's upstream. Open starts the work of one
// request on one collection (a mail source takes one IMAP session from
// the pool for it); the engine closes the Job when the request is done.
type Source interface {
	Open(ctx context.Context, c *Call) (Job, error)
}

// Job is one request's work on one collection.
type Job interface {
	// Reset starts the collection over (sync key 0) and returns the Meta
	// to store with key "1" (e.g. the mailbox's UIDVALIDITY).
	Reset(ctx context.Context) (map[string]string, error)
	// Apply carries out the device's Add, Change and Delete commands
	// upstream. It returns one response per command that needs one
	// (MS-ASCMD 2.2.3.177.17: an Add always; Change and Delete on failure)
	// and what the device now holds because of them (server ID → version;
	// deleted IDs in Del), so the next Sync does not echo them back. Fetch
	// commands are answered by the engine through Fetch.
	Apply(ctx context.Context, cmds []activesync.SyncCommand) ([]activesync.SyncItemResponse, *state.Delta, error)
	// Plan computes what the device lacks, from IDs and versions only.
	// view reads what the device holds (the device view, with this
	// request's Applied folded in).
	Plan(ctx context.Context, view View) (*Plan, error)
	// Fetch returns the items of one window, in the order asked, within
	// the byte budget. An item that cannot be fetched or converted is left
	// out of items and named in skipped (the engine does not record it, so
	// a later Sync tries again; the source decides when to give up: it
	// then returns the item with nil Data, which the engine records in the
	// device's view at Version without sending it, so a permanently broken
	// object stops coming back). cut is true when the budget stopped it
	// before the end.
	Fetch(ctx context.Context, ids []string, b Budget) (items []Item, skipped []string, cut bool, err error)
	// Close ends the job; err is the request's outcome (a source returns
	// a broken connection to its pool).
	Close(err error)
}

// View is the device's view of the collection.
type View interface {
	// All returns every server ID the device holds with its version.
	All(ctx context.Context) (map[string]string, error)
	// Get returns the versions of the given IDs (absent: not on the device).
	Get(ctx context.Context, ids []string) (map[string]string, error)
}

// Plan is what the next Sync would send, with versions.
type Plan struct {
	// Unchanged: nothing upstream moved since Meta; nothing to send.
	Unchanged   bool
	Deletes     []string          // gone upstream
	SoftDeletes []string          // still upstream, out of the filter window
	Changes     []string          // on the device with another version; sent as Change with data
	Adds        []string          // not on the device; in the order to send them (newest first)
	Versions    map[string]string // version of every ID in Changes and Adds
	// Meta is the source state to store when the whole plan reached the
	// device; MetaPartial when a window cut it (the changes still owed
	// must be found again next time). Nil keeps the stored Meta.
	Meta, MetaPartial map[string]string
}

// Count is how many changes the plan carries (GetItemEstimate).
func (p *Plan) Count() int {
	return len(p.Deletes) + len(p.SoftDeletes) + len(p.Changes) + len(p.Adds)
}

// Budget bounds one window's item data.
type Budget struct {
	// MaxBytes is what is left of the answer's byte budget; 0: no bound,
	// negative: spent (no item goes).
	MaxBytes int64
	// FirstItemFree: the first item goes even when larger than MaxBytes.
	FirstItemFree bool
}

// Item is one converted item for the device.
type Item struct {
	ServerID string
	Version  string         // what the snapshot records for it
	Data     *wbxml.Element // AirSync:ApplicationData; nil: record only, never sent (see Job.Fetch)
	Size     int64          // encoded size, for the budget
}

// Mover is a Job that moves items to another collection of the same kind
// (MoveItems). It returns the item's new server ID.
type Mover interface {
	Move(ctx context.Context, serverID string, dst Ref, dstCollectionID string) (newID string, err error)
}

// Emptier is a Job that deletes every item of its collection
// (ItemOperations EmptyFolderContents).
type Emptier interface {
	Empty(ctx context.Context, deleteSubfolders bool) error
}
