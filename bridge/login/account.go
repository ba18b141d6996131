// Package login holds who a request is once the front has let it in: the
// Account with the upstream credentials of that request, and how to log
// in upstream as it. The bridge and its command packages (bridge/send)
// share it, so none of them needs the others for this.
package login

import (
	"fmt"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/accounts"
)

// Account is an authenticated user with the upstream credentials of the
// request that authenticated it. It is the activesync.Account the bridge
// hands the front.
type Account struct {
	Principal *accounts.Principal
}

var _ activesync.Account = (*Account)(nil)

// Address is the user's canonical address.
func (a *Account) Address() string { return a.Principal.User.Address }

// DisplayName is empty: the users directory does not hold names.
func (a *Account) DisplayName() string { return "" }

// Of recovers the bridge's Account from the front's interface value; an
// account of another type, or without a user, is an error (a wiring
// mistake, never the device's).
func Of(a activesync.Account) (*Account, error) {
	acct, ok := a.(*Account)
	if !ok || acct == nil || acct.Principal == nil || acct.Principal.User == nil {
		return nil, fmt.Errorf("bridge: account of type %T is not the bridge's", a)
	}
	return acct, nil
}
