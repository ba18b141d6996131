package send

import (
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/state"
)

// The send engine changes two mailboxes itself: it files the Sent copy
// and flags a replied-to original \Answered. Each marks the mailbox's
// upstream version record stale first (state.Versions), so a parked
// device whose version equals the record from before is re-checked
// upstream and woken, not told "unchanged". Fails if either forgot.
func TestSendMarksChangedMailboxesStale(t *testing.T) {
	e := newSendEnv(t, "")
	orig, _ := originalWithAttachment()
	id, _ := e.appendOriginal(t, orig)
	user := e.acct.Address()
	for _, mb := range []string{"INBOX", "Sent"} {
		if err := e.store.PutVersion(e.ctx, user, mb, state.UpstreamVersion{UIDValidity: 1, UIDNext: 2, ModSeq: 3, Messages: 1, Live: true, At: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	err := e.sender.Send(e.ctx, e.acct, "dev1", &activesync.OutgoingMail{Kind: "SmartReply", ClientID: "r1",
		SourceFolderID: e.folderID(t, "INBOX"), SourceItemID: id, MIME: []byte(replyMessage), SaveInSent: true})
	if err != nil {
		t.Fatal(err)
	}
	if sent, _ := e.mailboxMessages(t, "Sent"); len(sent) != 1 {
		t.Fatalf("Sent holds %d, want 1", len(sent))
	}
	for _, mb := range []string{"INBOX", "Sent"} {
		if v, ok, err := e.store.GetVersion(e.ctx, user, mb, time.Now()); err != nil || ok {
			t.Errorf("%s: version record %+v still trusted after the send changed it (err %v)", mb, v, err)
		}
	}
}
