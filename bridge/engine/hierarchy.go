package engine

import (
	"context"

	"github.com/idlebridge/idlebridge/bridge/accounts"
)

// Client is the device a request comes from, for sources whose answer
// depends on the client family (contacts merged into one folder for apps
// that show only one).
type Client struct {
	DeviceID, DeviceType, UserAgent string
}

// Folder is one collection a hierarchy source offers. The folder map
// gives it its collection ID; the parent is named by Ref too (zero Ref:
// the root).
type Folder struct {
	Ref         Ref
	Parent      Ref
	DisplayName string
	Type        int // activesync.Folder* (MS-ASCMD 2.2.3.186.3)
	// Hidden: the folder is not shown to this client, but stays in the
	// user's folder map, so the user's other devices keep its ID (the
	// address books, which a device that shows one contacts folder sees
	// merged into one, are listed for it hidden, and the merged folder
	// for every other device).
	Hidden bool
}

// Hierarchy is a source of folders for FolderSync. Each source owns the
// refs of its Kinds in the user's folder map: a listing replaces the map's
// entries of those kinds only. A source whose upstream cannot be reached
// returns an error; FolderSync then keeps that source's folders as the
// device knows them (a CalDAV outage must not delete the device's
// calendars) and serves the others.
type Hierarchy interface {
	Kinds() []Kind
	Folders(ctx context.Context, p *accounts.Principal, c Client) ([]Folder, error)
}

// Served is a Hierarchy that can tell, without upstream I/O, whom it
// lists folders for (a calendar source serves only users with a CalDAV
// server). For everyone else it lists nothing, and the push hub does not
// poll it for them.
type Served interface {
	Serves(p *accounts.Principal) bool
}

// FolderEditor is a Hierarchy that creates, renames and deletes its
// folders for FolderCreate/FolderUpdate/FolderDelete. folderType is the
// device's requested type; parent is the zero Ref for the root.
type FolderEditor interface {
	CreateFolder(ctx context.Context, p *accounts.Principal, parent Ref, name string, folderType int) (Ref, error)
	RenameFolder(ctx context.Context, p *accounts.Principal, ref Ref, name string) (Ref, error)
	DeleteFolder(ctx context.Context, p *accounts.Principal, ref Ref) error
}

// FolderTree is a FolderEditor whose folders nest upstream, so an edit
// reaches below the folder edited (IMAP mailboxes: RENAME carries the
// inferiors along, a folder is deleted with its children). The bridge
// calls MoveFolder and DeleteTree in place of RenameFolder and
// DeleteFolder, and passes CreateFolder's parent whatever its kind (a
// tree refuses a parent it does not hold; other editors get the zero
// Ref for a parent of another kind).
type FolderTree interface {
	FolderEditor
	// MoveFolder renames ref to name under parent (the zero Ref: the
	// root) and returns the folder as the next listing will show it. The
	// tree updates the folder map itself, since the refs of every folder
	// below ref change with it.
	MoveFolder(ctx context.Context, p *accounts.Principal, ref, parent Ref, name string) (Folder, error)
	// DeleteTree deletes ref and every folder below it and returns the
	// refs deleted, ref's own included; the bridge drops them from the
	// folder map.
	DeleteTree(ctx context.Context, p *accounts.Principal, ref Ref) ([]Ref, error)
}

// Watcher watches a user's collections of its kinds upstream while the
// user is active (IMAP IDLE/NOTIFY/STATUS for mail, the DAV change ladder
// for calendars and contacts). Watch starts the watch and returns at once
// (the hub calls it from the user's watch loop); the watch runs in its
// own goroutines until ctx ends, calling changed
// with the collection ID of every collection that changed upstream; the
// push hub then re-checks the parked devices (HasChanges), which must not
// need upstream I/O for a source whose watcher records what it saw. The
// hub calls Update when the watched set or the credentials change.
type Watcher interface {
	Kinds() []Kind
	Watch(ctx context.Context, p *accounts.Principal, folders map[string]Ref, changed func(collectionID string)) WatchHandle
}

// WatchHandle is one running watch.
type WatchHandle interface {
	// Update replaces the watched collections and credentials.
	Update(p *accounts.Principal, folders map[string]Ref)
}
