package calconv

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

// TestPutOccurrence: the organizer's update of one occurrence goes into
// the stored series beside its master and other override; the user's
// alarm on a replaced override stays when the update has none, and an
// update older than the stored override changes nothing.
func TestPutOccurrence(t *testing.T) {
	series, err := os.ReadFile("../imip/testdata/recurring.ics")
	if err != nil {
		t.Fatal(err)
	}
	inst, err := os.ReadFile("../imip/testdata/instance.ics")
	if err != nil {
		t.Fatal(err)
	}
	opt := berlinUser(t, 141)
	at := utc("20261221T140000Z")
	out, err := PutOccurrence(series, inst, at, opt)
	if err != nil {
		t.Fatal(err)
	}
	text := string(bytes.ReplaceAll(out, []byte("\r\n "), nil))
	for _, want := range []string{"RRULE:FREQ=WEEKLY;COUNT=10;BYDAY=MO", "SUMMARY:Team standup (moved)", "RECURRENCE-ID:20261221T140000Z", "SUMMARY:Team standup (longer)", "BEGIN:VTIMEZONE"} {
		if !strings.Contains(text, want) {
			t.Errorf("lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "METHOD:") || strings.Count(text, "BEGIN:VEVENT") != 3 {
		t.Errorf("object:\n%s", text)
	}
	// The user sets an alarm on that occurrence; a newer update without
	// one keeps it, an older one is ignored.
	withAlarm := bytes.Replace(out, []byte("SUMMARY:Team standup (longer)\r\n"), []byte("SUMMARY:Team standup (longer)\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:x\r\nTRIGGER:-PT5M\r\nEND:VALARM\r\n"), 1)
	newer := bytes.Replace(inst, []byte("SEQUENCE:2"), []byte("SEQUENCE:3"), 1)
	newer = bytes.Replace(newer, []byte("LOCATION:Room 2"), []byte("LOCATION:Room 3"), 1)
	out2, err := PutOccurrence(withAlarm, newer, at, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out2, []byte("LOCATION:Room 3")) || !bytes.Contains(out2, []byte("TRIGGER:-PT5M")) {
		t.Errorf("newer update:\n%s", out2)
	}
	older := bytes.Replace(inst, []byte("SEQUENCE:2"), []byte("SEQUENCE:1"), 1)
	if out3, err := PutOccurrence(out2, older, at, opt); err != nil || !bytes.Equal(out3, out2) {
		t.Errorf("an older update changed the object: %v", err)
	}
	if _, err := PutOccurrence(series, inst, at.Add(time.Hour), opt); err == nil {
		t.Error("an instance the invitation does not hold was accepted")
	}
}
