package imip

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"
	"github.com/idlebridge/idlebridge/activesync/items"
	"github.com/idlebridge/idlebridge/bridge/calconv"
)

var replyNow = time.Date(2026, 12, 2, 8, 30, 0, 0, time.UTC)

func parseReply(t *testing.T, b []byte) (*ical.Calendar, *ical.Component) {
	t.Helper()
	cal, err := calconv.ParseICal(b)
	if err != nil {
		t.Fatalf("REPLY does not parse: %v\n%s", err, b)
	}
	var evs []*ical.Component
	for _, c := range cal.Children {
		if c.Name == ical.CompEvent {
			evs = append(evs, c)
		}
	}
	if len(evs) != 1 {
		t.Fatalf("%d VEVENTs in the REPLY", len(evs))
	}
	return cal, evs[0]
}

func TestReplyWholeMeeting(t *testing.T) {
	m, err := Parse(readICS(t, "outlook.ics"), opts(t, items.V141))
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Reply(Answer{Attendee: "Alice@Example.com", PartStat: PartStatAccepted, Comment: "See you", Now: replyNow})
	if err != nil {
		t.Fatal(err)
	}
	cal, ev := parseReply(t, b)
	if got := cal.Props.Get(ical.PropMethod).Value; got != "REPLY" {
		t.Errorf("METHOD %s", got)
	}
	atts := ev.Props[ical.PropAttendee]
	if len(atts) != 1 || !strings.EqualFold(atts[0].Value, "mailto:alice@example.com") ||
		atts[0].Params.Get(ical.ParamParticipationStatus) != "ACCEPTED" || atts[0].Params.Get(ical.ParamRSVP) != "" ||
		atts[0].Params.Get(ical.ParamCommonName) != "Alice Attendee" {
		t.Errorf("ATTENDEE lines %+v, want Alice's alone, ACCEPTED, without RSVP", atts)
	}
	for name, want := range map[string]string{ical.PropUID: m.UID, ical.PropSequence: "0", ical.PropOrganizer: "mailto:bob@example.com",
		ical.PropDateTimeStamp: "20261202T083000Z", ical.PropComment: "See you", ical.PropDateTimeStart: "20261210T140000"} {
		if p := ev.Props.Get(name); p == nil || p.Value != want {
			t.Errorf("%s = %v, want %q", name, p, want)
		}
	}
	if ev.Props.Get(ical.PropRecurrenceID) != nil || ev.Props.Get(ical.PropDescription) != nil || ev.Props.Get(ical.PropLocation) != nil {
		t.Error("REPLY carries what it should not (RECURRENCE-ID, DESCRIPTION, LOCATION)")
	}
	if !bytes.Contains(b, []byte("TZID:W. Europe Standard Time")) {
		t.Error("the VTIMEZONE DTSTART names is missing")
	}
}

func TestReplyOneInstance(t *testing.T) {
	m, err := Parse(readICS(t, "recurring.ics"), opts(t, items.V161))
	if err != nil {
		t.Fatal(err)
	}
	// The moved occurrence (an override in the request) keeps its own
	// RECURRENCE-ID; a plain occurrence gets one in UTC and no times.
	moved := time.Date(2026, 12, 14, 14, 0, 0, 0, time.UTC)
	b, err := m.Reply(Answer{Attendee: "alice@example.com", PartStat: PartStatDeclined, Instance: moved, Now: replyNow})
	if err != nil {
		t.Fatal(err)
	}
	_, ev := parseReply(t, b)
	if rid := ev.Props.Get(ical.PropRecurrenceID); rid == nil || rid.Value != "20261214T090000" || rid.Params.Get(ical.PropTimezoneID) != "America/New_York" {
		t.Errorf("override RECURRENCE-ID %+v", rid)
	}
	if s := ev.Props.Get(ical.PropSummary); s == nil || s.Value != "Team standup (moved)" {
		t.Errorf("answered the master instead of the override: %v", s)
	}
	plain := time.Date(2026, 12, 21, 14, 0, 0, 0, time.UTC)
	b, err = m.Reply(Answer{Attendee: "alice@example.com", PartStat: PartStatTentative, Instance: plain, Now: replyNow})
	if err != nil {
		t.Fatal(err)
	}
	_, ev = parseReply(t, b)
	if rid := ev.Props.Get(ical.PropRecurrenceID); rid == nil || rid.Value != "20261221T140000Z" {
		t.Errorf("occurrence RECURRENCE-ID %+v", rid)
	}
	if ev.Props.Get(ical.PropDateTimeStart) != nil || ev.Props.Get(ical.PropRecurrenceRule) != nil {
		t.Error("an occurrence's reply carries the series' DTSTART or RRULE")
	}
	if seq := ev.Props.Get(ical.PropSequence); seq == nil || seq.Value != "1" {
		t.Errorf("SEQUENCE %v, want the request's 1", seq)
	}
}

