package mailconv

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/bridge/imip"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata")

// meetingOpts is a Berlin user's device at version v asking for plain text.
func meetingOpts(t testing.TB, v int) Options {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return Options{Version: v, BodyPrefs: []BodyPreference{{Type: BodyPlain}}, UserZone: loc}
}

// TestMeetingGolden renders the MessageClass and MeetingRequest of every
// invitation under testdata/imip for 12.1, 14.1 and 16.1 against the golden
// .xml next to it (-update rewrites them), and checks the class each
// fixture must have regardless of the golden files.
func TestMeetingGolden(t *testing.T) {
	classes := map[string]string{
		"outlook_request": imip.ClassRequest, "google_request": imip.ClassRequest,
		"recurring_exception": imip.ClassRequest, "instance_request": imip.ClassRequest,
		"cancel": imip.ClassCanceled, "reply_accepted": imip.ClassRespPos, "counter": imip.ClassRespTent,
	}
	files, _ := filepath.Glob("testdata/imip/*.eml")
	if len(files) != len(classes) {
		t.Fatalf("%d fixtures, want %d", len(files), len(classes))
	}
	for _, f := range files {
		base := strings.TrimSuffix(filepath.Base(f), ".eml")
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []int{121, 141, 161} {
			t.Run(base+"/"+string(rune('0'+v/10))+string(rune('0'+v%10)), func(t *testing.T) {
				ad, err := convert(t, raw, testMeta, meetingOpts(t, v))
				if err != nil {
					t.Fatalf("conversion problems: %v", err)
				}
				class := ad.ChildText(wbxml.Email, "MessageClass")
				if class != classes[base] {
					t.Errorf("MessageClass %q, want %q", class, classes[base])
				}
				mr := ad.Child(wbxml.Email, "MeetingRequest")
				if mr == nil {
					t.Fatal("no MeetingRequest")
				}
				if !mr.Has(wbxml.Email, "GlobalObjId") || !mr.Has(wbxml.Email, "DtStamp") || !mr.Has(wbxml.Email, "TimeZone") {
					t.Error("MeetingRequest lacks a required child (GlobalObjId, DtStamp, TimeZone)")
				}
				got := "<!-- MessageClass: " + class + " -->\n" + mr.XML()
				meetingGolden(t, filepath.Join("testdata", "imip", base+"."+versionDot(v)+".xml"), got)
			})
		}
	}
}

func versionDot(v int) string {
	return string(rune('0'+v/100)) + string(rune('0'+v/10%10)) + "." + string(rune('0'+v%10))
}

func meetingGolden(t *testing.T, path, got string) {
	t.Helper()
	if *updateGolden {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// TestMeetingPartChoice: an inline text/calendar wins over the attached
// invite.ics Google adds; an invitation inside a forwarded message is not
// the user's; a PUBLISH is an ordinary mail without a problem.
func TestMeetingPartChoice(t *testing.T) {
	google := readEML(t, "imip/google_request.eml")
	tree := parseTree(google)
	c := analyze(tree)
	if c.calendar == nil || c.calendar.mediaType != "text/calendar" {
		t.Fatalf("chose %v, want the inline text/calendar", c.calendar)
	}
	fwd := []byte("From: a@example.com\r\nTo: alice@example.com\r\nSubject: Fwd\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\nsee below\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n" + string(google) + "\r\n--b--\r\n")
	ad, _ := convert(t, fwd, testMeta, meetingOpts(t, 141))
	if ad.ChildText(wbxml.Email, "MessageClass") != "IPM.Note" || ad.Has(wbxml.Email, "MeetingRequest") {
		t.Error("a forwarded invitation became a meeting request")
	}
	publish := []byte("From: a@example.com\r\nTo: alice@example.com\r\nSubject: Holidays\r\nContent-Type: text/calendar; method=PUBLISH\r\n\r\n" +
		"BEGIN:VCALENDAR\r\nMETHOD:PUBLISH\r\nBEGIN:VEVENT\r\nUID:h1\r\nDTSTART;VALUE=DATE:20261225\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
	ad, err := convert(t, publish, testMeta, meetingOpts(t, 141))
	if err != nil || ad.ChildText(wbxml.Email, "MessageClass") != "IPM.Note" || ad.Has(wbxml.Email, "MeetingRequest") {
		t.Errorf("PUBLISH: class %q, err %v; want IPM.Note and no problem", ad.ChildText(wbxml.Email, "MessageClass"), err)
	}
}

// TestMeetingResponseRequestedFromRecipients: the user's own ATTENDEE line
// (found among To and Cc) decides ResponseRequested.
func TestMeetingResponseRequestedFromRecipients(t *testing.T) {
	ics := "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:r1\r\nDTSTAMP:20261201T000000Z\r\nDTSTART:20261210T100000Z\r\n" +
		"ORGANIZER:mailto:o@example.com\r\nATTENDEE;RSVP=FALSE:mailto:alice@example.com\r\nATTENDEE;RSVP=TRUE:mailto:bob@example.com\r\n" +
		"END:VEVENT\r\nEND:VCALENDAR\r\n"
	for to, want := range map[string]string{"alice@example.com": "0", "Bob <bob@example.com>": "1", "list@example.com": "1"} {
		raw := []byte("From: o@example.com\r\nTo: " + to + "\r\nSubject: x\r\nContent-Type: text/calendar; method=REQUEST\r\n\r\n" + ics)
		ad, err := convert(t, raw, testMeta, meetingOpts(t, 141))
		if err != nil {
			t.Fatal(err)
		}
		if got := ad.Child(wbxml.Email, "MeetingRequest").ChildText(wbxml.Email, "ResponseRequested"); got != want {
			t.Errorf("To %s: ResponseRequested %s, want %s", to, got, want)
		}
	}
}
