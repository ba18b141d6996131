package bridge_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/items"
	"github.com/idlebridge/idlebridge/bridge/imip"
	"github.com/idlebridge/idlebridge/internal/bridgetest"
	"github.com/idlebridge/idlebridge/internal/testenv"
)

// sinkMessages returns the messages in the SMTP sink's Maildir that
// contain marker (the sink is shared by every test).
func sinkMessages(t *testing.T, maildir string, marker []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for _, sub := range []string{"new", "cur"} {
		files, _ := filepath.Glob(filepath.Join(maildir, sub, "*"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err == nil && bytes.Contains(b, marker) {
				out = append(out, b)
			}
		}
	}
	return out
}

// TestMeetingReplySentOnce: the REPLY the server sends for an answer
// reaches the SMTP sink once, however often it is asked for (a resent
// MeetingResponse, a second device); a changed answer is a new reply.
func TestMeetingReplySentOnce(t *testing.T) {
	_, maildir := testenv.SMTP(t)
	ctx := context.Background()
	e := bridgetest.Start(t, bridgetest.Options{})
	raw, err := os.ReadFile("imip/testdata/google.ics")
	if err != nil {
		t.Fatal(err)
	}
	m, err := imip.Parse(raw, imip.Options{Version: items.V161})
	if err != nil {
		t.Fatal(err)
	}
	acct, err := e.Bridge.Login(ctx, e.User, e.Password)
	if err != nil {
		t.Fatal(err)
	}
	a := imip.Answer{Attendee: e.User, Name: "Test User", PartStat: imip.PartStatAccepted, Now: time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)}
	for range 3 {
		if err := e.Bridge.Sender.SendMeetingReply(ctx, acct, m, a); err != nil {
			t.Fatal(err)
		}
	}
	marker := []byte("X-MailFrom: " + e.User) // the sink's envelope line; the user is unique to the test
	if got := sinkMessages(t, maildir, marker); len(got) != 1 {
		t.Fatalf("%d replies on the sink after three answers, want 1", len(got))
	} else if !bytes.Contains(got[0], []byte("method=REPLY")) || !bytes.Contains(got[0], []byte("dana@example.net")) {
		t.Errorf("the sink got %.400s", got[0])
	}
	a.PartStat = imip.PartStatDeclined
	if err := e.Bridge.Sender.SendMeetingReply(ctx, acct, m, a); err != nil {
		t.Fatal(err)
	}
	if got := sinkMessages(t, maildir, marker); len(got) != 2 {
		t.Fatalf("%d replies after changing the answer, want 2", len(got))
	}
}