func TestReplyAddsMissingAttendee(t *testing.T) {
	m, err := Parse(readICS(t, "google.ics"), opts(t, items.V141))
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Reply(Answer{Attendee: "list-member@example.com", Name: "Lee", PartStat: PartStatAccepted, Now: replyNow})
	if err != nil {
		t.Fatal(err)
	}
	_, ev := parseReply(t, b)
	atts := ev.Props[ical.PropAttendee]
	if len(atts) != 1 || atts[0].Value != "mailto:list-member@example.com" || atts[0].Params.Get(ical.ParamCommonName) != "Lee" {
		t.Errorf("ATTENDEE %+v", atts)
	}
}

func TestReplyRefusesNonRequests(t *testing.T) {
	for _, f := range []string{"cancel.ics", "reply.ics"} {
		m, err := Parse(readICS(t, f), opts(t, items.V141))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Reply(Answer{Attendee: "alice@example.com", PartStat: PartStatAccepted, Now: replyNow}); err == nil {
			t.Errorf("%s: answered", f)
		}
	}
}

func TestReplyKey(t *testing.T) {
	inst := time.Date(2026, 12, 21, 14, 0, 0, 0, time.UTC)
	base := ReplyKey("u1", inst, 1, "ACCEPTED")
	if ReplyKey("u1", inst, 1, "accepted") != base || ReplyKey("u1", inst.In(time.FixedZone("x", 3600)), 1, "ACCEPTED") != base {
		t.Error("the same answer got two keys")
	}
	for name, k := range map[string]string{
		"uid": ReplyKey("u2", inst, 1, "ACCEPTED"), "instance": ReplyKey("u1", time.Time{}, 1, "ACCEPTED"),
		"sequence": ReplyKey("u1", inst, 2, "ACCEPTED"), "partstat": ReplyKey("u1", inst, 1, "DECLINED"),
		// length-prefixed parts: moving a character between fields changes the key
		"boundary": ReplyKey("u11", inst, 1, "ACCEPTED"),
	} {
		if k == base {
			t.Errorf("a different %s gave the same key", name)
		}
	}
}

func TestReplyMail(t *testing.T) {
	m, err := Parse(readICS(t, "outlook.ics"), opts(t, items.V141))
	if err != nil {
		t.Fatal(err)
	}
	a := Answer{Attendee: "alice@example.com", Name: "Alice Ätt", PartStat: PartStatTentative, Comment: "Maybe late", Now: replyNow}
	ics, err := m.Reply(a)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := m.ReplyMail(a, ics)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := m.ReplyMail(a, ics)
	if !bytes.Equal(raw, again) {
		t.Error("the same answer gave two different messages")
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	dec := new(mime.WordDecoder)
	subj, _ := dec.DecodeHeader(msg.Header.Get("Subject"))
	if msg.Header.Get("To") != "bob@example.com" || subj != "Tentative: Quarterly planning" {
		t.Errorf("To %q, Subject %q", msg.Header.Get("To"), subj)
	}
	_, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var calPart []byte
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		mt, ps, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		body, _ := io.ReadAll(p) // multipart decodes quoted-printable only
		if mt == "text/calendar" {
			if ps["method"] != "REPLY" {
				t.Errorf("text/calendar method %q", ps["method"])
			}
			calPart = decodeB64(t, body)
		}
	}
	back, err := Parse(calPart, opts(t, items.V141))
	if err != nil {
		t.Fatal(err)
	}
	if back.Class() != ClassRespTent || back.UID != m.UID {
		t.Errorf("the reply reads back as %s for %s", back.Class(), back.UID)
	}
}

func decodeB64(t *testing.T, b []byte) []byte {
	t.Helper()
	out, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, bytes.NewReader(b))) // it skips CR and LF
	if err != nil {
		t.Fatal(err)
	}
	return out
}
