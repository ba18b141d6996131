package calconv

import (
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/items"
)

const invitation = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Example//Invite//EN\r\nMETHOD:REQUEST\r\n" +
	"BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\n" +
	"BEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n" +
	"BEGIN:VEVENT\r\nUID:series-1\r\nDTSTAMP:20261201T000000Z\r\nSEQUENCE:2\r\nSUMMARY:Weekly sync\r\n" +
	"DTSTART;TZID=Europe/Berlin:20261207T100000\r\nDTEND;TZID=Europe/Berlin:20261207T103000\r\nRRULE:FREQ=WEEKLY;COUNT=5\r\n" +
	"ORGANIZER;CN=Bob:mailto:bob@example.com\r\n" +
	"ATTENDEE;CN=\"Alice, A.\";ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:alice@example.com\r\n" +
	"ATTENDEE;CN=Carol;PARTSTAT=NEEDS-ACTION;RSVP=TRUE;X-NUM-GUESTS=0:mailto:carol@example.org\r\n" +
	"X-UNKNOWN;X-P=1:keep me\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT10M\r\nDESCRIPTION:x\r\nEND:VALARM\r\nEND:VEVENT\r\n" +
	"BEGIN:VEVENT\r\nUID:series-1\r\nDTSTAMP:20261201T000000Z\r\nSEQUENCE:2\r\nSUMMARY:Weekly sync (moved)\r\nRECURRENCE-ID;TZID=Europe/Berlin:20261214T100000\r\n" +
	"DTSTART;TZID=Europe/Berlin:20261214T140000\r\nDTEND;TZID=Europe/Berlin:20261214T143000\r\n" +
	"ATTENDEE;CN=\"Alice, A.\";PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:alice@example.com\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

func lines(s string) map[string]int {
	out := map[string]int{}
	raw, _ := parseRaw([]byte(s))
	var walk func(c *rawComp)
	walk = func(c *rawComp) {
		for _, e := range c.entries {
			if e.child != nil {
				walk(e.child)
			} else {
				out[e.line]++
			}
		}
	}
	walk(raw)
	return out
}

func TestSetPartStatSeries(t *testing.T) {
	opt := berlinUser(t, items.V141)
	out, err := SetPartStat([]byte(invitation), Answer{Email: "Alice@Example.com", PartStat: "ACCEPTED"}, opt)
	if err != nil {
		t.Fatal(err)
	}
	before, after := lines(invitation), lines(string(out))
	if after["METHOD:REQUEST"] != 0 {
		t.Error("METHOD kept in a stored object")
	}
	want := `ATTENDEE;CN="Alice, A.";ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED:mailto:alice@example.com`
	if after[want] != 1 || after[`ATTENDEE;CN="Alice, A.";PARTSTAT=ACCEPTED:mailto:alice@example.com`] != 1 {
		t.Errorf("Alice's lines not answered in master and override:\n%s", out)
	}
	// Everything else is as it was, byte for byte.
	for l, n := range before {
		if strings.HasPrefix(l, "METHOD") || strings.Contains(l, "alice@example.com") {
			continue
		}
		if after[l] != n {
			t.Errorf("line %q: %d times, was %d", l, after[l], n)
		}
	}
	if _, err := FromICal(out, opt); err != nil {
		t.Errorf("patched object does not convert: %v", err)
	}
}

func TestSetPartStatAddsListInvitee(t *testing.T) {
	out, err := SetPartStat([]byte(invitation), Answer{Email: "lee@example.com", Name: "Lee; Jr", PartStat: "TENTATIVE"}, berlinUser(t, items.V141))
	if err != nil {
		t.Fatal(err)
	}
	if n := lines(string(out))[`ATTENDEE;CN="Lee; Jr";PARTSTAT=TENTATIVE:mailto:lee@example.com`]; n != 2 {
		t.Errorf("added line in %d VEVENTs, want both:\n%s", n, out)
	}
}

