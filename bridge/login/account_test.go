package login

import (
	"testing"

	"github.com/idlebridge/idlebridge/bridge/accounts"
)

type foreign struct{}

func (foreign) Address() string     { return "x@example.test" }
func (foreign) DisplayName() string { return "" }

// TestOf: only the bridge's own Account with a user comes back; anything
// else is an error rather than a nil dereference later.
func TestOf(t *testing.T) {
	good := &Account{Principal: &accounts.Principal{User: &accounts.User{Address: "a@example.test"}}}
	if got, err := Of(good); err != nil || got != good || got.Address() != "a@example.test" {
		t.Fatalf("Of(bridge account) = %v, %v", got, err)
	}
	var nilAcct *Account
	for name, a := range map[string]interface {
		Address() string
		DisplayName() string
	}{
		"foreign type": foreign{},
		"nil account":  nilAcct,
		"no principal": &Account{},
		"no user":      &Account{Principal: &accounts.Principal{}},
	} {
		if got, err := Of(a); err == nil {
			t.Errorf("%s: Of = %v, want an error", name, got)
		}
	}
	if _, err := Of(nil); err == nil {
		t.Error("Of(nil): want an error")
	}
}
