package activesync

import (
	"context"
	"io"
	"time"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// The optional Backend interfaces below serve the item commands. The front
// parses and validates the protocol and builds the answer; the Backend
// knows folders and items. Command-specific failures are returned as
// CommandStatus errors carrying the command's own status code.

// Folder is one entry of the folder hierarchy (MS-ASCMD 2.2.3.x FolderSync).
type Folder struct {
	ServerID    string
	ParentID    string // "0" for the root
	DisplayName string
	Type        int // MS-ASCMD 2.2.3.186.3: 2 Inbox, 3 Drafts, 4 Deleted, 5 Sent, 6 Outbox, 12 user mail, ...
}

// Folder types (MS-ASCMD 2.2.3.186.3).
const (
	FolderUserGeneric  = 1
	FolderInbox        = 2
	FolderDrafts       = 3
	FolderDeletedItems = 4
	FolderSentItems    = 5
	FolderOutbox       = 6
	FolderTasks        = 7
	FolderCalendar     = 8
	FolderContacts     = 9
	FolderJunk         = 12 // there is no Junk type; junk is a user mail folder
	FolderUserMail     = 12
	FolderUserCalendar = 13
	FolderUserContacts = 14
	FolderUserTasks    = 15
)

// FolderChanges is what FolderSync returns.
type FolderChanges struct {
	SyncKey string
	Add     []Folder
	Update  []Folder
	Delete  []string
}

// FolderSyncer serves FolderSync, FolderCreate, FolderUpdate and
// FolderDelete. Sync keys are the hierarchy's; an unknown key is
// CommandStatus(FolderStatusBadKey) (MS-ASCMD 2.2.3.177.5).
type FolderSyncer interface {
	FolderSync(ctx context.Context, acct Account, deviceID, syncKey string) (*FolderChanges, error)
	FolderCreate(ctx context.Context, acct Account, deviceID, syncKey, parentID, name string, folderType int) (newKey, serverID string, err error)
	FolderUpdate(ctx context.Context, acct Account, deviceID, syncKey, serverID, parentID, name string) (newKey string, err error)
	FolderDelete(ctx context.Context, acct Account, deviceID, syncKey, serverID string) (newKey string, err error)
}

// BodyPreference is AirSyncBase:BodyPreference (MS-ASAIRS 2.2.2.7).
type BodyPreference struct {
	Type           int   // 1 plain, 2 HTML, 3 RTF, 4 MIME
	TruncationSize int64 // 0: none
	AllOrNone      bool
	Preview        int // characters, 0: none
}

// SyncOptions are the Options of a Sync collection (or of ItemOperations
// Fetch, or GetItemEstimate).
type SyncOptions struct {
	// Version is the request's protocol version (set by the front).
	Version        Version
	Class          string // "Email", "Calendar", "Contacts", "Tasks", "" unknown
	FilterType     int    // MS-ASCMD 2.2.3.70.1: 0 all, 1 one day, 2 three days, 3 a week, 4 two weeks, 5 a month, 6 three months, 7 six months, 8 incomplete tasks
	BodyPrefs      []BodyPreference
	MIMESupport    int // 0 never, 1 S/MIME, 2 always
	MIMETruncation int // 12.1 code, -1 when absent
	Conflict       int // 0 client wins, 1 server wins (default)
	MaxItems       int
}

// SyncCommand is one change a device sends in Sync Commands.
type SyncCommand struct {
	Kind     string // "Add", "Change", "Delete", "Fetch"
	ServerID string
	ClientID string
	Data     *wbxml.Element // AirSync:ApplicationData, nil for Delete/Fetch
	// InstanceID is the airsyncbase:InstanceId of a 16.x Change or Delete
	// (MS-ASCMD 2.2.3.24, 2.2.3.42.2): the original start, as a Compact
	// DateTime, of the one occurrence of a series the command is for.
	InstanceID string
}

// SyncCollection is one collection of a Sync request after the front has
// merged it with the device's cached request (partial Sync, 14.0+).
type SyncCollection struct {
	Version        Version
	CollectionID   string
	SyncKey        string
	GetChanges     bool
	WindowSize     int  // 1..512 after defaulting
	DeletesAsMoves bool // default true
	Options        SyncOptions
	Commands       []SyncCommand
	// MaxBytes bounds the item data of this collection's answer (as
	// DataSize counts it): what is left of the Sync answer's byte budget.
	// Items past it wait for the next Sync, with MoreAvailable. Negative:
	// the budget is spent, no item is sent, MoreAvailable tells whether
	// some wait; 0: no bound.
	MaxBytes int64
	// FirstItemFree: the answer holds no item yet, so the first item goes
	// even when it is larger than MaxBytes (alone), and no item is too
	// large ever to reach the device.
	FirstItemFree bool
	// Supported lists the class elements the device named in the
	// collection's Supported element (MS-ASCMD 2.2.3.179), by local name;
	// nil when it sent none, empty for an empty <Supported/>. Devices send
	// it with sync key 0; it says which absent elements of a later Change
	// mean "cleared" (listed) and which mean "not shown here, keep"
	// (ghosted: not listed).
	Supported []string
}

// SyncItem is a change the server sends (Add, Change, Delete, SoftDelete).
type SyncItem struct {
	Kind     string
	ServerID string
	Data     *wbxml.Element // ApplicationData for Add and Change
}

// SyncItemResponse answers one device command in Responses.
type SyncItemResponse struct {
	Kind     string // "Add", "Change", "Delete", "Fetch"
	ClientID string // Add
	ServerID string
	// InstanceID echoes the command's airsyncbase:InstanceId (MS-ASAIRS
	// 2.2.2.25: the server includes it beside the ServerId).
	InstanceID string
	Status     int            // MS-ASCMD 2.2.3.177.17: 1 ok, 6 error in item, 8 object not found
	Data       *wbxml.Element // Fetch
}

// SyncResult is the answer for one collection.
type SyncResult struct {
	Status        int // 1 ok; 3 invalid sync key; 8 not found; 12 hierarchy changed; ...
	SyncKey       string
	MoreAvailable bool
	Responses     []SyncItemResponse
	Commands      []SyncItem
}

// Syncer serves Sync for item collections.
type Syncer interface {
	SyncCollection(ctx context.Context, acct Account, deviceID string, c *SyncCollection) (*SyncResult, error)
}

// Estimator serves GetItemEstimate: how many changes the next Sync would
// bring. Statuses (MS-ASCMD 2.2.3.177.7): 2 invalid collection, 3 sync
// state not primed, 4 invalid sync key.
type Estimator interface {
	Estimate(ctx context.Context, acct Account, deviceID, collectionID, syncKey string, opts SyncOptions) (int, error)
}

// Move is one MoveItems entry.
type Move struct {
	SrcMsgID, SrcFldID, DstFldID string
}

// MoveResult answers one Move (MS-ASCMD 2.2.3.177.10: 1 invalid source,
// 2 invalid destination, 3 success, 4 same folder, 5 failure, 7 locked).
type MoveResult struct {
	Status   int
	DstMsgID string
}

// Mover serves MoveItems.
type Mover interface {
	MoveItems(ctx context.Context, acct Account, deviceID string, moves []Move) ([]MoveResult, error)
}

// ItemFetcher serves ItemOperations Fetch of an item and of an attachment,
// GetAttachment, and EmptyFolderContents.
type ItemFetcher interface {
	// FetchItem returns the item's properties (the children of
	// ItemOperations:Properties, i.e. what ApplicationData holds in Sync).
	// A Fetch by the LongId of a Search result (MailboxHit.LongID) comes
	// with collectionID empty and the LongId as serverID.
	FetchItem(ctx context.Context, acct Account, deviceID, collectionID, serverID string, opts SyncOptions) (*wbxml.Element, error)
	// OpenAttachment returns an attachment's decoded content by
	// FileReference (14+) or AttachmentName (12.x). Not found:
	// CommandStatus(ItemOpsStatusNotFound) for ItemOperations (MS-ASCMD 2.2.3.177.8). size is
	// the exact decoded size, or 0 when the Backend cannot know it without
	// decoding (the front then counts before a multipart answer).
	OpenAttachment(ctx context.Context, acct Account, deviceID, fileRef string) (contentType string, size int64, r io.ReadCloser, err error)
	// EmptyFolder deletes every item of a folder.
	EmptyFolder(ctx context.Context, acct Account, deviceID, collectionID string, deleteSubfolders bool) error
}

// CommandStatus is an error carrying a command's own status code, which is
// valid in every protocol version (unlike the common codes).
func CommandStatus(code int, msg string) error {
	return &Error{Status: Status(code), Command: true, Msg: msg}
}

// OutgoingMail is a message a device asks the bridge to send: SendMail,
// SmartReply or SmartForward (MS-ASCMD 2.2.1.17, 2.2.1.20, 2.2.1.19).
type OutgoingMail struct {
	Kind        string // "SendMail", "SmartReply", "SmartForward"
	ClientID    string // 14.0+: the device's ID for this send, for idempotence
	MIME        []byte // the RFC 5322 message as the device composed it
	SaveInSent  bool
	ReplaceMime bool // SmartReply/Forward: MIME is complete, do not add the original
	// Source names the original of a SmartReply/SmartForward.
	SourceFolderID, SourceItemID, SourceLongID, SourceInstanceID string
}

// Sender serves SendMail, SmartReply and SmartForward. Failures are
// CommandStatus errors with the common status codes these commands use
// (MS-ASCMD 2.2.2), e.g. 120 MailSubmissionFailed, 150 ItemNotFound.
type Sender interface {
	Send(ctx context.Context, acct Account, deviceID string, m *OutgoingMail) error
}

// PingFolder is one folder of a Ping request.
type PingFolder struct {
	ID    string
	Class string
}

// Pinger parks a Ping (MS-ASCMD 2.2.1.13) or a hanging Sync. Ping
// registers the wait and returns at once; from then on done is called
// exactly once, from any goroutine (possibly before Ping returns), with
// the IDs of the folders that have changes for this device, or with none
// when the heartbeat elapsed, stop was called, or a newer request of the
// device superseded this one. Changes that happened before the call
// (between the device's last Sync and this Ping) count.
//
// ctx bounds the registration only: a parked Ping outlives the HTTP
// handler that started it (the front may hand its connection back and
// keep no goroutine while it waits). When Ping returns an error, done is
// never called; CommandStatus(PingStatusFolderSync) means no known folder is left to watch.
type Pinger interface {
	Ping(ctx context.Context, acct Account, deviceID string, folders []PingFolder, heartbeat time.Duration,
		done func(changed []string, err error)) (stop func(), err error)
}

// RequestObserver, when the Backend implements it, is told about every
// authenticated request of a device before it runs (cmd is the command
// name), so a newer Ping or Sync can end the device's parked one and any
// request can keep the user's watchers alive.
type RequestObserver interface {
	DeviceRequest(acct Account, deviceID, cmd string)
}
