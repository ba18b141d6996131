package activesync

import (
	"context"
	"time"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// GALQuery is a Search of the global address list (MS-ASCMD 2.2.1.16,
// Store Name "GAL"), or the GAL side of Find (16.1).
type GALQuery struct {
	Text string // the Query text the user typed
	// RangeStart and RangeEnd (inclusive, zero-based) pick the entries to
	// return; the front defaults them to 0-99.
	RangeStart, RangeEnd int
	// Picture: the device asked for pictures (the Picture option, an empty
	// <Picture/> included); MaxPictureSize bounds each picture in bytes (0:
	// no bound) and MaxPictures how many entries carry one (0: no bound).
	Picture        bool
	MaxPictureSize int
	MaxPictures    int
}

// GALPicture is an entry's picture (MS-ASCMD 2.2.3.135.2): Status is one
// of the Search picture statuses (PictureStatus*, 173–175), Data set when
// Status is OK.
type GALPicture struct {
	Status int
	Data   []byte
}

// GALEntry is one result of a GAL search (the GAL code page, MS-ASCMD
// 2.2.3.x): any field may be empty.
type GALEntry struct {
	DisplayName, Phone, Office, Title, Company, Alias string
	FirstName, LastName, HomePhone, MobilePhone       string
	EmailAddress                                      string
	Picture                                           *GALPicture // nil: none asked or none held
}

// GALResult is the answer: the entries of the asked range and the total
// number that matched.
type GALResult struct {
	Total   int
	Entries []GALEntry
}

// GALSearcher serves Search of the GAL (and Find's GAL queries). A query
// the directory refuses is CommandStatus with a Search status.
type GALSearcher interface {
	SearchGAL(ctx context.Context, acct Account, deviceID string, q *GALQuery) (*GALResult, error)
}

// MailboxCriteria is what a mailbox Search (or Find) matches. Every field
// that is set must match; Any adds alternatives of which at least one must
// match (the query's Or).
type MailboxCriteria struct {
	// FreeText terms must each appear somewhere in the message (header or
	// body): the words of the user's search box, split on spaces.
	FreeText []string
	// From, To and Subject terms must each appear in that field. The
	// specification's mailbox query has only FreeText; these come from
	// EqualTo elements some clients send, and from Find.
	From, To, Subject []string
	// ReceivedAfter and ReceivedBefore bound DateReceived, exclusive
	// (GreaterThan, LessThan); zero: no bound.
	ReceivedAfter, ReceivedBefore time.Time
	// ConversationID restricts to one conversation (Email2:ConversationId
	// as Sync sends it); nil: any.
	ConversationID []byte
	Any            []MailboxCriteria
}

// MailboxQuery is a Search of the mailbox (MS-ASCMD 2.2.1.16, Store Name
// "Mailbox") or the mailbox side of Find (16.1).
type MailboxQuery struct {
	// CollectionIDs are the folders to search; empty: every mail folder.
	CollectionIDs []string
	// DeepTraversal: their subfolders too.
	DeepTraversal bool
	// Class is the item class asked for ("Email"; "" means Email).
	Class    string
	Criteria MailboxCriteria
	// RangeStart and RangeEnd (inclusive, zero-based) pick the results, the
	// newest first; the front defaults them to 0-99.
	RangeStart, RangeEnd int
	// RebuildResults asks for a fresh result set rather than a cached
	// one.
	RebuildResults bool
	// Options shape each result's properties as Sync shapes an item:
	// Version, BodyPrefs, MIMESupport.
	Options SyncOptions
}

// MailboxHit is one result: an item as Sync would send it.
type MailboxHit struct {
	// LongID names the item in ItemOperations Fetch (search:LongId),
	// SmartReply/SmartForward (Source LongId) and MoveItems (SrcMsgId).
	LongID       string
	CollectionID string
	ServerID     string // the item's ServerId in its collection (Find)
	Class        string // "Email"
	// Data is the item's ApplicationData (the children go in Properties).
	Data *wbxml.Element
}

// MailboxResult is the answer: the hits of the asked range, newest first,
// and the total number that matched.
type MailboxResult struct {
	Total int
	Hits  []MailboxHit
}

// MailboxSearcher serves Search of the mailbox and Find's mailbox queries.
// A folder the device names that the server does not know is
// CommandStatus(SearchStatusFolderSyncNeeded); a query the server cannot
// run is CommandStatus(SearchStatusTooComplex).
type MailboxSearcher interface {
	SearchMailbox(ctx context.Context, acct Account, deviceID string, q *MailboxQuery) (*MailboxResult, error)
}
