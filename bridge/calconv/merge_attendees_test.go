package calconv

import (
	"bytes"
	"strings"
	"testing"

	"github.com/idlebridge/idlebridge/activesync/items"
)

// attendeeLines returns the ATTENDEE lines of the master VEVENT, unfolded.
func attendeeLines(t *testing.T, data []byte) []string {
	t.Helper()
	root, err := parseRaw(data)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ev := range root.children("VEVENT") {
		if ev.has("RECURRENCE-ID") {
			continue
		}
		for _, e := range ev.entries {
			if e.child == nil && e.name == "ATTENDEE" {
				out = append(out, e.line)
			}
		}
	}
	return out
}

func withoutAttendee(as []items.Attendee, email string) []items.Attendee {
	var out []items.Attendee
	for _, a := range as {
		if !strings.EqualFold(a.Email, email) {
			out = append(out, a)
		}
	}
	return out
}

// TestMergeAttendees is research note P12 on the organizer's side: the
// device's list becomes the ATTENDEE lines, a kept line changes only in
// what the device changed, the organizer's own line and one without an
// e-mail (never shown) stay, and SEQUENCE is bumped (RFC 5546 2.1.4).
func TestMergeAttendees(t *testing.T) {
	stored := readCase(t, "p12-meeting")
	const (
		alice  = "ATTENDEE;CN=Alice;PARTSTAT=ACCEPTED:mailto:alice@example.com"
		bob    = "ATTENDEE;PARTSTAT=NEEDS-ACTION;ROLE=REQ-PARTICIPANT:mailto:bob@example.com"
		carol  = "ATTENDEE;CN=Carol;PARTSTAT=TENTATIVE;ROLE=OPT-PARTICIPANT:mailto:carol@example.com"
		room   = "ATTENDEE;CN=Room 1;CUTYPE=ROOM;PARTSTAT=ACCEPTED:mailto:room1@example.com"
		nomail = "ATTENDEE;CN=No mail:urn:uuid:0d3e0c4e-1111-2222-3333-444455556666"
	)
	for _, v := range []items.Version{items.V121, items.V141, items.V161} {
		cases := []struct {
			name string
			edit func(c *items.Calendar)
			want []string // ATTENDEE lines after the merge; nil: no change at all
		}{
			{"unchanged list", func(c *items.Calendar) {}, nil},
			{"others' status is not the device's", func(c *items.Calendar) {
				for i := range c.Attendees {
					c.Attendees[i].Status = items.Ptr(items.AttendeeDeclined)
				}
			}, nil},
			{"address case differs", func(c *items.Calendar) {
				c.Attendees[0].Email = "BOB@Example.COM"
			}, nil},
			{"drop bob", func(c *items.Calendar) {
				c.Attendees = withoutAttendee(c.Attendees, "bob@example.com")
			}, []string{alice, carol, room, nomail}},
			{"add dave, optional", func(c *items.Calendar) {
				c.Attendees = append(c.Attendees, items.Attendee{Email: "dave@example.org", Name: "Dave", Type: items.Ptr(items.AttendeeOptional)})
			}, []string{alice, bob, carol, room, nomail,
				"ATTENDEE;CN=Dave;ROLE=OPT-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:dave@example.org"}},
			{"rename carol, make her required; room to required", func(c *items.Calendar) {
				for i := range c.Attendees {
					switch c.Attendees[i].Email {
					case "carol@example.com":
						c.Attendees[i].Name, c.Attendees[i].Type = "Caroline", items.Ptr(items.AttendeeRequired)
					case "room1@example.com":
						c.Attendees[i].Type = items.Ptr(items.AttendeeRequired)
					}
				}
			}, []string{alice, bob,
				"ATTENDEE;CN=Caroline;PARTSTAT=TENTATIVE;ROLE=REQ-PARTICIPANT:mailto:carol@example.com",
				"ATTENDEE;CN=Room 1;PARTSTAT=ACCEPTED;ROLE=REQ-PARTICIPANT:mailto:room1@example.com", nomail}},
			{"bob becomes a resource", func(c *items.Calendar) {
				c.Attendees[0].Type = items.Ptr(items.AttendeeResource)
			}, []string{alice, "ATTENDEE;PARTSTAT=NEEDS-ACTION;ROLE=NON-PARTICIPANT;CUTYPE=RESOURCE:mailto:bob@example.com", carol, room, nomail}},
			{"empty <Attendees/>", func(c *items.Calendar) {
				c.Attendees = []items.Attendee{}
			}, []string{alice, nomail}},
		}
		for _, tc := range cases {
			dev := deviceView(t, stored, v)
			if len(dev.Attendees) != 3 { // 12.1 items carry them too (MS-ASCAL 2.2.2.3)
				t.Fatalf("%v: device holds %d attendees", v, len(dev.Attendees))
			}
			if v >= items.V160 {
				// 16.x sends what changed; Attendees is sent whole when it is.
				dev = &items.Calendar{Event: items.Event{Attendees: dev.Attendees}}
			}
			tc.edit(dev)
			p := merge(t, stored, dev, Ghosting{}, v)
			if len(p.Unsupported) != 0 {
				t.Errorf("%v %s: unsupported %v", v, tc.name, p.Unsupported)
			}
			if tc.want == nil {
				if p.Changed {
					t.Errorf("%v %s: rewrote the object:\n%s", v, tc.name, p.Data)
				}
				continue
			}
			if got := attendeeLines(t, p.Data); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("%v %s: ATTENDEE lines\n%s\nwant\n%s", v, tc.name, strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if got := changedLines(t, stored, p.Data); !equalSets(got, []string{"ATTENDEE", "DTSTAMP", "LAST-MODIFIED", "SEQUENCE"}) {
				t.Errorf("%v %s: changed %v", v, tc.name, got)
			}
			if !bytes.Contains(p.Data, []byte("\r\nSEQUENCE:1\r\n")) || !bytes.Contains(p.Data, []byte("\r\nORGANIZER;CN=Alice:mailto:alice@example.com\r\n")) {
				t.Errorf("%v %s: SEQUENCE or ORGANIZER:\n%s", v, tc.name, p.Data)
			}
		}
	}
}

// TestMergeAttendeesKeptByteForByte: a 16.1 Change of only the subject
// leaves every ATTENDEE and the ORGANIZER line as it was, and SEQUENCE too.
func TestMergeAttendeesKeptByteForByte(t *testing.T) {
	stored := readCase(t, "p12-meeting")
	p := merge(t, stored, &items.Calendar{Event: items.Event{Subject: items.Ptr("Review, moved")}}, Ghosting{}, items.V161)
	if got := changedLines(t, stored, p.Data); !equalSets(got, []string{"SUMMARY", "DTSTAMP", "LAST-MODIFIED"}) {
		t.Errorf("subject edit changed %v\n%s", got, p.Data)
	}
	if len(attendeeLines(t, p.Data)) != 5 {
		t.Errorf("attendees lost:\n%s", p.Data)
	}
}

// TestMergeAttendeesGhosting: absent Attendees keeps the list in 16.x and
// when ghosted; at 14.1 without Supported it means none.
func TestMergeAttendeesGhosting(t *testing.T) {
	stored := readCase(t, "p12-meeting")
	dev := deviceView(t, stored, items.V141)
	dev.Attendees = nil
	if p := merge(t, stored, dev, Ghosting{Supported: map[string]bool{"Subject": true}}, items.V141); p.Changed {
		t.Errorf("ghosted Attendees touched:\n%s", p.Data)
	}
	p := merge(t, stored, dev, Ghosting{Supported: map[string]bool{"Attendees": true}}, items.V141)
	if got := attendeeLines(t, p.Data); len(got) != 2 {
		t.Errorf("listed, absent Attendees: %v", got)
	}
	if p := merge(t, stored, &items.Calendar{Event: items.Event{Subject: items.Ptr("Review")}}, Ghosting{Supported: map[string]bool{"Attendees": true}}, items.V161); p.Changed {
		t.Errorf("16.1 absent Attendees touched:\n%s", p.Data)
	}
}

// TestMergeAttendeesReceived: in someone else's meeting the device cannot
// rewrite the list (research note P12); its edits of other fields apply.
func TestMergeAttendeesReceived(t *testing.T) {
	stored := readCase(t, "p12-received")
	dev := deviceView(t, stored, items.V141)
	dev.Attendees = append(dev.Attendees, items.Attendee{Email: "eve@example.com", Name: "Eve"})
	if p := merge(t, stored, dev, Ghosting{}, items.V141); p.Changed {
		t.Errorf("attendee edit of a received meeting applied:\n%s", p.Data)
	}
	dev.Subject = items.Ptr("Their meeting (noted)")
	p := merge(t, stored, dev, Ghosting{}, items.V141)
	if got := changedLines(t, stored, p.Data); !equalSets(got, []string{"SUMMARY", "DTSTAMP", "LAST-MODIFIED"}) {
		t.Errorf("changed %v", got)
	}
}

// TestMergeAttendeesAdd: a device Add with attendees becomes a meeting
// the user organizes; existing organizers are kept.
func TestMergeAttendeesAdd(t *testing.T) {
	dev := &items.Calendar{Event: items.Event{
		StartTime: items.Ptr(utc("20260801T070000Z")), EndTime: items.Ptr(utc("20260801T080000Z")), Subject: items.Ptr("Plan"),
		Attendees: []items.Attendee{
			{Email: "bob@example.com", Name: "Bob", Type: items.Ptr(items.AttendeeRequired)},
			{Email: "carol@example.com", Name: "Carol, C.", Type: items.Ptr(items.AttendeeOptional)},
		}},
		ClientUID: items.Ptr("add-with-attendees"),
	}
	opt := berlinUser(t, items.V161)
	opt.UserName = "Alice A."
	p, err := Merge(nil, dev, Ghosting{}, opt, mergeNow)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"ATTENDEE;CN=Bob;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:bob@example.com",
		`ATTENDEE;CN="Carol, C.";ROLE=OPT-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:carol@example.com`,
	}
	if got := attendeeLines(t, p.Data); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("ATTENDEE lines %q", got)
	}
	if !bytes.Contains(p.Data, []byte("\r\nORGANIZER;CN=Alice A.:mailto:alice@example.com\r\n")) || bytes.Contains(p.Data, []byte("SEQUENCE")) {
		t.Errorf("organizer or sequence:\n%s", p.Data)
	}
	res, err := FromICal(p.Data, berlinUser(t, items.V161))
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Item; *c.MeetingStatus != 1 || len(c.Attendees) != 2 || *c.Attendees[1].Type != items.AttendeeOptional || c.Attendees[1].Name != "Carol, C." {
		t.Errorf("read back %+v", c)
	}

	// The user listing themself (iOS): accepted, nothing to answer, and
	// not shown back as an attendee.
	self := *dev
	self.Attendees = append([]items.Attendee{{Email: "Alice@example.com", Name: "Alice"}}, dev.Attendees...)
	p = merge(t, nil, &self, Ghosting{}, items.V161)
	if got := attendeeLines(t, p.Data); len(got) != 3 || got[0] != "ATTENDEE;CN=Alice;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED:mailto:Alice@example.com" {
		t.Errorf("self-attendee %q", got)
	}
	if res, err := FromICal(p.Data, berlinUser(t, items.V161)); err != nil || len(res.Item.Attendees) != 2 {
		t.Errorf("self-attendee read back: %v", err)
	}

	// Without a name known, ORGANIZER carries no CN; an Add without
	// attendees gets no ORGANIZER.
	p = merge(t, nil, dev, Ghosting{}, items.V161)
	if !bytes.Contains(p.Data, []byte("\r\nORGANIZER:mailto:alice@example.com\r\n")) {
		t.Errorf("organizer:\n%s", p.Data)
	}
	plain := *dev
	plain.Attendees = []items.Attendee{}
	if p = merge(t, nil, &plain, Ghosting{}, items.V161); bytes.Contains(p.Data, []byte("ORGANIZER")) || bytes.Contains(p.Data, []byte("ATTENDEE")) {
		t.Errorf("appointment became a meeting:\n%s", p.Data)
	}

	// An appointment the device turns into a meeting: ORGANIZER added,
	// SEQUENCE bumped.
	stored := readCase(t, "p1-berlin")
	ch := &items.Calendar{Event: items.Event{Attendees: dev.Attendees}}
	p = merge(t, stored, ch, Ghosting{}, items.V161)
	if !bytes.Contains(p.Data, []byte("\r\nORGANIZER:mailto:alice@example.com\r\n")) || len(attendeeLines(t, p.Data)) != 2 || !bytes.Contains(p.Data, []byte("SEQUENCE:")) {
		t.Errorf("appointment → meeting:\n%s", p.Data)
	}
}

