package state

import (
	"errors"
	"sync"
	"testing"
	"time"
)

func newSub(key string, phase SubmissionPhase) *Submission {
	return &Submission{Key: key, Device: "d1", Phase: phase, Owner: "i1/a1",
		Updated: fixedTime(1700000000), Expires: time.Now().Add(time.Hour)}
}

func mustPutSub(t *testing.T, s Store, user string, sub *Submission, rev uint64) *Submission {
	t.Helper()
	got, err := s.PutSubmission(tctx, user, sub, rev)
	if err != nil {
		t.Fatalf("PutSubmission(%s, rev %d): %v", sub.Key, rev, err)
	}
	return got
}

// testSubmissionCAS: create-if-absent, phase moves under the Rev token, a
// stale Rev changes nothing, delete is CAS too.
func testSubmissionCAS(t *testing.T, h harness) {
	env := h.newEnv(t, 0)
	u := env.user(t)
	s := env.openT(t)
	if _, err := s.GetSubmission(tctx, u, "c:d1:x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown submission: %v, want ErrNotFound", err)
	}
	first := mustPutSub(t, s, u, newSub("c:d1:x", SubmissionClaimed), 0)
	if first.Rev != 1 {
		t.Fatalf("first rev %d, want 1", first.Rev)
	}
	// A second claim of the same key loses.
	if _, err := s.PutSubmission(tctx, u, newSub("c:d1:x", SubmissionClaimed), 0); !errors.Is(err, ErrConflict) {
		t.Fatalf("second claim: %v, want ErrConflict", err)
	}
	next := newSub("c:d1:x", SubmissionAccepted)
	next.SentCopy = []byte("From: a\\r\\n\\r\\n\\x00\\xffbody")
	second := mustPutSub(t, s, u, next, 1)
	if _, err := s.PutSubmission(tctx, u, newSub("c:d1:x", SubmissionDone), 1); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale rev: %v, want ErrConflict", err)
	}
	got, err := s.GetSubmission(tctx, u, "c:d1:x")
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "stored submission", got, second)
	if got.Phase != SubmissionAccepted || string(got.SentCopy) != string(next.SentCopy) || got.Rev != 2 {
		t.Fatalf("stored %+v", got)
	}
	// Returned values are copies.
	got.SentCopy[0] = 'X'
	again, _ := s.GetSubmission(tctx, u, "c:d1:x")
	if again.SentCopy[0] != 'F' {
		t.Fatal("GetSubmission returned the engine's own bytes")
	}
	// A later phase without a copy drops the stored one.
	done := mustPutSub(t, s, u, newSub("c:d1:x", SubmissionDone), 2)
	if got, err := s.GetSubmission(tctx, u, "c:d1:x"); err != nil || got.SentCopy != nil || got.Phase != SubmissionDone || done.Rev != 3 {
		t.Fatalf("after done: %+v %v", got, err)
	}
	if l, _ := s.ListSubmissions(tctx, u); len(l) != 1 || l[0].SentCopy != nil {
		t.Fatalf("list after done: %+v", l)
	}
	if err := s.DeleteSubmission(tctx, u, "c:d1:x", 1); !errors.Is(err, ErrConflict) {
		t.Fatalf("delete with stale rev: %v, want ErrConflict", err)
	}
	if err := s.DeleteSubmission(tctx, u, "c:d1:x", 3); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSubmission(tctx, u, "c:d1:x", 3); err != nil {
		t.Fatalf("deleting an absent record: %v", err)
	}
	if _, err := s.GetSubmission(tctx, u, "c:d1:x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	// Deleted means free again: a new claim starts at rev 1.
	if r := mustPutSub(t, s, u, newSub("c:d1:x", SubmissionClaimed), 0); r.Rev != 1 {
		t.Fatalf("re-claim rev %d", r.Rev)
	}
	// Bad arguments.
	past := newSub("k", SubmissionClaimed)
	past.Expires = time.Now().Add(-time.Second)
	if _, err := s.PutSubmission(tctx, u, past, 0); err == nil {
		t.Fatal("a record expiring in the past was accepted")
	}
	if _, err := s.PutSubmission(tctx, u, newSub("", SubmissionClaimed), 0); err == nil {
		t.Fatal("an empty key was accepted")
	}
}

