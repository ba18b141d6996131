package calconv

import (
	"strings"
	"testing"
)

func TestKeepAlarms(t *testing.T) {
	stored := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:m1\r\nSEQUENCE:0\r\nSUMMARY:Old\r\n" +
		"BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT30M\r\nDESCRIPTION:mine\r\nEND:VALARM\r\nEND:VEVENT\r\n" +
		"BEGIN:VEVENT\r\nUID:m1\r\nRECURRENCE-ID:20261203T090000Z\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT5M\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	newer := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:m1\r\nSEQUENCE:1\r\nSUMMARY:New time\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	got := string(KeepAlarms([]byte(newer), []byte(stored)))
	if !strings.Contains(got, "SUMMARY:New time\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT30M\r\nDESCRIPTION:mine\r\nEND:VALARM\r\nEND:VEVENT\r\n") {
		t.Fatalf("the user's alarm did not move into the newer object:\n%s", got)
	}
	if strings.Contains(got, "-PT5M") {
		t.Errorf("an override's alarm went into the master:\n%s", got)
	}
	if _, err := ParseICal([]byte(got)); err != nil {
		t.Fatalf("the result does not parse: %v\n%s", err, got)
	}
	// The organizer's own alarm stays as it is; no stored alarm, nothing to do.
	withOwn := strings.Replace(newer, "END:VEVENT", "BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT10M\r\nEND:VALARM\r\nEND:VEVENT", 1)
	if got := string(KeepAlarms([]byte(withOwn), []byte(stored))); got != withOwn {
		t.Errorf("an organizer's alarm was changed:\n%s", got)
	}
	if got := string(KeepAlarms([]byte(newer), []byte(newer))); got != newer {
		t.Errorf("no stored alarm: the object changed:\n%s", got)
	}
	// LF-only objects keep their line ends.
	lf := strings.ReplaceAll(newer, "\r\n", "\n")
	if got := string(KeepAlarms([]byte(lf), []byte(stored))); strings.Contains(got, "\r") || !strings.Contains(got, "TRIGGER:-PT30M\n") {
		t.Errorf("LF object: %q", got)
	}
}

func FuzzKeepAlarms(f *testing.F) {
	f.Add([]byte("BEGIN:VEVENT\nEND:VEVENT\n"), []byte("BEGIN:VEVENT\nBEGIN:VALARM\nEND:VALARM\nEND:VEVENT\n"))
	f.Add([]byte("BEGIN:VEVENT\r\nRECURRENCE-ID:x\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nEND:VEVENT"), []byte("BEGIN:VEVENT\r\nBEGIN:VALARM\r\nBEGIN:X\r\nEND:VEVENT"))
	f.Fuzz(func(t *testing.T, newer, stored []byte) {
		out := KeepAlarms(newer, stored)
		if len(masterAlarms(stored)) == 0 && string(out) != string(newer) {
			t.Fatalf("changed an object with nothing to carry")
		}
	})
}
