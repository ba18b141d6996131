package activesync

// The command statuses of the item and folder commands, defined once: the
// front answers with them and the bridge returns them in CommandStatus
// errors and results (issue 11 item 15: they were defined twice, and some
// were bare numbers). The per-command tables are untyped so they fit both
// the Status of an Error and the int fields of results; the common
// statuses (MS-ASCMD 2.2.2, 101 and up) are typed Status values, here for
// the send commands and in errors.go for the rest.

// Ping statuses (MS-ASCMD 2.2.3.177.11).
const (
	PingStatusExpired        = 1 // the heartbeat ended with no changes
	PingStatusChanges        = 2 // changes in at least one folder
	PingStatusMissingParams  = 3 // the request omitted needed parameters
	PingStatusProtocolError  = 4 // syntax error in the request
	PingStatusBadHeartbeat   = 5 // heartbeat out of range (the answer carries the allowed one)
	PingStatusTooManyFolders = 6 // more folders than the server watches
	PingStatusFolderSync     = 7 // the folder hierarchy changed: FolderSync first
)

// Sync statuses (MS-ASCMD 2.2.3.177.17).
const (
	SyncStatusOK                 = 1  // success
	SyncStatusInvalidKey         = 3  // invalid or mismatched sync key: the device starts over at 0
	SyncStatusProtocolError      = 4  // the request does not comply with the specification
	SyncStatusServerError        = 5  // server error
	SyncStatusConversionError    = 6  // error converting the client's item
	SyncStatusConflict           = 7  // conflict between client and server object
	SyncStatusNotFound           = 8  // object (collection or item) not found
	SyncStatusCannotComplete     = 9  // the Sync cannot be completed (e.g. mailbox full)
	SyncStatusHierarchyChanged   = 12 // the folder hierarchy changed: FolderSync first
	SyncStatusIncomplete         = 13 // empty or Partial Sync with nothing cached
	SyncStatusBadHeartbeat       = 14 // Wait or HeartbeatInterval out of range
	SyncStatusTooManyCollections = 15 // too many collections
	SyncStatusRetry              = 16 // retry
)

// FolderSync, FolderCreate, FolderUpdate and FolderDelete statuses
// (MS-ASCMD 2.2.3.177.2 to 2.2.3.177.5).
const (
	FolderStatusOK            = 1  // success
	FolderStatusExists        = 2  // a folder of that name exists
	FolderStatusSpecial       = 3  // special folder: cannot be changed
	FolderStatusNotFound      = 4  // folder not found
	FolderStatusParentMissing = 5  // parent folder not found
	FolderStatusServerError   = 6  // server error
	FolderStatusBadKey        = 9  // invalid hierarchy sync key: FolderSync from 0
	FolderStatusBadRequest    = 10 // malformed request
	FolderStatusUnknown       = 11 // unknown error
)

// ItemOperations statuses (MS-ASCMD 2.2.3.177.8).
const (
	ItemOpsStatusOK                 = 1 // success
	ItemOpsStatusProtocolError      = 2 // protocol error
	ItemOpsStatusServerError        = 3 // server error
	ItemOpsStatusNotFound           = 6 // item or attachment not found
	ItemOpsStatusUnsupportedStore   = 9 // store not supported
	ItemOpsStatusActionNotSupported = 156
)

// GetItemEstimate statuses (MS-ASCMD 2.2.3.177.7).
const (
	EstimateStatusOK            = 1 // success
	EstimateStatusBadCollection = 2 // invalid collection
	EstimateStatusNotPrimed     = 3 // sync state not primed (no Sync yet)
	EstimateStatusBadKey        = 4 // invalid sync key
)

// MoveItems statuses (MS-ASCMD 2.2.3.177.10).
const (
	MoveStatusBadSource  = 1 // invalid source collection or item
	MoveStatusBadDest    = 2 // invalid destination collection
	MoveStatusOK         = 3 // success
	MoveStatusSameFolder = 4 // source and destination are the same
	MoveStatusFailed     = 5 // failure (e.g. too many items, or upstream refused)
)