// TestMergeAttendeesOverridesKept: an override's own ATTENDEE lines are
// not the series' list and stay as they were.
func TestMergeAttendeesOverridesKept(t *testing.T) {
	stored := []byte(strings.Join([]string{
		"BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//x//y//EN",
		"BEGIN:VEVENT", "UID:ov@example.com", "DTSTAMP:20260601T120000Z", "DTSTART:20260702T130000Z", "DTEND:20260702T140000Z",
		"RRULE:FREQ=DAILY;COUNT=3", "SUMMARY:Daily", "ORGANIZER:mailto:alice@example.com",
		"ATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@example.com", "END:VEVENT",
		"BEGIN:VEVENT", "UID:ov@example.com", "DTSTAMP:20260601T120000Z", "RECURRENCE-ID:20260703T130000Z",
		"DTSTART:20260703T150000Z", "DTEND:20260703T160000Z", "SUMMARY:Daily", "ORGANIZER:mailto:alice@example.com",
		"ATTENDEE;PARTSTAT=ACCEPTED;X-KEEP=1:mailto:bob@example.com", "END:VEVENT", "END:VCALENDAR", ""}, "\r\n"))
	p := merge(t, stored, &items.Calendar{Event: items.Event{Attendees: []items.Attendee{{Email: "carol@example.com"}}}}, Ghosting{}, items.V161)
	if got := attendeeLines(t, p.Data); len(got) != 1 || got[0] != "ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:carol@example.com" {
		t.Errorf("master attendees %q", got)
	}
	if !bytes.Contains(p.Data, []byte("\r\nATTENDEE;PARTSTAT=ACCEPTED;X-KEEP=1:mailto:bob@example.com\r\n")) {
		t.Errorf("override's attendee lost:\n%s", p.Data)
	}
}

