package bridge_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/activesync/items"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/internal/testenv"
)

// TestOrganizerInvitationsSentOnce is issue 15 item 3: at 16.x the server
// sends the meeting's REQUEST when the user's device creates it with
// attendees, and its CANCEL when the device deletes it — once each, to the
// attendees — and a resent Add sends nothing more. At 14.1 the device
// sends its own invitations, so the bridge sends none.
func TestOrganizerInvitationsSentOnce(t *testing.T) {
	_, maildir := testenv.SMTP(t)
	ctx := context.Background()
	for _, ver := range []string{"16.1", "14.1"} {
		t.Run(ver, func(t *testing.T) {
			c := startCalendar(t, time.Hour, false)
			v := items.V161
			if ver == "14.1" {
				v = items.V141
			}
			dev := c.Device(t, "org-"+ver, ver)
			fs, err := dev.FolderSync(ctx, "0")
			if err != nil || fs.Status != "1" {
				t.Fatalf("FolderSync: %v %+v", err, fs)
			}
			f, _ := client.FolderByType(fs.Add, 8)
			_, key, err := dev.SyncAll(ctx, f.ServerID, client.SyncOptions{WindowSize: 10})
			if err != nil {
				t.Fatal(err)
			}
			add := &items.Calendar{Event: items.Event{
				StartTime: items.Ptr(time.Date(2026, 12, 9, 9, 0, 0, 0, time.UTC)), EndTime: items.Ptr(time.Date(2026, 12, 9, 10, 0, 0, 0, time.UTC)),
				Subject: items.Ptr("Budget review"), AllDayEvent: items.Ptr(false), BusyStatus: items.Ptr(2),
				Attendees: []items.Attendee{{Email: "bob@example.com", Name: "Bob", Type: items.Ptr(items.AttendeeRequired)}},
			}, ClientUID: items.Ptr("org-invite-" + ver)}
			cmds := calCommands("Add", "a1", add.Encode(v))
			r, err := dev.Sync(ctx, f.ServerID, key, client.SyncOptions{WindowSize: 10, Commands: cmds})
			if err != nil || r.Status != "1" || len(r.Responses) != 1 {
				t.Fatalf("Add: %v %+v", err, r)
			}
			id := r.Responses[0].ChildText(wbxml.AirSync, "ServerId")
			// The answer was lost: the same Add again, under the same key.
			if r2, err := dev.Sync(ctx, f.ServerID, key, client.SyncOptions{WindowSize: 10, Commands: cmds}); err != nil || r2.Status != "1" {
				t.Fatalf("resent Add: %v %+v", err, r2)
			}
			marker := []byte("X-MailFrom: " + c.User)
			requests := func() int {
				n := 0
				for _, m := range sinkMessages(t, maildir, marker) {
					if bytes.Contains(m, []byte("method=REQUEST")) && bytes.Contains(m, []byte("bob@example.com")) {
						n++
					}
				}
				return n
			}
			want := 1
			if ver == "14.1" {
				want = 0
			}
			if n := requests(); n != want {
				t.Fatalf("%d REQUESTs on the sink after the Add and its resend, want %d", n, want)
			}
			r3, err := dev.Sync(ctx, f.ServerID, r.SyncKey, client.SyncOptions{WindowSize: 10, Commands: calCommands("Delete", id, nil)})
			if err != nil || r3.Status != "1" {
				t.Fatalf("Delete: %v %+v", err, r3)
			}
			cancels := 0
			for _, m := range sinkMessages(t, maildir, marker) {
				if bytes.Contains(m, []byte("method=CANCEL")) {
					cancels++
				}
			}
			if cancels != want {
				t.Fatalf("%d CANCELs on the sink after the Delete, want %d", cancels, want)
			}
		})
	}
}
