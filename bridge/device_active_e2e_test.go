package bridge_test

import (
	"context"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/internal/bridgetest"
)

// A Ping is the phone waiting, not its user: it moves LastSeen but not
// LastActive, which the DAV watcher uses to poll fast while someone is
// looking (issue 13's active user).
func TestPingDoesNotMakeTheUserActive(t *testing.T) {
	e := bridgetest.Start(t, bridgetest.Options{})
	dev, inbox, _ := inboxReady(t, e, "phone-active")
	ctx := context.Background()
	before, err := e.Store.GetDevice(ctx, e.User, "phone-active")
	if err != nil || before.LastActive.IsZero() {
		t.Fatalf("after FolderSync and Sync: LastActive %v (%v)", before.LastActive, err)
	}
	time.Sleep(20 * time.Millisecond) // the stamps have a resolution to beat
	res := parkPing(t, e, dev, 1, inbox)
	if r := awaitPing(t, res, 30*time.Second); r.status != "1" {
		t.Fatalf("Ping answered %s, want 1 (heartbeat)", r.status)
	}
	after, err := e.Store.GetDevice(ctx, e.User, "phone-active")
	if err != nil {
		t.Fatal(err)
	}
	if !after.LastSeen.After(before.LastSeen) {
		t.Errorf("LastSeen %v did not move past %v with the Ping", after.LastSeen, before.LastSeen)
	}
	if !after.LastActive.Equal(before.LastActive) {
		t.Errorf("the Ping moved LastActive from %v to %v", before.LastActive, after.LastActive)
	}
}
