package mail

import (
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/bridge/foldermap"
	"github.com/idlebridge/idlebridge/bridge/state"
)

// The edges of SearchMailbox against Dovecot: other classes, a range past
// the end, the default body, a term IMAP cannot carry, and the IMAP cost
// of a one-folder search.
func TestSearchMailboxEdges(t *testing.T) {
	r := newRig(t, embeddedStore(t))
	long := strings.Repeat("word ", 4000)
	for i := range 3 {
		r.appendMsg("INBOX", message("edge "+string(rune('a'+i)), "edge body "+long), time.Date(2026, 2, 1+i, 9, 0, 0, 0, time.UTC))
	}
	inbox := r.folderID("INBOX")
	ctx := testCtx(t)
	search := func(q activesync.MailboxQuery) (*activesync.MailboxResult, error) {
		if q.RangeEnd == 0 {
			q.RangeEnd = 99
		}
		return r.m.SearchMailbox(ctx, r.acct, r.device, &q)
	}
	edge := activesync.MailboxCriteria{FreeText: []string{"edge"}}

	res, err := search(activesync.MailboxQuery{CollectionIDs: []string{inbox}, Criteria: edge})
	if err != nil || res.Total != 3 || len(res.Hits) != 3 {
		t.Fatalf("edge search: %v %+v", err, res)
	}
	if n := r.lastCommands("Search"); n != 5 {
		t.Errorf("one-folder search cost %d IMAP commands, want 5 (SELECT, SEARCH, dates, summaries, bodies)", n)
	}
	h := res.Hits[0]
	if h.Data.ChildText(wbxml.Email, "Subject") != "edge c" || h.LongID != h.ServerID || h.CollectionID != inbox || h.Class != "Email" {
		t.Errorf("newest hit %+v %s", h, h.Data.ChildText(wbxml.Email, "Subject"))
	}
	body := h.Data.Child(wbxml.AirSyncBase, "Body")
	if body.ChildText(wbxml.AirSyncBase, "Type") != "1" || body.ChildText(wbxml.AirSyncBase, "Truncated") != "1" ||
		len(body.ChildText(wbxml.AirSyncBase, "Data")) > SearchDefaultBody {
		t.Errorf("default body: type %s truncated %s, %d bytes", body.ChildText(wbxml.AirSyncBase, "Type"),
			body.ChildText(wbxml.AirSyncBase, "Truncated"), len(body.ChildText(wbxml.AirSyncBase, "Data")))
	}

	if res, err := search(activesync.MailboxQuery{Criteria: edge, RangeStart: 5, RangeEnd: 9}); err != nil || res.Total != 3 || len(res.Hits) != 0 {
		t.Errorf("range past the end: %v %+v", err, res)
	}
	if res, err := search(activesync.MailboxQuery{Class: "Contacts", Criteria: edge}); err != nil || res.Total != 0 {
		t.Errorf("contacts class: %v %+v", err, res)
	}
	if _, err := search(activesync.MailboxQuery{Criteria: activesync.MailboxCriteria{From: []string{"a\r\nb"}}}); statusOf(err) != activesync.SearchStatusProtocolError {
		t.Errorf("term with a line break: %v", err)
	}
	if _, err := search(activesync.MailboxQuery{CollectionIDs: []string{"4242"}}); statusOf(err) != activesync.SearchStatusFolderSyncNeeded {
		t.Errorf("unknown folder: %v", err)
	}
	// A calendar's collection holds no mail: no results, no error; beside
	// INBOX it is left out.
	var calID string
	if _, err := r.m.updateFolderMap(ctx, r.acct.Address(), func(fm *foldermap.Map) *state.Delta {
		d := &state.Delta{Set: map[string]string{}}
		calID = fm.AssignRef(engine.Ref{Kind: engine.KindCalendar, Path: "/cal/home/"}, d)
		return d
	}); err != nil {
		t.Fatal(err)
	}
	if res, err := search(activesync.MailboxQuery{CollectionIDs: []string{calID}, Criteria: edge}); err != nil || res.Total != 0 {
		t.Errorf("calendar collection: %v %+v", err, res)
	}
	if res, err := search(activesync.MailboxQuery{CollectionIDs: []string{calID, inbox}, Criteria: edge}); err != nil || res.Total != 3 {
		t.Errorf("calendar and INBOX: %v %+v", err, res)
	}
}
