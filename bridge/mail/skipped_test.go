package mail

import (
	"bytes"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/bridge/mailid"
	"github.com/idlebridge/idlebridge/bridge/state"
)

// faults is a FetchFault that fails chosen UIDs a number of times.
type faults struct {
	mu    sync.Mutex
	left  map[uint32]int // UID → failures left; -1 forever
	calls map[uint32]int
}

func (f *faults) fault(_ string, uid uint32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[uid]++
	switch n := f.left[uid]; {
	case n < 0:
		return errors.New("injected: fails every time")
	case n > 0:
		f.left[uid] = n - 1
		return errors.New("injected: fails once")
	}
	return nil
}

// syncLog captures the engine's log lines.
type syncLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// TestSkippedMessageComesLater: a message whose fetch fails once inside a
// window arrives in the next Sync even on a CONDSTORE server, where the
// stored UIDNEXT/HIGHESTMODSEQ would otherwise let that Sync answer
// "unchanged"; one that fails every time is retried a bounded number of
// times, then sent as a placeholder, logged with user, folder and UID, and
// counted; the folder is not stalled by it.
func TestSkippedMessageComesLater(t *testing.T) {
	t.Run("embedded", func(t *testing.T) { testSkippedMessageComesLater(t, embeddedStore(t)) })
	t.Run("redis", func(t *testing.T) { testSkippedMessageComesLater(t, redisStore(t)) })
}

