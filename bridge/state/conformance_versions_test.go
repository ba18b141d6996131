package state

import (
	"testing"
	"time"
)

// testVersions: a record reads back as written, per user and per ref; a
// stale mark reads as unknown and holds off observations no newer than
// the record it replaced, but not a newer one; records lapse after
// VersionTTL; with Redis they survive a reopen (another instance reads
// them), the embedded engine's are gone (in memory: a restart asks
// upstream).
func testVersions(t *testing.T, h harness) {
	env := h.newEnv(t, 0)
	s := env.openT(t)
	u, other := env.user(t), env.user(t)
	now := time.Now().Truncate(time.Millisecond)
	v1 := UpstreamVersion{UIDValidity: 7, UIDNext: 10, ModSeq: 100, Messages: 9, Live: true, At: now}
	want := func(user, ref string, at time.Time, exp UpstreamVersion, expOK bool) {
		t.Helper()
		got, ok, err := s.GetVersion(tctx, user, ref, at)
		if err != nil {
			t.Fatalf("GetVersion(%s): %v", ref, err)
		}
		if ok != expOK || (ok && (got.UIDValidity != exp.UIDValidity || got.UIDNext != exp.UIDNext ||
			got.ModSeq != exp.ModSeq || got.Messages != exp.Messages || got.Live != exp.Live || !got.At.Equal(exp.At))) {
			t.Fatalf("GetVersion(%s) = %+v, %v; want %+v, %v", ref, got, ok, exp, expOK)
		}
	}
	put := func(user, ref string, v UpstreamVersion) {
		t.Helper()
		if err := s.PutVersion(tctx, user, ref, v); err != nil {
			t.Fatalf("PutVersion(%s): %v", ref, err)
		}
	}
	stale := func(ref string) {
		t.Helper()
		if err := s.StaleVersion(tctx, u, ref, time.Now()); err != nil {
			t.Fatalf("StaleVersion(%s): %v", ref, err)
		}
	}

	want(u, "INBOX", now, UpstreamVersion{}, false)
	put(u, "INBOX", v1)
	put(u, "a:{b} c", UpstreamVersion{UIDValidity: 1, ModSeq: 1 << 60, At: now}) // any name, big modseq
	want(u, "INBOX", now, v1, true)
	want(u, "a:{b} c", now, UpstreamVersion{UIDValidity: 1, ModSeq: 1 << 60, At: now}, true)
	want(other, "INBOX", now, UpstreamVersion{}, false)

	// Stale: unknown; an observation at or below the replaced modseq (taken
	// before the bridge's own change) does not clear it; a newer one does.
	stale("INBOX")
	want(u, "INBOX", now, UpstreamVersion{}, false)
	put(u, "INBOX", UpstreamVersion{UIDValidity: 7, UIDNext: 10, ModSeq: 100, Messages: 9, At: now})
	want(u, "INBOX", now, UpstreamVersion{}, false)
	stale("INBOX") // twice: the floor stays the record's, not 0
	put(u, "INBOX", UpstreamVersion{UIDValidity: 7, UIDNext: 10, ModSeq: 99, At: now})
	want(u, "INBOX", now, UpstreamVersion{}, false)
	v2 := UpstreamVersion{UIDValidity: 7, UIDNext: 11, ModSeq: 101, Messages: 10, At: now}
	put(u, "INBOX", v2)
	want(u, "INBOX", now, v2, true)
	// The floor compares exactly beyond 2^53.
	stale("a:{b} c")
	put(u, "a:{b} c", UpstreamVersion{UIDValidity: 1, ModSeq: 1<<60 - 1, At: now})
	want(u, "a:{b} c", now, UpstreamVersion{}, false)
	put(u, "a:{b} c", UpstreamVersion{UIDValidity: 1, ModSeq: 1<<60 + 1, At: now})
	want(u, "a:{b} c", now, UpstreamVersion{UIDValidity: 1, ModSeq: 1<<60 + 1, At: now}, true)
	// A mark on a ref never recorded has floor 0: any observation clears it.
	stale("Sent")
	want(u, "Sent", now, UpstreamVersion{}, false)
	put(u, "Sent", UpstreamVersion{UIDValidity: 3, ModSeq: 1, At: now})
	want(u, "Sent", now, UpstreamVersion{UIDValidity: 3, ModSeq: 1, At: now}, true)

	// Lapsed after VersionTTL from its observation.
	want(u, "INBOX", now.Add(VersionTTL-time.Second), v2, true)
	want(u, "INBOX", now.Add(VersionTTL+time.Second), UpstreamVersion{}, false)

	// Redis keeps them for every instance; the embedded engine serves one
	// process and keeps them in memory: reopened, none is trusted.
	_ = s.Close()
	s = env.openT(t)
	want(u, "INBOX", now, v2, !h.versionsInMemory)
}
