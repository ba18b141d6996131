package state

import (
	"slices"
	"testing"
	"time"
)

// testWatches: the watched set is the union of every instance's entry,
// per user; an entry is replaced, removed, and lapses at its deadline; it
// is kept across a reopen of the store (another instance reads it).
func testWatches(t *testing.T, h harness) {
	env := h.newEnv(t, 0)
	s := env.openT(t)
	u, other := env.user(t), env.user(t)
	now := time.Now()
	later := now.Add(time.Hour)
	want := func(at time.Time, exp ...string) {
		t.Helper()
		got, err := s.Watched(tctx, u, at)
		if err != nil {
			t.Fatalf("Watched: %v", err)
		}
		if !slices.Equal(got, exp) && !(len(got) == 0 && len(exp) == 0) {
			t.Fatalf("Watched = %v, want %v", got, exp)
		}
	}
	set := func(user, inst string, until time.Time, folders ...string) {
		t.Helper()
		if err := s.SetWatched(tctx, user, inst, folders, until); err != nil {
			t.Fatalf("SetWatched(%s, %v): %v", inst, folders, err)
		}
	}

	want(now)
	set(u, "a", later, "1", "2")
	set(u, "b:{x}", later, "3", "2") // any instance name, even with key syntax
	set(other, "a", later, "9")
	want(now, "1", "2", "3")

	set(u, "a", later, "4") // replaces a's entry
	want(now, "2", "3", "4")
	set(u, "b:{x}", later) // no folders: removed
	want(now, "4")

	// A lapsed entry (its instance stopped renewing it) no longer counts,
	// and one written with a past deadline never does.
	set(u, "c", now.Add(30*time.Minute), "5")
	want(now, "4", "5")
	want(now.Add(45*time.Minute), "4")
	set(u, "d", now.Add(-time.Second), "6")
	want(now, "4", "5")

	// The entries are stored, not held by the store value: reopened on
	// the same data (another instance, or a restart), they read the same.
	_ = s.Close()
	s2 := env.openT(t)
	s = s2
	got, err := s2.Watched(tctx, u, now)
	if err != nil || !slices.Equal(got, []string{"4", "5"}) {
		t.Fatalf("Watched from a second store = %v, %v; want [4 5]", got, err)
	}
	if got, err := s2.Watched(tctx, other, now); err != nil || !slices.Equal(got, []string{"9"}) {
		t.Fatalf("other user's Watched = %v, %v; want [9]", got, err)
	}
	set(u, "a", later)
	set(u, "c", later)
	want(now)

	// A batch writes each user's entry as SetWatched would: replaced,
	// added, removed, and other instances' entries left alone.
	set(u, "b", later, "7")
	set(other, "a", later, "9")
	third := env.user(t)
	err = s.SetWatchedBatch(tctx, "a", []WatchedEntry{
		{User: u, Folders: []string{"1", "8"}, Until: later},
		{User: other, Until: later}, // no folders: removed
		{User: third, Folders: []string{"3"}, Until: now.Add(30 * time.Minute)},
	})
	if err != nil {
		t.Fatalf("SetWatchedBatch: %v", err)
	}
	want(now, "1", "7", "8")
	for _, c := range []struct {
		user string
		at   time.Time
		want []string
	}{{other, now, nil}, {third, now, []string{"3"}}, {third, now.Add(45 * time.Minute), nil}} {
		got, err := s.Watched(tctx, c.user, c.at)
		if err != nil || !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
			t.Fatalf("after the batch, Watched(%s) = %v, %v; want %v", c.user, got, err, c.want)
		}
	}
	if err := s.SetWatchedBatch(tctx, "a", nil); err != nil {
		t.Fatalf("empty SetWatchedBatch: %v", err)
	}

	// WatchedMany reads each user's union as Watched does, in the order
	// asked, a user without entries as empty, lapsed entries left out.
	nobody := env.user(t)
	many, err := s.WatchedMany(tctx, []string{third, nobody, u, other}, now)
	if err != nil {
		t.Fatalf("WatchedMany: %v", err)
	}
	wantMany := [][]string{{"3"}, nil, {"1", "7", "8"}, nil}
	if len(many) != len(wantMany) {
		t.Fatalf("WatchedMany returned %d sets for 4 users", len(many))
	}
	for i, w := range wantMany {
		if !slices.Equal(many[i], w) && !(len(many[i]) == 0 && len(w) == 0) {
			t.Fatalf("WatchedMany[%d] = %v, want %v (all: %v)", i, many[i], w, many)
		}
	}
	if many, err := s.WatchedMany(tctx, []string{third, u}, now.Add(45*time.Minute)); err != nil || len(many) != 2 || len(many[0]) != 0 || !slices.Equal(many[1], []string{"1", "7", "8"}) {
		t.Fatalf("WatchedMany after third's entry lapsed = %v, %v", many, err)
	}
	if many, err := s.WatchedMany(tctx, nil, now); err != nil || len(many) != 0 {
		t.Fatalf("empty WatchedMany = %v, %v", many, err)
	}
}
