package bridge_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/bridge/imip"
	"github.com/idlebridge/idlebridge/internal/bridgetest"
)

// TestInvitationsThroughDovecot stores the invitation fixtures of
// bridge/mailconv (Outlook- and Google-style REQUESTs, a recurring one with
// an exception, one instance, a CANCEL, a REPLY, a COUNTER) in the test
// Dovecot and syncs the Inbox through the front at 12.1, 14.1 and 16.1:
// each arrives with its meeting MessageClass and a MeetingRequest whose
// GlobalObjId decodes to the iCalendar UID (research note P11).
func TestInvitationsThroughDovecot(t *testing.T) {
	type want struct {
		class, uid, start, instanceType, location string
	}
	wants := map[string]want{
		"Quarterly planning": {imip.ClassRequest,
			"040000008200E00074C5B7101A82E00800000000D0C4A3B2E5C9DC01000000000000000010000000A1B2C3D4E5F60718293A4B5C6D7E8F90",
			"2026-12-10T13:00:00.000Z", "0", "Room 4.12"},
		"Invitation: Coffee chat @ Fri Dec 11, 2026 10am - 10:30am (CET) (alice@example.com)": {imip.ClassRequest,
			"5q8r2kd1vd3m0fh4c9mhn1j2ab@google.com", "2026-12-11T09:00:00.000Z", "0", "Café Central, Herrengasse 14"},
		"Invitation: Team standup": {imip.ClassRequest, "7f3c9a52-1e4b-4d8a-9c61-2b5e8f0d4a17",
			"2026-12-07T14:00:00.000Z", "1", "https://meet.example.org/standup"},
		"Updated: Team standup (longer)": {imip.ClassRequest, "7f3c9a52-1e4b-4d8a-9c61-2b5e8f0d4a17",
			"2026-12-21T14:00:00.000Z", "3", "Room 2"},
		"Canceled event: Coffee chat @ Fri Dec 11, 2026 10am - 10:30am (CET)": {imip.ClassCanceled,
			"5q8r2kd1vd3m0fh4c9mhn1j2ab@google.com", "2026-12-11T09:00:00.000Z", "0", "Café Central, Herrengasse 14"},
		"Accepted: Design review":          {imip.ClassRespPos, "c2f1e5d0-88a4-4b0e-a3b2-61f0d9e7c3aa", "", "0", ""},
		"New Time Proposed: Design review": {imip.ClassRespTent, "c2f1e5d0-88a4-4b0e-a3b2-61f0d9e7c3aa", "2026-12-15T15:00:00.000Z", "0", ""},
	}
	ctx := context.Background()
	e := bridgetest.Start(t, bridgetest.Options{})
	up := e.IMAP(t)
	files, err := filepath.Glob("mailconv/testdata/imip/*.eml")
	if err != nil || len(files) != len(wants) {
		t.Fatalf("fixtures: %v %v", files, err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := up.Append(ctx, "INBOX", nil, time.Now(), bytes.NewReader(raw), int64(len(raw))); err != nil {
			t.Fatalf("append %s: %v", filepath.Base(f), err)
		}
	}
	for _, ver := range []string{"12.1", "14.1", "16.1"} {
		t.Run(ver, func(t *testing.T) {
			dev := e.Device(t, "phone"+ver, ver)
			fs, err := dev.FolderSync(ctx, "0")
			if err != nil || fs.Status != "1" {
				t.Fatalf("FolderSync: %v %+v", err, fs)
			}
			inbox, _ := client.FolderByType(fs.Add, 2)
			got, _, err := dev.SyncAll(ctx, inbox.ServerID, client.SyncOptions{BodyType: 1, Class: "Email"})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(wants) {
				t.Fatalf("%d items, want %d", len(got), len(wants))
			}
			for _, d := range got {
				subj := d.ChildText(wbxml.Email, "Subject")
				w, ok := wants[subj]
				if !ok {
					t.Errorf("unexpected item %q", subj)
					continue
				}
				if c := d.ChildText(wbxml.Email, "MessageClass"); c != w.class {
					t.Errorf("%s: MessageClass %q, want %q", subj, c, w.class)
				}
				mr := d.Child(wbxml.Email, "MeetingRequest")
				if mr == nil {
					t.Errorf("%s: no MeetingRequest", subj)
					continue
				}
				uid, _, err := imip.UIDFromGlobalObjID(mr.ChildText(wbxml.Email, "GlobalObjId"))
				if err != nil || uid != w.uid {
					t.Errorf("%s: GlobalObjId decodes to %q (%v), want %q", subj, uid, err, w.uid)
				}
				if s := mr.ChildText(wbxml.Email, "StartTime"); s != w.start {
					t.Errorf("%s: StartTime %q, want %q", subj, s, w.start)
				}
				if s := mr.ChildText(wbxml.Email, "InstanceType"); s != w.instanceType {
					t.Errorf("%s: InstanceType %q, want %q", subj, s, w.instanceType)
				}
				loc := mr.ChildText(wbxml.Email, "Location")
				if ver == "16.1" {
					loc = mr.Child(wbxml.AirSyncBase, "Location").ChildText(wbxml.AirSyncBase, "DisplayName")
					if mr.Has(wbxml.Email, "Location") {
						t.Errorf("%s: Email:Location at 16.1", subj)
					}
				}
				if loc != w.location {
					t.Errorf("%s: Location %q, want %q", subj, loc, w.location)
				}
				if has := mr.Has(wbxml.Email2, "MeetingMessageType"); has != (ver != "12.1") {
					t.Errorf("%s: MeetingMessageType present=%v at %s", subj, has, ver)
				}
				if mr.ChildText(wbxml.Email, "TimeZone") == "" || mr.ChildText(wbxml.Email, "DtStamp") == "" {
					t.Errorf("%s: TimeZone or DtStamp missing: %s", subj, mr.XML())
				}
			}
		})
	}
}