// TestMergeAttendeesBadInput: device text that would break the line is
// cleaned or refused, never written as is.
func TestMergeAttendeesBadInput(t *testing.T) {
	stored := readCase(t, "p1-berlin")
	dev := &items.Calendar{Event: items.Event{Attendees: []items.Attendee{
		{Email: "evil@example.com\r\nATTENDEE:mailto:x@y", Name: "x"},
		{Email: "a;b@example.com"},
		{Email: "no-at-sign"},
		{Email: ""},
		{Email: "ok@example.com", Name: "Line\r\nBreak \"quoted\"\xff"},
		{Email: "OK@example.com", Name: "duplicate"},
	}}}
	p := merge(t, stored, dev, Ghosting{}, items.V161)
	got := attendeeLines(t, p.Data)
	if len(got) != 1 || got[0] != "ATTENDEE;CN=LineBreak quoted\uFFFD;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:ok@example.com" {
		t.Errorf("attendees %q\n%s", got, p.Data)
	}
}

// FuzzMergeAttendees feeds device attendee text into a merge: it must
// never fail or produce an object that does not parse (Merge checks).
func FuzzMergeAttendees(f *testing.F) {
	f.Add("bob@example.com", "Bob", 1, "carol@example.com", "Carol")
	f.Add("x\r\n@y", "a;b:c,\"d", 3, "", "\xff\x00")
	stored := readCase(&testing.T{}, "p12-meeting")
	f.Fuzz(func(t *testing.T, e1, n1 string, typ int, e2, n2 string) {
		dev := &items.Calendar{Event: items.Event{Attendees: []items.Attendee{
			{Email: e1, Name: n1, Type: &typ}, {Email: e2, Name: n2}, {Email: "carol@example.com", Name: n2, Type: &typ}}}}
		for _, base := range [][]byte{stored, nil} {
			if base == nil {
				dev.StartTime = items.Ptr(mergeNow)
			}
			opt := berlinUser(t, items.V161)
			opt.UserName = n2
			if _, err := Merge(base, dev, Ghosting{}, opt, mergeNow); err != nil {
				t.Fatalf("merge: %v", err)
			}
		}
	})
}
