package mail

import (
	"sync"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/mailid"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

// newSharedRig is a recheck rig whose shared fetches outlive the whole
// test, so which re-check shares depends on the keys alone, not on time.
func newSharedRig(t *testing.T) *recheckRig {
	r := newRecheckRig(t)
	r.m.shared.life = time.Hour
	return r
}

// N devices woken at once by one recorded delivery cost one upstream
// fetch between them (SELECT + FETCH CHANGEDSINCE), where each used to
// make its own; every one of them still sees the delivery.
func TestRecheckSharedOneFetchForAllDevices(t *testing.T) {
	const n = 12
	r := newSharedRig(t)
	r.seed("INBOX", 3)
	inbox := r.folderID("INBOX")
	devs := make([]string, n)
	for i := range devs {
		devs[i] = "d" + string(rune('a'+i))
		r.syncDevice(inbox, devs[i])
	}
	r.appendMsg("INBOX", message("new", "x"), time.Time{})
	r.observe("INBOX", true)

	r.mailRig.mu.Lock()
	cmds0 := r.total
	r.mailRig.mu.Unlock()
	var wg sync.WaitGroup
	changed := make([]bool, n)
	errs := make([]error, n)
	for i, d := range devs {
		col, err := r.store.GetCollection(testCtx(t), r.acct.Address(), d, inbox)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			changed[i], errs[i] = r.m.Recheck(testCtx(t), r.acct, d, inbox, "INBOX", col, false)
		}()
	}
	wg.Wait()
	r.mailRig.mu.Lock()
	cmds := r.total - cmds0
	r.mailRig.mu.Unlock()
	for i := range devs {
		if errs[i] != nil || !changed[i] {
			t.Fatalf("device %s: changed %v, err %v; want the delivery", devs[i], changed[i], errs[i])
		}
	}
	r.mu.Lock()
	up, shared := r.by[RecheckByUpstream], r.by[RecheckByShared]
	r.mu.Unlock()
	t.Logf("%d devices woken: %d upstream, %d shared, %d IMAP commands (before: %d upstream checks, 2 commands each)", n, up, shared, cmds, n)
	if up != 1 || shared != n-1 || cmds != 2 {
		t.Fatalf("%d upstream, %d shared re-checks, %d IMAP commands; want 1, %d, 2 (one SELECT + one FETCH for all)", up, shared, cmds, n-1)
	}
}

// A device's own change never wakes it, shared fetch or not: its Sync
// moved its version past the change, so it is answered by the record;
// the two devices still at the old version share one fetch and are both
// woken for it.
func TestRecheckSharedNoEcho(t *testing.T) {
	r := newSharedRig(t)
	r.seed("INBOX", 3)
	inbox := r.folderID("INBOX")
	for _, d := range []string{"a", "b", "c"} {
		r.syncDevice(inbox, d)
	}
	res := r.sync(inbox, r.currentKey(inbox, "a"), syncOpts{device: "a", commands: []activesync.SyncCommand{
		{Kind: "Change", ServerID: mailid.Item(inbox, 1), Data: readChange(true)},
	}})
	if res.Status != 1 {
		t.Fatalf("Sync status %d", res.Status)
	}
	r.observe("INBOX", true)
	r.wantRecheck(inbox, "INBOX", "b", false, true, RecheckByUpstream)
	r.wantRecheck(inbox, "INBOX", "c", false, true, RecheckByShared)
	r.wantRecheck(inbox, "INBOX", "a", false, false, RecheckByVersion)

	// A delivery then: a and c (c caught up to the same version as a)
	// share a fetch; for both the delivery is news, a's change is not.
	r.syncDevice(inbox, "c")
	r.appendMsg("INBOX", message("new", "x"), time.Time{})
	r.observe("INBOX", true)
	r.wantRecheck(inbox, "INBOX", "c", false, true, RecheckByUpstream)
	r.wantRecheck(inbox, "INBOX", "a", false, true, RecheckByShared)
	n, err := r.m.EstimateCollection(testCtx(t), r.acct, "a", inbox, "INBOX", r.collection("a", inbox), r.currentKey(inbox, "a"), activesync.SyncOptions{Class: "Email", MIMETruncation: -1})
	if err != nil || n != 1 {
		t.Fatalf("a's estimate: %d, %v; want 1 (the delivery, not its own change)", n, err)
	}
}

// collection is device's stored state of folder.
func (r *recheckRig) collection(device, folder string) *state.Collection {
	r.t.Helper()
	col, err := r.store.GetCollection(testCtx(r.t), r.acct.Address(), device, folder)
	if err != nil {
		r.t.Fatal(err)
	}
	return col
}

// The filter stays per device: a delivery dated before a three-day window
// is no news to the two filtered devices (the second answered from the
// first's fetch) and wakes the unfiltered one.
func TestRecheckSharedFilterWindow(t *testing.T) {
	r := newSharedRig(t)
	r.seed("INBOX", 3)
	inbox := r.folderID("INBOX")
	for _, d := range []string{"f1", "f2"} {
		o := syncOpts{device: d, filter: 3}
		r.drain(inbox, r.primed(inbox, o), o)
	}
	r.syncDevice(inbox, "all")
	r.appendMsg("INBOX", message("old", "x"), time.Now().AddDate(-1, 0, 0))
	r.observe("INBOX", true)
	r.wantRecheck(inbox, "INBOX", "f1", false, false, RecheckByUpstream)
	r.wantRecheck(inbox, "INBOX", "f2", false, false, RecheckByShared)
	r.wantRecheck(inbox, "INBOX", "all", false, true, RecheckByUpstream)

	// A recent delivery is in everyone's window.
	r.appendMsg("INBOX", message("recent", "x"), time.Time{})
	r.observe("INBOX", true)
	r.wantRecheck(inbox, "INBOX", "f1", false, true, RecheckByUpstream)
	r.wantRecheck(inbox, "INBOX", "f2", false, true, RecheckByShared)
}

