package bridge_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/internal/bridgetest"
)

// failingStore is a real embedded store whose user-scoped reads (the
// folder map the Ping resolves its folders with) fail as an unreachable
// engine does, while fail is set.
type failingStore struct {
	state.Store
	fail atomic.Bool
}

func (s *failingStore) SnapshotGet(ctx context.Context, user, deviceID, collectionID string, ids []string) (map[string]string, error) {
	if s.fail.Load() && deviceID == state.UserScope {
		return nil, fmt.Errorf("injected: %w", state.ErrUnavailable)
	}
	return s.Store.SnapshotGet(ctx, user, deviceID, collectionID, ids)
}

// failingBus is the in-process bus whose Subscribe fails while fail is
// set, with an error that does not say "unavailable" (as a subscription
// Redis never confirmed).
type failingBus struct {
	state.Bus
	fail atomic.Bool
}

func (b *failingBus) Subscribe(ctx context.Context, user string) (state.Subscription, error) {
	if b.fail.Load() {
		return nil, errors.New("injected: subscription not confirmed")
	}
	return b.Bus.Subscribe(ctx, user)
}

// TestPingDependencyErrorsAre503: a store or bus failure while a Ping
// parks answers 503 with Retry-After (the front's one mapping of
// ErrUnavailable), never 500, which some phones take as "the account is
// broken" and others retry at once.
func TestPingDependencyErrorsAre503(t *testing.T) {
	emb, err := state.OpenEmbedded(filepath.Join(t.TempDir(), "idlebridge.db"), state.EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emb.Close() })
	st := &failingStore{Store: emb}
	bus := &failingBus{Bus: state.NewMemoryBus()}
	t.Cleanup(func() { _ = bus.Close() })
	e := bridgetest.Start(t, bridgetest.Options{Store: st, Bus: bus, Leases: state.NewMemoryLeases()})
	dev, inbox, _ := inboxReady(t, e, "phone1")

	for name, fail := range map[string]*atomic.Bool{"store": &st.fail, "bus": &bus.fail} {
		fail.Store(true)
		req := wbxml.New(wbxml.Ping, "Ping")
		req.AddText(wbxml.Ping, "HeartbeatInterval", strconv.Itoa(60))
		f := req.Add(wbxml.Ping, "Folders").Add(wbxml.Ping, "Folder")
		f.AddText(wbxml.Ping, "Id", inbox)
		f.AddText(wbxml.Ping, "Class", "Email")
		r, err := dev.Do(context.Background(), "Ping", req)
		fail.Store(false)
		var he *client.HTTPError
		if !errors.As(err, &he) || he.Code != 503 || r == nil || r.Header.Get("Retry-After") == "" {
			t.Errorf("Ping with the %s failing: %v (response %+v), want 503 with Retry-After", name, err, r)
		}
	}
	// And once the dependency is back, the Ping parks as usual.
	if st, _, err := dev.Ping(context.Background(), 1, inbox); err != nil || st != "1" {
		t.Fatalf("Ping after recovery: %v %s, want 1", err, st)
	}
}