func TestSetPartStatOneOccurrence(t *testing.T) {
	opt := berlinUser(t, items.V161)
	moved := time.Date(2026, 12, 14, 9, 0, 0, 0, time.UTC) // 10:00 Berlin, the override's RECURRENCE-ID
	out, err := SetPartStat([]byte(invitation), Answer{Email: "alice@example.com", PartStat: "DECLINED", Instance: &moved}, opt)
	if err != nil {
		t.Fatal(err)
	}
	after := lines(string(out))
	if after[`ATTENDEE;CN="Alice, A.";PARTSTAT=DECLINED:mailto:alice@example.com`] != 1 ||
		after[`ATTENDEE;CN="Alice, A.";ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:alice@example.com`] != 1 {
		t.Errorf("only the override should change:\n%s", out)
	}
	// An occurrence without an override gets one, times shifted, no rules.
	plain := time.Date(2026, 12, 21, 9, 0, 0, 0, time.UTC)
	out, err = SetPartStat([]byte(invitation), Answer{Email: "alice@example.com", PartStat: "TENTATIVE", Instance: &plain}, opt)
	if err != nil {
		t.Fatal(err)
	}
	after = lines(string(out))
	for _, l := range []string{"RECURRENCE-ID:20261221T090000Z", "DTSTART:20261221T090000Z", "DTEND:20261221T093000Z",
		`ATTENDEE;CN="Alice, A.";ROLE=REQ-PARTICIPANT;PARTSTAT=TENTATIVE:mailto:alice@example.com`} {
		if after[l] != 1 {
			t.Errorf("new override lacks %q:\n%s", l, out)
		}
	}
	if after["RRULE:FREQ=WEEKLY;COUNT=5"] != 1 || after["X-UNKNOWN;X-P=1:keep me"] != 2 {
		t.Errorf("the override copied the rule, or lost the unknown property:\n%s", out)
	}
	res, err := FromICal(out, opt)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, x := range res.Item.Exceptions {
		found = found || x.Start.Equal(plain)
	}
	if !found {
		t.Errorf("the new override is no exception of the series: %+v", res.Item.Exceptions)
	}
}

func TestMarkCancelled(t *testing.T) {
	opt := berlinUser(t, items.V141)
	out, changed, err := MarkCancelled([]byte(invitation), nil, opt)
	if err != nil || !changed {
		t.Fatalf("changed %v, err %v", changed, err)
	}
	if n := lines(string(out))["STATUS:CANCELLED"]; n != 2 {
		t.Errorf("STATUS:CANCELLED in %d VEVENTs, want 2", n)
	}
	if _, changed, _ := MarkCancelled(out, nil, opt); changed {
		t.Error("cancelling twice changed the object again")
	}
	res, err := FromICal(out, opt)
	if err != nil || res.Item.MeetingStatus == nil || *res.Item.MeetingStatus != 7 {
		t.Errorf("a cancelled received meeting reads as MeetingStatus %v (%v), want 7", res.Item.MeetingStatus, err)
	}
	one := time.Date(2026, 12, 28, 9, 0, 0, 0, time.UTC)
	out, _, err = MarkCancelled([]byte(invitation), &one, opt)
	if err != nil {
		t.Fatal(err)
	}
	if n := lines(string(out))["STATUS:CANCELLED"]; n != 1 || lines(string(out))["RECURRENCE-ID:20261228T090000Z"] != 1 {
		t.Errorf("one cancelled occurrence:\n%s", out)
	}
}

// FuzzSetPartStat: any stored object either fails cleanly or yields one
// that parses again, with the user's answer in it.
func FuzzSetPartStat(f *testing.F) {
	f.Add([]byte(invitation), int64(0))
	f.Add([]byte(invitation), time.Date(2026, 12, 21, 9, 0, 0, 0, time.UTC).Unix())
	f.Add([]byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART;VALUE=DATE:20261224\r\nRRULE:FREQ=YEARLY\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"), int64(1798070400))
	f.Fuzz(func(t *testing.T, data []byte, instance int64) {
		opt := Options{Version: items.V161, Zones: testZones()}
		a := Answer{Email: "alice@example.com", PartStat: "ACCEPTED"}
		if instance != 0 {
			at := time.Unix(instance%(1<<34), 0).UTC()
			a.Instance = &at
		}
		out, err := SetPartStat(data, a, opt)
		if err != nil {
			return
		}
		if _, err := ParseICal(out); err != nil {
			t.Fatalf("patched object does not parse: %v\n%s", err, out)
		}
		if unfolded := strings.ReplaceAll(string(out), "\r\n ", ""); !strings.Contains(strings.ToLower(unfolded), "partstat=accepted") {
			t.Fatalf("answer missing:\n%s", out)
		}
		_, _, _ = MarkCancelled(data, a.Instance, opt)
	})
}