// A flag change by another client wakes every device, the second from the
// first's fetch; an expunge cannot be placed by the incremental data, so
// each device asks the provider for itself and is woken.
func TestRecheckSharedFlagChangeAndExpunge(t *testing.T) {
	r := newSharedRig(t)
	r.seed("INBOX", 3)
	inbox := r.folderID("INBOX")
	r.syncDevice(inbox, "a")
	r.syncDevice(inbox, "b")
	r.selectOther("INBOX")
	if err := r.other.Store(testCtx(t), imap.UIDs(2), imap.StoreAdd, []string{`\Flagged`}); err != nil {
		t.Fatal(err)
	}
	r.observe("INBOX", true)
	r.wantRecheck(inbox, "INBOX", "a", false, true, RecheckByUpstream)
	r.wantRecheck(inbox, "INBOX", "b", false, true, RecheckByShared)

	r.syncDevice(inbox, "a")
	r.syncDevice(inbox, "b")
	r.selectOther("INBOX")
	if err := r.other.Expunge(testCtx(t), imap.UIDs(3)); err != nil {
		t.Fatal(err)
	}
	r.observe("INBOX", true)
	r.wantRecheck(inbox, "INBOX", "a", false, true, RecheckByUpstream)
	r.wantRecheck(inbox, "INBOX", "b", false, true, RecheckByUpstream)
}

// A stale mark or a new record while the shared fetch runs: the fetch may
// predate the change the mark announces, so nobody is answered from it —
// the leader and the next device each ask the provider, and find the
// change made under the mark.
func TestRecheckSharedNotUsedAcrossAStaleMark(t *testing.T) {
	for _, tc := range []struct {
		name string
		mid  func(r *recheckRig)
	}{
		{"StaleMark", func(r *recheckRig) {
			if err := r.store.StaleVersion(testCtx(r.t), r.acct.Address(), "INBOX", time.Now()); err != nil {
				r.t.Fatal(err)
			}
			r.appendMsg("INBOX", message("under the mark", "x"), time.Time{})
		}},
		{"NewRecord", func(r *recheckRig) {
			r.appendMsg("INBOX", message("recorded meanwhile", "x"), time.Time{})
			r.observe("INBOX", true)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newSharedRig(t)
			r.seed("INBOX", 3)
			inbox := r.folderID("INBOX")
			r.syncDevice(inbox, "a")
			r.syncDevice(inbox, "b")
			r.appendMsg("INBOX", message("first", "x"), time.Time{})
			r.observe("INBOX", true)
			col, err := r.store.GetCollection(testCtx(t), r.acct.Address(), "b", inbox)
			if err != nil {
				t.Fatal(err)
			}
			rec1, ok, err := r.store.GetVersion(testCtx(t), r.acct.Address(), "INBOX", time.Now())
			if err != nil || !ok {
				t.Fatalf("record: %v %v", ok, err)
			}
			once := false
			r.m.shared.afterFetch = func() {
				if !once {
					once = true
					tc.mid(r)
				}
			}
			r.wantRecheck(inbox, "INBOX", "a", false, true, RecheckByUpstream)
			if !once {
				t.Fatal("the shared fetch did not run")
			}
			// b's re-check started from the first record: it must not be
			// served by the fetch the mark outdated.
			r.mu.Lock()
			shared0 := r.by[RecheckByShared]
			r.mu.Unlock()
			n, used, err := r.m.recheckShared(testCtx(t), r.acct, "b", inbox, "INBOX", col, parseMailMeta(col.Meta), rec1)
			if err != nil {
				t.Fatal(err)
			}
			r.mu.Lock()
			shared := r.by[RecheckByShared] - shared0
			r.mu.Unlock()
			if shared != 0 || used {
				t.Fatalf("b answered from the outdated fetch (%d new, used %v)", n, used)
			}
			r.m.shared.afterFetch = nil
			r.wantRecheck(inbox, "INBOX", "b", false, true, RecheckByUpstream)
		})
	}
}

// A SELECT that shows less than the record announced (a view older than
// the watcher's notice) is never shared: answered "unchanged" to every
// device, it would hide the change the record announced. Each device
// asks the provider for itself.
func TestRecheckSharedNeedsASelectCoveringTheRecord(t *testing.T) {
	r := newSharedRig(t)
	r.seed("INBOX", 3)
	inbox := r.folderID("INBOX")
	r.syncDevice(inbox, "a")
	r.syncDevice(inbox, "b")
	st := r.selectOther("INBOX")
	if err := r.store.PutVersion(testCtx(t), r.acct.Address(), "INBOX", state.UpstreamVersion{
		UIDValidity: st.UIDValidity, UIDNext: st.UIDNext + 1, ModSeq: st.HighestModSeq + 1, Messages: st.Messages + 1, Live: true, At: time.Now(),
	}); err != nil {
		t.Fatal(err)
	}
	r.wantRecheck(inbox, "INBOX", "a", false, false, RecheckByUpstream)
	r.wantRecheck(inbox, "INBOX", "b", false, false, RecheckByUpstream)
}
