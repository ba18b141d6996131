package state

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
)

func TestObservedCountsFailuresOnly(t *testing.T) {
	e, err := OpenEmbedded(filepath.Join(t.TempDir(), EmbeddedFile), EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	s := Observed(e, func(op string) { ops = append(ops, op) })
	ctx := context.Background()

	// Expected outcomes are not store errors.
	if _, err := s.GetDevice(ctx, "u", "d"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetDevice of an unknown device: %v", err)
	}
	refused := errors.New("refused by the caller")
	if _, err := s.UpdateDevice(ctx, "u", "d", func(*Device) error { return refused }); !errors.Is(err, refused) {
		t.Fatalf("UpdateDevice: %v", err)
	}
	if _, err := s.Commit(ctx, "u", "d", "7", 5, CommitRequest{SyncKey: "1"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("Commit with a stale generation: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, _ = s.ListDevices(cancelled, "u")
	if len(ops) != 0 {
		t.Fatalf("expected outcomes counted as errors: %v", ops)
	}

	// An engine that is gone is.
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetCollection(ctx, "u", "d", "7"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("GetCollection after Close: %v", err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Fatal("Ping after Close succeeded")
	}
	if len(ops) != 2 || ops[0] != "get_collection" || ops[1] != "ping" {
		t.Fatalf("counted %v, want [get_collection ping]", ops)
	}
}