// testSubmissionList: records are per user, listed by key, and never show
// up as devices or users.
func testSubmissionList(t *testing.T, h harness) {
	env := h.newEnv(t, 0)
	u1, u2 := env.user(t), env.user(t)
	s := env.openT(t)
	for _, k := range []string{"m:bb", "c:d1:a", "c:d1:{x}:y%"} {
		rec := newSub(k, SubmissionAccepted)
		rec.SentCopy = []byte("copy of " + k)
		mustPutSub(t, s, u1, rec, 0)
	}
	mustPutSub(t, s, u2, newSub("c:d1:a", SubmissionDone), 0)
	list, err := s.ListSubmissions(tctx, u1)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, r := range list {
		keys = append(keys, r.Key)
		if string(r.SentCopy) != "copy of "+r.Key {
			t.Errorf("%s listed with copy %q", r.Key, r.SentCopy)
		}
	}
	sameJSON(t, "keys", keys, []string{"c:d1:a", "c:d1:{x}:y%", "m:bb"})
	other, err := s.GetSubmission(tctx, u2, "c:d1:a")
	if err != nil || other.Phase != SubmissionDone {
		t.Fatalf("other user's record: %+v %v", other, err)
	}
	if l, _ := s.ListSubmissions(tctx, env.user(t)); len(l) != 0 {
		t.Fatalf("fresh user lists %d submissions", len(l))
	}
	if ds, _ := s.ListDevices(tctx, u1); len(ds) != 0 {
		t.Fatalf("submissions listed as devices: %v", deviceIDs(ds))
	}
}

// testSubmissionRetention: a record is forgotten at its Expires, which
// frees its key.
func testSubmissionRetention(t *testing.T, h harness) {
	env := h.newEnv(t, 0)
	u := env.user(t)
	s := env.openT(t)
	short := newSub("c:d1:short", SubmissionDone)
	short.Expires = time.Now().Add(time.Second)
	mustPutSub(t, s, u, short, 0)
	mustPutSub(t, s, u, newSub("c:d1:long", SubmissionDone), 0)
	// Past the short record's Expires (a wait, not a timing assertion).
	time.Sleep(time.Until(short.Expires) + 300*time.Millisecond)
	if _, err := s.GetSubmission(tctx, u, "c:d1:short"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("expired record: %v, want ErrNotFound", err)
	}
	list, err := s.ListSubmissions(tctx, u)
	if err != nil || len(list) != 1 || list[0].Key != "c:d1:long" {
		t.Fatalf("list after expiry: %v %v", list, err)
	}
	// The key is free again (rev 0 claims it).
	if r := mustPutSub(t, s, u, newSub("c:d1:short", SubmissionClaimed), 0); r.Rev != 1 {
		t.Fatalf("reclaimed rev %d", r.Rev)
	}
}

// testSubmissionRestart: records survive a restart of the engine.
func testSubmissionRestart(t *testing.T, h harness) {
	env := h.newEnv(t, 0)
	u := env.user(t)
	s := env.open(t)
	rec := newSub("c:d1:r", SubmissionAccepted)
	rec.SentCopy = []byte("copy")
	want := mustPutSub(t, s, u, rec, 0)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	env.restart(t)
	s = env.openT(t)
	got, err := s.GetSubmission(tctx, u, "c:d1:r")
	if err != nil {
		t.Fatalf("submission lost across restart: %v", err)
	}
	sameJSON(t, "submission after restart", got, want)
}

// testSubmissionConcurrentClaim: of many concurrent claims of one key,
// exactly one wins.
func testSubmissionConcurrentClaim(t *testing.T, h harness) {
	env := h.newEnv(t, 0)
	u := env.user(t)
	s := env.openT(t)
	const n = 16
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, conflicts := 0, 0
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.PutSubmission(tctx, u, newSub("c:d1:race", SubmissionClaimed), 0)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, ErrConflict):
				conflicts++
			default:
				t.Errorf("claim: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 || conflicts != n-1 {
		t.Fatalf("%d wins, %d conflicts; want 1 and %d", wins, conflicts, n-1)
	}
}