// Common statuses (MS-ASCMD 2.2.2) of SendMail, SmartReply and SmartForward,
// typed like the common table in errors.go.
const (
	StatusInvalidMIME                Status = 107
	StatusMessageRecipientUnresolved Status = 116
	StatusMessageHasNoRecipient      Status = 119
	StatusMailSubmissionFailed       Status = 120
	StatusMessageReplyFailed         Status = 121
	StatusAttachmentIsTooLarge       Status = 122 // also: a message over the size limit
)

// Search statuses (MS-ASCMD 2.2.3.177.14): of the Search element and of
// each Store.
const (
	SearchStatusOK                = 1  // success
	SearchStatusProtocolError     = 2  // the request is invalid
	SearchStatusServerError       = 3  // server error, retry
	SearchStatusBadLink           = 4  // bad link (document library)
	SearchStatusAccessDenied      = 5  // access denied
	SearchStatusNotFound          = 6  // not found
	SearchStatusConnectionFailed  = 7  // connection to the store failed
	SearchStatusTooComplex        = 8  // the query is too complex
	SearchStatusTimedOut          = 10 // the search timed out
	SearchStatusFolderSyncNeeded  = 11 // the folder hierarchy is out of date
	SearchStatusEndOfRange        = 12 // the requested range is past the results
	SearchStatusAccessBlocked     = 13 // access blocked
	SearchStatusCredentialsNeeded = 14 // credentials required
)

// MeetingResponse statuses (MS-ASCMD 2.2.3.177.10); a Result may also
// carry a common status (StatusInvalidDateTime, StatusNoRecurrenceInCalendar).
const (
	MeetingRespStatusOK             = 1 // success
	MeetingRespStatusInvalidRequest = 2 // invalid meeting request
	MeetingRespStatusMailboxError   = 3 // error on the server mailbox (the calendar refused)
	MeetingRespStatusServerError    = 4 // error on the server
)

// Picture statuses of GAL entries (MS-ASCMD 2.2.3.167.3, Status in a
// Picture of Search and ResolveRecipients).
const (
	PictureStatusOK          = 1   // the picture is in Data
	PictureStatusNoPhoto     = 173 // the contact has no photo
	PictureStatusTooLarge    = 174 // the photo is larger than MaxSize
	PictureStatusMaxPictures = 175 // MaxPictures already reached
)

// Find statuses (MS-ASCMD 2.2.3.177.2, protocol 16.1): of the Find element
// and of its Response.
const (
	FindStatusOK               = 1 // success
	FindStatusInvalidRequest   = 2 // the request is invalid (or the store cannot answer it)
	FindStatusFolderSyncNeeded = 3 // a folder of the query is unknown: FolderSync first
)

// ResolveRecipients statuses (MS-ASCMD 2.2.3.177.12): of the command, of
// each Response (one per To), of a recipient's Certificates and of its
// Availability.
const (
	ResolveStatusOK            = 1 // success
	ResolveStatusProtocolError = 5 // an invalid parameter, or a range beyond the limits
	ResolveStatusServerError   = 6 // server error; the client should retry

	RecipientStatusResolved         = 1 // resolved to one recipient
	RecipientStatusAmbiguous        = 2 // ambiguous: the Recipients are the suggestions
	RecipientStatusAmbiguousPartial = 3 // ambiguous: a partial list; RecipientCount has the total
	RecipientStatusUnresolved       = 4 // no contact or GAL entry matched

	CertificatesStatusOK      = 1 // certificates returned
	CertificatesStatusNone    = 7 // the recipient has no valid S/MIME certificate
	CertificatesStatusLimited = 8 // MaxCertificates reached; CertificateCount says how many were left out

	AvailabilityStatusOK                = 1   // MergedFreeBusy holds the free/busy data
	AvailabilityStatusTooManyRecipients = 160 // more than 100 recipients with availability asked
	AvailabilityStatusGroupTooLarge     = 161 // a distribution group of more than 20 members
	AvailabilityStatusRetry             = 162 // temporary failure; ask again later
	AvailabilityStatusNotAvailable      = 163 // no free/busy data can be had for this recipient; do not ask again
)
