package imap

import (
	"context"
	"testing"
	"time"
)

// statusSeen is one OnStatus call.
type statusSeen struct {
	mailbox     string
	st          Status
	known, live bool
}

// OnStatus tells, before each OnChange, the mailbox's status as a SELECT
// on another connection sees it: with NOTIFY from the STATUS items merged
// over NOTIFY SET STATUS's base, for a new message, a flag change and an
// expunge alike; in IDLE mode from a poll's STATUS for a polled mailbox,
// and "unknown" for the IDLE mailbox's EXISTS. Without it a parked
// device's re-check could not trust the record (bridge/mail's Recheck).
func TestMailboxWatchStatus(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts MailboxWatchOptions
		live bool
	}{
		{"notify", MailboxWatchOptions{}, true},
		{"idle", MailboxWatchOptions{NoNotify: true, PollInterval: 200 * time.Millisecond, HierarchyInterval: -1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := plainConfig(t)
			writer := mustDial(t, cfg)
			seen := make(chan statusSeen, 64)
			opts := tc.opts
			opts.OnStatus = func(mb string, st Status, known, live bool) { seen <- statusSeen{mb, st, known, live} }
			_, p, _, _ := startWatch(t, cfg, opts, []string{"INBOX", "Sent"})
			select {
			case <-p.ready:
			case <-time.After(30 * time.Second):
				t.Fatal("watch not ready")
			}
			drain := func() {
				for {
					select {
					case <-seen:
					default:
						p.drain()
						return
					}
				}
			}
			// waitStatus waits for mailbox's report, then compares it with
			// what a SELECT sees now.
			waitStatus := func(mailbox string, wantKnown bool) {
				t.Helper()
				deadline := time.After(20 * time.Second)
				for {
					select {
					case s := <-seen:
						if s.mailbox != mailbox {
							continue
						}
						if s.known != wantKnown || wantKnown && s.live != tc.live {
							t.Fatalf("%s: known %v live %v, want known %v live %v", mailbox, s.known, s.live, wantKnown, tc.live)
						}
						if !wantKnown {
							return
						}
						ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
						defer cancel()
						got, err := writer.Select(ctx, mailbox, true)
						if err != nil {
							t.Fatal(err)
						}
						if got.UIDValidity != s.st.UIDValidity || got.UIDNext != s.st.UIDNext ||
							got.HighestModSeq != s.st.HighestModSeq || got.Messages != s.st.Messages {
							t.Fatalf("%s: told %+v, SELECT sees %+v", mailbox, s.st, got)
						}
						return
					case <-deadline:
						t.Fatalf("no status told for %s", mailbox)
					}
				}
			}
			drain()
			mustAppend(t, writer, "Sent", simpleMessage("a@example.test", "b@example.test", "s1", "x"))
			waitStatus("Sent", true)
			mustSelect(t, writer, "Sent")
			drain()
			if err := writer.Store(testCtx(t), AllUIDs(), StoreAdd, []string{`\Flagged`}); err != nil {
				t.Fatalf("Store: %v", err)
			}
			waitStatus("Sent", true)
			mustSelect(t, writer, "Sent")
			drain()
			if err := writer.Store(testCtx(t), AllUIDs(), StoreAdd, []string{`\Deleted`}); err != nil {
				t.Fatalf("Store: %v", err)
			}
			if err := writer.Expunge(testCtx(t), AllUIDs()); err != nil {
				t.Fatalf("Expunge: %v", err)
			}
			waitStatus("Sent", true)
			drain()
			mustAppend(t, writer, "INBOX", simpleMessage("a@example.test", "b@example.test", "i1", "x"))
			waitStatus("INBOX", tc.live) // IDLE's EXISTS carries no status
		})
	}
}
