package directory

import (
	"context"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/accounts"
	"github.com/idlebridge/idlebridge/upstream/dav"
)

// User is what the directory needs of an authenticated user.
type User struct {
	// Key names the user in caches and logs: the canonical address.
	Key string
	// Addresses are the user's own addresses (Key first): a recipient with
	// one of them resolves to the user, whose availability the bridge can
	// read.
	Addresses []string
	// DisplayName is the user's name, when known.
	DisplayName string
	// CardDAV reaches the user's address books and the GAL; nil when the
	// user has none (every search then finds nothing).
	CardDAV *dav.Client
	// CalDAV reaches the user's calendars, for availability; nil: none.
	CalDAV *dav.Client
	// GAL is the resolved setting: the user's, else the domain's, else
	// zero (the user's own address books).
	GAL accounts.GAL
}

// Resolver gives the User of a request's account; the bridge implements it
// from its Account and its DAV clients.
type Resolver func(ctx context.Context, acct activesync.Account) (*User, error)

// Classes of address books.
type bookClass int

const (
	classGAL      bookClass = 1 // ResolveRecipients Type 1
	classContacts bookClass = 2 // Type 2: the user's own address books
)

// book is one address book to search.
type book struct {
	href  string
	class bookClass
}
