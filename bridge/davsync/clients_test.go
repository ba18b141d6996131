package davsync

import (
	"errors"
	"fmt"
	"testing"

	"github.com/idlebridge/idlebridge/bridge/accounts"
)

// TestClientsCache: one client per user and credentials; a new password
// (passthrough: the device's new one) makes a new client; the cache keeps
// at most MaxClients, dropping the least recently used; a user without a
// CalDAV URL has none.
func TestClientsCache(t *testing.T) {
	cs := newClients(Options{MaxClients: 2}.withDefaults())
	p := func(user, pw string) *accounts.Principal {
		return &accounts.Principal{User: &accounts.User{Address: user, CalDAV: "https://dav.example.com/"}, Upstream: accounts.Credentials{Username: user, Password: pw}}
	}
	a1, err := cs.get(p("a", "one"), serviceCalDAV)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := cs.get(p("a", "one"), serviceCalDAV); again != a1 {
		t.Error("same credentials: a new client")
	}
	if a2, _ := cs.get(p("a", "two"), serviceCalDAV); a2 == a1 {
		t.Error("new password: the old client")
	}
	for i := range 5 {
		if _, err := cs.get(p(fmt.Sprint("u", i), "x"), serviceCalDAV); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(cs.entries); n != 2 {
		t.Errorf("%d cached clients, want at most 2", n)
	}
	none := p("b", "x")
	none.User.CalDAV = ""
	if _, err := cs.get(none, serviceCalDAV); !errors.Is(err, errNoDAV) {
		t.Errorf("no CalDAV URL: %v", err)
	}
}

// TestIDs: server IDs are "<folder>:<hash>", the same for the same href,
// at most 64 characters for long folder IDs, and a collision takes a
// longer hash. Object names keep a plain UID and hash any other.
func TestIDs(t *testing.T) {
	a := itemID("12", "/u/cal/a.ics", nil)
	if a != itemID("12", "/u/cal/a.ics", nil) || folderOf(a) != "12" || len(a) > 20 {
		t.Errorf("id %q", a)
	}
	if b := itemID("12", "/u/cal/a.ics", func(id string) bool { return id == a }); b == a || folderOf(b) != "12" {
		t.Errorf("collision gave %q", b)
	}
	if n := len(itemID("123456789012345678901234567890", "/x", nil)); n > 64 {
		t.Errorf("id of %d characters", n)
	}
	if got := objectName("device-add-1", ".ics"); got != "device-add-1.ics" {
		t.Errorf("plain UID → %q", got)
	}
	for _, uid := range []string{"p5@example.com", "../x", ".hidden", "a/b", ""} {
		got := objectName(uid, ".ics")
		if got == uid+".ics" || len(got) != 32+4 {
			t.Errorf("UID %q → %q, want a hash", uid, got)
		}
	}
}
