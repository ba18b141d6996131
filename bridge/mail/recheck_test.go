package mail

import (
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/mailid"
	"github.com/idlebridge/idlebridge/bridge/state"
)

// recheckRig is a mail rig whose engine counts Recheck's outcomes.
type recheckRig struct {
	*mailRig
	mu sync.Mutex
	by map[string]int
}

func newRecheckRig(t *testing.T) *recheckRig {
	rr := &recheckRig{by: map[string]int{}}
	rr.mailRig = newRigWith(t, embeddedStore(t), slog.New(slog.DiscardHandler), Options{OnRecheck: func(by string) {
		rr.mu.Lock()
		rr.by[by]++
		rr.mu.Unlock()
	}})
	return rr
}

// syncDevice brings device's view of folder up to date and returns its key.
func (r *recheckRig) syncDevice(folder, device string) string {
	r.t.Helper()
	key, _ := r.drain(folder, r.primed(folder, syncOpts{device: device}), syncOpts{device: device})
	return key
}

// observe records the mailbox's current status as the watcher would.
func (r *recheckRig) observe(mailbox string, live bool) {
	r.t.Helper()
	st, err := r.other.Status(testCtx(r.t), mailbox)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := r.store.PutVersion(testCtx(r.t), r.acct.Address(), mailbox, state.UpstreamVersion{
		UIDValidity: st.UIDValidity, UIDNext: st.UIDNext, ModSeq: st.HighestModSeq, Messages: st.Messages, Live: live, At: time.Now(),
	}); err != nil {
		r.t.Fatal(err)
	}
}

// recheck runs Recheck for device and returns the answer, what decided
// it and the IMAP commands it cost.
func (r *recheckRig) recheck(folder, mailbox, device string, first bool) (bool, string, int64) {
	r.t.Helper()
	col, err := r.store.GetCollection(testCtx(r.t), r.acct.Address(), device, folder)
	if err != nil {
		r.t.Fatal(err)
	}
	r.mu.Lock()
	before := map[string]int{RecheckByVersion: r.by[RecheckByVersion], RecheckByUpstream: r.by[RecheckByUpstream], RecheckByShared: r.by[RecheckByShared]}
	r.mu.Unlock()
	r.mailRig.mu.Lock()
	cmds := r.total
	r.mailRig.mu.Unlock()
	changed, err := r.m.Recheck(testCtx(r.t), r.acct, device, folder, mailbox, col, first)
	if err != nil {
		r.t.Fatalf("Recheck: %v", err)
	}
	r.mu.Lock()
	by := ""
	for _, k := range []string{RecheckByVersion, RecheckByUpstream, RecheckByShared} {
		if r.by[k] != before[k] {
			by = k
		}
	}
	r.mu.Unlock()
	r.mailRig.mu.Lock()
	cmds = r.total - cmds
	r.mailRig.mu.Unlock()
	return changed, by, cmds
}

func (r *recheckRig) wantRecheck(folder, mailbox, device string, first, wantChanged bool, wantBy string) {
	r.t.Helper()
	changed, by, cmds := r.recheck(folder, mailbox, device, first)
	if changed != wantChanged || by != wantBy {
		r.t.Fatalf("Recheck of %s for %s (first %v): changed %v by %s, want %v by %s", mailbox, device, first, changed, by, wantChanged, wantBy)
	}
	if (by == RecheckByVersion || by == RecheckByShared) && cmds != 0 {
		r.t.Fatalf("Recheck by %s cost %d IMAP commands, want 0", by, cmds)
	}
}

