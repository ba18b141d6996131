package imap

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// seedVaried appends n messages whose bodies grow from a few bytes to a
// few tens of kilobytes (so some literals span several reads) and returns
// their UIDs and sizes as stored.
func seedVaried(t *testing.T, s *Session, n int) ([]uint32, map[uint32]int) {
	t.Helper()
	uids := make([]uint32, 0, n)
	sizes := map[uint32]int{}
	for i := range n {
		body := strings.Repeat(fmt.Sprintf("line %d of message %d, ünïcödé\r\n", i, i), i*i*3+1)
		raw := simpleMessage("a@example.org", "b@example.org", fmt.Sprintf("batch %d", i), body)
		uid := mustAppend(t, s, "INBOX", raw)
		if uid == 0 {
			t.Fatal("Dovecot returned no APPENDUID")
		}
		uids = append(uids, uid)
		sizes[uid] = len(raw)
	}
	return uids, sizes
}

// collect runs FetchMessages and returns the bodies by UID, failing on a
// UID handed over twice.
func collect(t *testing.T, s *Session, uids UIDSet, maxBytes int64) (map[uint32][]byte, BatchResult, error) {
	t.Helper()
	got := map[uint32][]byte{}
	res, err := s.FetchMessages(testCtx(t), uids, maxBytes, func(uid uint32, body []byte) error {
		if _, dup := got[uid]; dup {
			t.Errorf("uid %d handed over twice", uid)
		}
		got[uid] = body
		return nil
	})
	return got, res, err
}

