package activesync

import "context"

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
	FirstName, LastName, HomePhone, MobilePhone      string
	EmailAddress                                     string
	Picture                                          *GALPicture // nil: none asked or none held
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