// Equal versions answer "unchanged" with no IMAP command; a newer
// observation, a stale mark or no record go upstream and find the change;
// a polled (not live) record is not trusted for a Ping's first check.
func TestRecheckByVersion(t *testing.T) {
	r := newRecheckRig(t)
	r.seed("INBOX", 3)
	inbox := r.folderID("INBOX")
	r.syncDevice(inbox, "a")
	r.syncDevice(inbox, "b")

	// No record yet: upstream, nothing new.
	r.wantRecheck(inbox, "INBOX", "b", false, false, RecheckByUpstream)
	r.observe("INBOX", true)
	r.wantRecheck(inbox, "INBOX", "a", false, false, RecheckByVersion)
	r.wantRecheck(inbox, "INBOX", "b", true, false, RecheckByVersion)

	// A delivery the watcher recorded: a goes upstream and sees it, b
	// (same version, same record) is answered from a's fetch.
	r.appendMsg("INBOX", message("new", "x"), time.Time{})
	r.observe("INBOX", true)
	r.wantRecheck(inbox, "INBOX", "a", false, true, RecheckByUpstream)
	r.wantRecheck(inbox, "INBOX", "b", false, true, RecheckByShared)
	// a catches up: its version is the record's again.
	r.drain(inbox, r.currentKey(inbox, "a"), syncOpts{device: "a"})
	r.wantRecheck(inbox, "INBOX", "a", false, false, RecheckByVersion)

	// A stale or missing record never hides a change: upstream decides.
	r.appendMsg("INBOX", message("newer", "x"), time.Time{})
	if err := r.store.StaleVersion(testCtx(t), r.acct.Address(), "INBOX", time.Now()); err != nil {
		t.Fatal(err)
	}
	r.wantRecheck(inbox, "INBOX", "a", false, true, RecheckByUpstream)

	// A poll's record is trusted when woken, not on the first check.
	r.drain(inbox, r.currentKey(inbox, "a"), syncOpts{device: "a"})
	r.observe("INBOX", false)
	r.wantRecheck(inbox, "INBOX", "a", false, false, RecheckByVersion)
	r.wantRecheck(inbox, "INBOX", "a", true, false, RecheckByUpstream)
}

// currentKey is device's newest key of folder.
func (r *recheckRig) currentKey(folder, device string) string {
	r.t.Helper()
	col, err := r.store.GetCollection(testCtx(r.t), r.acct.Address(), device, folder)
	if err != nil {
		r.t.Fatal(err)
	}
	return col.SyncKey
}

// Every change the bridge makes itself marks the record stale first, so
// the other device of the user is not told "unchanged" from the record
// the watcher wrote before it (a record equal to that device's version).
// Each case fails if its path forgot the mark.
func TestRecheckAfterBridgeChanges(t *testing.T) {
	for _, tc := range []struct {
		name      string
		mailboxes []string
		do        func(r *recheckRig, ids map[string]string)
	}{
		{"SyncCommands", []string{"INBOX"}, func(r *recheckRig, ids map[string]string) {
			inbox := ids["INBOX"]
			res := r.sync(inbox, r.currentKey(inbox, "a"), syncOpts{device: "a", commands: []activesync.SyncCommand{
				{Kind: "Change", ServerID: mailid.Item(inbox, 1), Data: readChange(true)},
			}})
			if res.Status != 1 {
				r.t.Fatalf("Sync status %d", res.Status)
			}
		}},
		{"SyncDeleteToTrash", []string{"INBOX", "Trash"}, func(r *recheckRig, ids map[string]string) {
			inbox := ids["INBOX"]
			res := r.sync(inbox, r.currentKey(inbox, "a"), syncOpts{device: "a", commands: []activesync.SyncCommand{
				{Kind: "Delete", ServerID: mailid.Item(inbox, 3)},
			}})
			if res.Status != 1 {
				r.t.Fatalf("Sync status %d", res.Status)
			}
		}},
		{"MoveItems", []string{"INBOX", "Trash"}, func(r *recheckRig, ids map[string]string) {
			res, err := r.m.MoveItems(testCtx(r.t), r.acct, "a", []activesync.Move{
				{SrcMsgID: mailid.Item(ids["INBOX"], 2), SrcFldID: ids["INBOX"], DstFldID: ids["Trash"]},
			})
			if err != nil || res[0].Status != activesync.MoveStatusOK {
				r.t.Fatalf("MoveItems: %+v, %v", res, err)
			}
		}},
		{"EmptyFolder", []string{"Trash"}, func(r *recheckRig, ids map[string]string) {
			if err := r.m.EmptyMailbox(testCtx(r.t), r.acct, "a", ids["Trash"], "Trash", false); err != nil {
				r.t.Fatalf("EmptyMailbox: %v", err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRecheckRig(t)
			r.seed("INBOX", 3)
			r.seed("Trash", 2)
			ids := map[string]string{}
			for _, mb := range []string{"INBOX", "Trash"} {
				ids[mb] = r.folderID(mb)
				r.syncDevice(ids[mb], "a")
				r.syncDevice(ids[mb], "b")
				r.observe(mb, true)
				r.wantRecheck(ids[mb], mb, "b", true, false, RecheckByVersion)
			}
			tc.do(r, ids)
			for _, mb := range tc.mailboxes {
				r.wantRecheck(ids[mb], mb, "b", false, true, RecheckByUpstream)
			}
		})
	}
}
