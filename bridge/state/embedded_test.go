package state

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/internal/testenv"
)

func embeddedHarness() harness {
	return harness{versionsInMemory: true, newEnv: func(t *testing.T, ttl time.Duration) *engineEnv {
		path := filepath.Join(t.TempDir(), EmbeddedFile)
		return &engineEnv{
			open: func(t *testing.T) Store {
				t.Helper()
				e, err := OpenEmbedded(path, EmbeddedOptions{DeviceTTL: ttl})
				if err != nil {
					t.Fatal(err)
				}
				return e
			},
			restart: func(*testing.T) {},
			expire: func(t *testing.T, s Store) {
				t.Helper()
				n, err := s.(*Embedded).Sweep(context.Background(), time.Now().Add(ttl+time.Second))
				if err != nil || n == 0 {
					t.Fatalf("Sweep = %d, %v; want some devices deleted", n, err)
				}
			},
			user: func(t *testing.T) string { return testenv.UniqueUser(t) },
		}
	}}
}

func TestEmbeddedConformance(t *testing.T) { runConformance(t, embeddedHarness()) }

func TestEmbeddedLockedByAnotherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), EmbeddedFile)
	first, err := OpenEmbedded(path, EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	start := time.Now()
	second, err := OpenEmbedded(path, EmbeddedOptions{LockTimeout: 200 * time.Millisecond})
	if err == nil {
		second.Close()
		t.Fatal("second open of a locked file succeeded")
	}
	if !strings.Contains(err.Error(), "locked by another idlebridge") {
		t.Fatalf("error does not say the file is locked: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("second open took %s", d)
	}
}

func TestEmbeddedSweepKeepsActiveDevices(t *testing.T) {
	e, err := OpenEmbedded(filepath.Join(t.TempDir(), EmbeddedFile), EmbeddedOptions{DeviceTTL: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	now := time.Now()
	u := testenv.UniqueUser(t)
	// The engine stamps writes with the wall clock, so sweep "two days
	// later" and let LastSeen decide which devices are active then.
	later := now.Add(48 * time.Hour)
	tests := []struct {
		id       string
		lastSeen time.Time
		keep     bool
	}{
		{"silent", now.Add(-100 * 24 * time.Hour), false},
		{"never-seen", time.Time{}, false},
		{"active", later.Add(-time.Hour), true},
		{"edge", later.Add(-23 * time.Hour), true},
	}
	for _, tc := range tests {
		mustUpdate(t, e, u, tc.id, func(d *Device) { d.LastSeen = tc.lastSeen })
		mustCommit(t, e, u, tc.id, "7", 0, CommitRequest{Apply: &Delta{Set: map[string]string{"a": "1"}}, SyncKey: "1"})
	}
	n, err := e.Sweep(ctx, later)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("Sweep deleted %d devices, want 2", n)
	}
	for _, tc := range tests {
		_, err := e.GetDevice(ctx, u, tc.id)
		if tc.keep != (err == nil) {
			t.Fatalf("device %s: keep=%v but GetDevice err = %v", tc.id, tc.keep, err)
		}
		_, err = e.GetCollection(ctx, u, tc.id, "7")
		if tc.keep != (err == nil) {
			t.Fatalf("device %s: keep=%v but GetCollection err = %v", tc.id, tc.keep, err)
		}
	}
	// A sweep "now" deletes nothing: every device was written just now.
	if n, err := e.Sweep(ctx, now); err != nil || n != 0 {
		t.Fatalf("second sweep = %d, %v", n, err)
	}
}

func TestEmbeddedClosedIsUnavailable(t *testing.T) {
	e, err := OpenEmbedded(filepath.Join(t.TempDir(), EmbeddedFile), EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := e.Ping(ctx); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Ping after Close: %v, want ErrUnavailable", err)
	}
	if _, err := e.GetDevice(ctx, "u", "d"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("GetDevice after Close: %v, want ErrUnavailable", err)
	}
}

func TestOpenEmbeddedFromConfig(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "nested")
	s, client, err := Open(context.Background(), Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if client != nil {
		t.Fatal("embedded engine returned a Redis client")
	}
	if _, ok := s.(*Embedded); !ok {
		t.Fatalf("Open returned %T, want *Embedded", s)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Fatalf("data directory mode %v, want 0700", perm)
	}
	if _, err := os.Stat(filepath.Join(dir, EmbeddedFile)); err != nil {
		t.Fatalf("database file: %v", err)
	}
	if _, _, err := Open(context.Background(), Config{}); err == nil {
		t.Fatal("Open with no data directory and no Redis URL succeeded")
	}
}
