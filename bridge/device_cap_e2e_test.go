package bridge_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/internal/bridgetest"
)

// A user's devices are capped: a new device beyond the cap removes the
// longest idle one (not the oldest) with its sync state, and says so in
// the log; on both engines.
func TestDeviceCapEvictsLongestIdle(t *testing.T) {
	for _, redis := range []bool{false, true} {
		t.Run(map[bool]string{false: "embedded", true: "redis"}[redis], func(t *testing.T) {
			logs := &syncLog{}
			e := bridgetest.Start(t, bridgetest.Options{Redis: redis, MaxDevices: 3, Log: slog.New(slog.NewTextHandler(logs, nil))})
			ctx := context.Background()
			for _, id := range []string{"capA", "capB", "capC"} {
				dev := e.Device(t, id, "16.1")
				if _, err := dev.FolderSync(ctx, "0"); err != nil {
					t.Fatal(err)
				}
			}
			// capA is the oldest but in use again; capB is now the longest idle.
			if _, err := e.Device(t, "capA", "16.1").FolderSync(ctx, "0"); err != nil {
				t.Fatal(err)
			}
			e.Device(t, "capD", "16.1")

			if got := deviceIDs(t, e); !slices.Equal(got, []string{"capA", "capC", "capD"}) {
				t.Fatalf("devices after the fourth: %v, want capA capC capD", got)
			}
			if cols, err := e.Store.ListCollections(ctx, e.User, "capB"); err != nil || len(cols) != 0 {
				t.Fatalf("the evicted device's sync state: %v, %v", cols, err)
			}
			if _, err := e.Store.GetDevice(ctx, e.User, "capB"); !errors.Is(err, state.ErrNotFound) {
				t.Fatalf("the evicted device's record: %v", err)
			}
			if !strings.Contains(logs.String(), "evicted=capB") {
				t.Fatalf("the eviction was not logged:\n%s", logs)
			}
			// The folder map shared by the user's devices survives.
			if _, err := e.Device(t, "capB", "16.1").FolderSync(ctx, "0"); err != nil {
				t.Fatalf("the evicted device coming back: %v", err)
			}
			if got := deviceIDs(t, e); len(got) != 3 || !slices.Contains(got, "capB") {
				t.Fatalf("after capB came back: %v", got)
			}
		})
	}
}

func deviceIDs(t *testing.T, e *bridgetest.Env) []string {
	t.Helper()
	devs, err := e.Store.ListDevices(context.Background(), e.User)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range devs {
		ids = append(ids, d.ID)
	}
	slices.Sort(ids)
	return ids
}