func TestFetchMessagesMatchesFetchMessageInOneCommand(t *testing.T) {
	s := mustDial(t, plainConfig(t))
	uids, _ := seedVaried(t, s, 50)
	mustSelect(t, s, "INBOX")

	before := s.Stats().Commands
	got, res, err := collect(t, s, UIDs(uids...), 1<<20)
	if err != nil {
		t.Fatalf("FetchMessages: %v", err)
	}
	if n := s.Stats().Commands - before; n != 1 {
		t.Errorf("batch of %d cost %d commands, want 1", len(uids), n)
	}
	if len(res.Oversize) != 0 {
		t.Errorf("Oversize = %v, want none", res.Oversize)
	}
	if len(got) != len(uids) {
		t.Fatalf("got %d bodies, want %d", len(got), len(uids))
	}
	for _, uid := range uids {
		var want bytes.Buffer
		if _, err := s.FetchMessage(testCtx(t), uid, &want); err != nil {
			t.Fatalf("FetchMessage %d: %v", uid, err)
		}
		if !bytes.Equal(got[uid], want.Bytes()) {
			t.Errorf("uid %d: batch body (%d bytes) differs from FetchMessage (%d bytes)", uid, len(got[uid]), want.Len())
		}
	}
	// BODY.PEEK: nothing became \Seen.
	infos, err := s.FetchFlags(testCtx(t), UIDs(uids...), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range infos {
		if slices.Contains(f.Flags, `\Seen`) {
			t.Errorf("uid %d became \\Seen", f.UID)
		}
	}
}

func TestFetchMessagesMaxBytes(t *testing.T) {
	s := mustDial(t, plainConfig(t))
	uids, sizes := seedVaried(t, s, 12)
	mustSelect(t, s, "INBOX")
	all := slices.Collect(func(yield func(int) bool) {
		for _, n := range sizes {
			if !yield(n) {
				return
			}
		}
	})
	slices.Sort(all)
	for _, tc := range []struct {
		name     string
		maxBytes int64
	}{
		{"everything fits", int64(all[len(all)-1])},
		{"half fits", int64(all[len(all)/2])},
		{"only the smallest fits", int64(all[0])},
		{"nothing fits", int64(all[0] - 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := s.Stats().Commands
			got, res, err := collect(t, s, UIDs(uids...), tc.maxBytes)
			if err != nil {
				t.Fatalf("FetchMessages: %v", err)
			}
			if n := s.Stats().Commands - before; n != 1 {
				t.Errorf("cost %d commands, want 1", n)
			}
			for _, uid := range uids {
				small := int64(sizes[uid]) <= tc.maxBytes
				_, handed := got[uid]
				over := slices.Contains(res.Oversize, uid)
				switch {
				case small && (!handed || over):
					t.Errorf("uid %d (%d bytes <= %d): handed=%v oversize=%v, want handed", uid, sizes[uid], tc.maxBytes, handed, over)
				case !small && (handed || !over):
					t.Errorf("uid %d (%d bytes > %d): handed=%v oversize=%v, want oversize", uid, sizes[uid], tc.maxBytes, handed, over)
				case handed && len(got[uid]) != sizes[uid]:
					t.Errorf("uid %d: %d bytes, appended %d", uid, len(got[uid]), sizes[uid])
				}
			}
		})
	}
	// The connection is in step after the drained literals.
	if err := s.Noop(testCtx(t)); err != nil {
		t.Fatalf("Noop after oversize bodies: %v", err)
	}
}

func TestFetchMessagesExpungedMeanwhileIsAbsent(t *testing.T) {
	cfg := plainConfig(t)
	a := mustDial(t, cfg)
	uids, _ := seedVaried(t, a, 10)
	mustSelect(t, a, "INBOX") // a's view holds all ten

	b := mustDial(t, cfg)
	mustSelect(t, b, "INBOX")
	gone := []uint32{uids[2], uids[7]}
	if err := b.Expunge(testCtx(t), UIDs(gone...)); err != nil {
		t.Fatalf("Expunge by the other session: %v", err)
	}

	asked := append(slices.Clone(uids), uids[len(uids)-1]+1000) // and one that never existed
	got, res, err := collect(t, a, UIDs(asked...), 1<<20)
	if err != nil {
		t.Fatalf("FetchMessages with expunged UIDs: %v", err)
	}
	if len(res.Oversize) != 0 {
		t.Errorf("Oversize = %v", res.Oversize)
	}
	for _, uid := range uids {
		_, handed := got[uid]
		if want := !slices.Contains(gone, uid); handed != want {
			t.Errorf("uid %d handed=%v, want %v", uid, handed, want)
		}
	}
	if len(got) != len(uids)-len(gone) {
		t.Errorf("got %d bodies, want %d", len(got), len(uids)-len(gone))
	}
	if a.Broken() {
		t.Error("session broken after expunged UIDs")
	}
}

func TestFetchMessagesCallbackErrorStopsAndDrains(t *testing.T) {
	s := mustDial(t, plainConfig(t))
	uids, _ := seedVaried(t, s, 8)
	mustSelect(t, s, "INBOX")
	stop := errors.New("enough")
	calls := 0
	_, err := s.FetchMessages(testCtx(t), UIDs(uids...), 1<<20, func(uint32, []byte) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("err = %v, want the callback's error", err)
	}
	if calls != 3 {
		t.Errorf("fn called %d times, want 3 (not again after its error)", calls)
	}
	if s.Broken() {
		t.Fatal("a callback error broke the session")
	}
	if got, _, err := collect(t, s, UIDs(uids...), 1<<20); err != nil || len(got) != len(uids) {
		t.Fatalf("next batch: %d bodies, err %v; want %d, nil", len(got), err, len(uids))
	}
}

func TestFetchMessagesArguments(t *testing.T) {
	s := mustDial(t, plainConfig(t))
	noop := func(uint32, []byte) error { return nil }
	if _, err := s.FetchMessages(testCtx(t), UIDs(1), 1<<20, noop); !errors.Is(err, ErrNoMailbox) {
		t.Errorf("without a selected mailbox: err = %v, want ErrNoMailbox", err)
	}
	mustSelect(t, s, "INBOX")
	before := s.Stats().Commands
	if _, err := s.FetchMessages(testCtx(t), UIDs(), 1<<20, noop); err != nil {
		t.Errorf("empty set: %v", err)
	}
	if _, err := s.FetchMessages(testCtx(t), UIDs(1), 0, noop); err == nil {
		t.Error("maxBytes 0 accepted")
	}
	if n := s.Stats().Commands - before; n != 0 {
		t.Errorf("empty set and bad maxBytes sent %d commands, want 0", n)
	}
}

func TestSearchUIDRange(t *testing.T) {
	s := mustDial(t, plainConfig(t))
	uids, _ := seedVaried(t, s, 6)
	mustSelect(t, s, "INBOX")
	last := uids[len(uids)-1]
	for _, tc := range []struct {
		name     string
		from, to uint32
		since    time.Time
		want     []uint32
	}{
		{"all of them", uids[0], last, time.Time{}, uids},
		{"middle", uids[1], uids[3], time.Time{}, uids[1:4]},
		{"one", uids[2], uids[2], time.Time{}, uids[2:3]},
		{"since yesterday", uids[4], last + 50, time.Now().AddDate(0, 0, -1), uids[4:]},
		{"since tomorrow", uids[0], last, time.Now().AddDate(0, 0, 1), nil},
		{"above the last UID", last + 1, last + 100, time.Time{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := s.Stats().Commands
			got, err := s.SearchUIDRange(testCtx(t), tc.from, tc.to, tc.since)
			if err != nil {
				t.Fatalf("SearchUIDRange: %v", err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			if n := s.Stats().Commands - before; n != 1 {
				t.Errorf("cost %d commands, want 1", n)
			}
		})
	}
	if _, err := s.SearchUIDRange(testCtx(t), 5, 4, time.Time{}); err == nil {
		t.Error("inverted range accepted")
	}
}

// TestBatchAndRangeOnPlainIMAP4rev1: go-imap's own server (no ESEARCH,
// its own FETCH item order) gives the same answers as Dovecot.
func TestBatchAndRangeOnPlainIMAP4rev1(t *testing.T) {
	s := mustDial(t, memIMAP4rev1(t))
	var raws [][]byte
	for i := range 4 {
		raw := simpleMessage("a@example.org", "b@example.org", fmt.Sprintf("mem %d", i), strings.Repeat("x", 100*i))
		mustAppend(t, s, "INBOX", raw) // no UIDPLUS: UIDs are 1..4 on a fresh mailbox
		raws = append(raws, raw)
	}
	mustSelect(t, s, "INBOX")
	got, res, err := collect(t, s, UIDs(1, 2, 3, 4), int64(len(raws[2])))
	if err != nil {
		t.Fatalf("FetchMessages: %v", err)
	}
	for i, raw := range raws {
		uid := uint32(i + 1)
		if i < 3 && !bytes.Equal(got[uid], raw) {
			t.Errorf("uid %d: body differs from the appended one", uid)
		}
	}
	if _, handed := got[4]; handed || !slices.Equal(res.Oversize, []uint32{4}) {
		t.Errorf("uid 4 over maxBytes: handed=%v Oversize=%v", handed, res.Oversize)
	}
	uids, err := s.SearchUIDRange(testCtx(t), 2, 3, time.Time{})
	if err != nil || !slices.Equal(uids, []uint32{2, 3}) {
		t.Errorf("SearchUIDRange(2, 3) = %v, %v; want [2 3]", uids, err)
	}
}