func testSkippedMessageComesLater(t *testing.T, store state.Store) {
	var log syncLog
	var (
		mu       sync.Mutex
		outcomes = map[string]int{}
		// fault is set once the messages it fails are known.
		fault func(folderID string, uid uint32) error
	)
	r := newRigWith(t, store, slog.New(slog.NewTextHandler(&log, nil)), Options{
		OnSkipped: func(o string) { mu.Lock(); outcomes[o]++; mu.Unlock() },
		FetchFault: func(folderID string, uid uint32) error {
			mu.Lock()
			fn := fault
			mu.Unlock()
			if fn == nil {
				return nil
			}
			return fn(folderID, uid)
		},
	})
	if !r.other.Caps().CondStore {
		t.Fatal("the test Dovecot must offer CONDSTORE")
	}
	inbox := r.folderID("INBOX")
	key, _ := r.drain(inbox, r.primed(inbox, syncOpts{}), syncOpts{})

	once := r.appendMsg("INBOX", message("flaky", "x"), time.Time{})
	never := r.appendMsg("INBOX", message("broken", "x"), time.Time{})
	ok := r.appendMsg("INBOX", message("fine", "x"), time.Time{})
	f := &faults{left: map[uint32]int{once: 1, never: -1}, calls: map[uint32]int{}}
	mu.Lock()
	fault = f.fault
	mu.Unlock()

	got := map[string]wbxml.Element{}
	take := func(step string, want ...uint32) {
		t.Helper()
		res := r.sync(inbox, key, syncOpts{})
		if res.Status != 1 {
			t.Fatalf("%s: status %d", step, res.Status)
		}
		key = res.SyncKey
		var ids []string
		for _, it := range res.Commands {
			if it.Kind != "Add" {
				t.Fatalf("%s: unexpected %s %s", step, it.Kind, it.ServerID)
			}
			if _, dup := got[it.ServerID]; dup {
				t.Fatalf("%s: %s sent twice", step, it.ServerID)
			}
			got[it.ServerID] = *it.Data
			ids = append(ids, it.ServerID)
		}
		var wantIDs []string
		for _, uid := range want {
			wantIDs = append(wantIDs, mailid.Item(inbox, uid))
		}
		if strings.Join(sortedCopy(ids), " ") != strings.Join(sortedCopy(wantIDs), " ") {
			t.Fatalf("%s: got %v, want %v", step, ids, wantIDs)
		}
	}
	take("first", ok)    // once and never skipped (attempt 1)
	take("second", once) // once comes now; never skipped (attempt 2)
	take("third", never) // never given up at attempt 3: a placeholder
	take("fourth")       // nothing left, nothing retried
	if n := f.calls[never]; n != 3 {
		t.Errorf("the broken message was tried %d times, want 3", n)
	}
	ph := got[mailid.Item(inbox, never)]
	if s := ph.ChildText(wbxml.Email, "Subject"); s != "broken" {
		t.Errorf("placeholder subject %q, want the envelope's", s)
	}
	if body := ph.Child(wbxml.AirSyncBase, "Body").ChildText(wbxml.AirSyncBase, "Data"); !strings.Contains(body, "could not fetch") {
		t.Errorf("placeholder body %q", body)
	}
	if outcomes[SkipRetry] != 3 || outcomes[SkipGivenUp] != 1 {
		t.Errorf("skip metrics %v, want 3 retries and 1 given up", outcomes)
	}
	out := log.String()
	var line string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "given up") {
			line = l
		}
	}
	for _, want := range []string{"level=ERROR", "user=" + r.acct.Address(), "folder=INBOX", "uid=" + strconv.Itoa(int(never))} {
		if !strings.Contains(line, want) {
			t.Errorf("give-up log line %q lacks %q", line, want)
		}
	}
	// Once settled, the folder is back to the cheap path.
	res := r.sync(inbox, key, syncOpts{})
	if len(res.Commands) != 0 || r.lastCommands("Sync") != 1 {
		t.Errorf("settled folder: %d commands, %d IMAP commands, want 0 and 1", len(res.Commands), r.lastCommands("Sync"))
	}
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// TestSyncByteBudget: a window whose items exceed the byte budget is cut
// (MoreAvailable), every message still arrives exactly once, and a
// message larger than the whole budget goes alone (and waits when the
// answer already holds other items).
func TestSyncByteBudget(t *testing.T) {
	r := newRig(t, embeddedStore(t))
	inbox := r.folderID("INBOX")
	key, _ := r.drain(inbox, r.primed(inbox, syncOpts{}), syncOpts{})
	for i := range 6 {
		r.appendMsg("INBOX", message("budget "+strconv.Itoa(i), strings.Repeat("word ", 4000)), time.Time{})
	}
	o := syncOpts{maxBytes: 8000} // room for about two truncated items
	first := r.sync(inbox, key, o)
	if !first.MoreAvailable || len(first.Commands) == 0 || len(first.Commands) >= 6 {
		t.Fatalf("first window: %d items, more=%v; want a part of 6 and MoreAvailable", len(first.Commands), first.MoreAvailable)
	}
	_, rest := r.drain(inbox, first.SyncKey, o)
	seen := map[string]bool{}
	for _, it := range append(first.Commands, rest...) {
		if seen[it.ServerID] {
			t.Fatalf("%s sent twice", it.ServerID)
		}
		seen[it.ServerID] = true
	}
	if len(seen) != 6 {
		t.Fatalf("%d of 6 messages arrived", len(seen))
	}
	// Untruncated, one message (20 KB) is larger than a budget of 1 KB:
	// it still goes, alone.
	r2 := newRig(t, embeddedStore(t))
	inbox2 := r2.folderID("INBOX")
	key2, _ := r2.drain(inbox2, r2.primed(inbox2, syncOpts{}), syncOpts{})
	for i := range 2 {
		r2.appendMsg("INBOX", message("big "+strconv.Itoa(i), strings.Repeat("word ", 4000)), time.Time{})
	}
	// Behind other collections' items it waits instead.
	res := r2.sync(inbox2, key2, syncOpts{maxBytes: 1000, bodyType: 2, notFirst: true})
	if len(res.Commands) != 0 || !res.MoreAvailable {
		t.Fatalf("over-budget window behind other items: %d items, more=%v; want none and MoreAvailable", len(res.Commands), res.MoreAvailable)
	}
	key2 = res.SyncKey
	big := syncOpts{maxBytes: 1000, bodyType: 2}
	res = r2.sync(inbox2, key2, big)
	if len(res.Commands) != 1 || !res.MoreAvailable {
		t.Fatalf("over-budget window: %d items, more=%v; want 1 and MoreAvailable", len(res.Commands), res.MoreAvailable)
	}
	res = r2.sync(inbox2, res.SyncKey, big)
	if len(res.Commands) != 1 || res.MoreAvailable {
		t.Fatalf("second over-budget window: %d items, more=%v; want 1, done", len(res.Commands), res.MoreAvailable)
	}
}
