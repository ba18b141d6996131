package imip

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/items"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/bridge/caltz"
)

func readICS(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func berlin(t testing.TB) *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func opts(t testing.TB, v items.Version) Options {
	return Options{Version: v, UserZone: berlin(t), Recipients: []string{"alice@example.com"}}
}

// field returns the text of a child of the MeetingRequest, "∅" if absent.
func field(mr *wbxml.Element, space, name string) string {
	if c := mr.Child(space, name); c != nil {
		return c.Content()
	}
	return "∅"
}

func TestParseFixtures(t *testing.T) {
	tests := []struct {
		file  string
		v     items.Version
		class string
		uid   string
		want  map[string]string // Email-page children of MeetingRequest
		want2 map[string]string // other pages: "space:name"
	}{
		{file: "outlook.ics", v: items.V141, class: ClassRequest,
			uid: "040000008200E00074C5B7101A82E00800000000D0C4A3B2E5C9DC01000000000000000010000000A1B2C3D4E5F60718293A4B5C6D7E8F90",
			want: map[string]string{"AllDayEvent": "0", "StartTime": "2026-12-10T13:00:00.000Z", "EndTime": "2026-12-10T14:30:00.000Z",
				"DtStamp": "2026-12-01T09:12:44.000Z", "InstanceType": "0", "Location": "Room 4.12",
				"Organizer": `"Bob Organizer" <bob@example.com>`, "Reminder": "900", "ResponseRequested": "1",
				"Sensitivity": "0", "BusyStatus": "2", "DisallowNewTimeProposal": "0", "RecurrenceId": "∅", "Recurrences": "∅"},
			want2: map[string]string{"Email2:MeetingMessageType": "1"}},
		{file: "google.ics", v: items.V161, class: ClassRequest, uid: "5q8r2kd1vd3m0fh4c9mhn1j2ab@google.com",
			want: map[string]string{"StartTime": "2026-12-11T09:00:00.000Z", "EndTime": "2026-12-11T09:30:00.000Z",
				"Location": "∅", "Organizer": `"Dana Park" <dana@example.net>`, "Reminder": "600", "ResponseRequested": "1",
				"BusyStatus": "2", "InstanceType": "0"},
			want2: map[string]string{"Email2:MeetingMessageType": "1", "AirSyncBase:Location": "Café Central, Herrengasse 14"}},
		{file: "recurring.ics", v: items.V141, class: ClassRequest, uid: "7f3c9a52-1e4b-4d8a-9c61-2b5e8f0d4a17",
			want: map[string]string{"StartTime": "2026-12-07T14:00:00.000Z", "InstanceType": "1", "Sensitivity": "2",
				"Location": "https://meet.example.org/standup", "ResponseRequested": "1"},
			want2: map[string]string{"Email2:MeetingMessageType": "2"}},
		{file: "instance.ics", v: items.V141, class: ClassRequest, uid: "7f3c9a52-1e4b-4d8a-9c61-2b5e8f0d4a17",
			want: map[string]string{"StartTime": "2026-12-21T14:00:00.000Z", "EndTime": "2026-12-21T15:00:00.000Z",
				"InstanceType": "3", "RecurrenceId": "2026-12-21T14:00:00.000Z", "Recurrences": "∅"},
			want2: map[string]string{"Email2:MeetingMessageType": "2"}},
		{file: "cancel.ics", v: items.V141, class: ClassCanceled, uid: "5q8r2kd1vd3m0fh4c9mhn1j2ab@google.com",
			want:  map[string]string{"StartTime": "2026-12-11T09:00:00.000Z", "ResponseRequested": "0", "DtStamp": "2026-12-03T12:00:00.000Z"},
			want2: map[string]string{"Email2:MeetingMessageType": "0"}},
		{file: "reply.ics", v: items.V141, class: ClassRespPos, uid: "c2f1e5d0-88a4-4b0e-a3b2-61f0d9e7c3aa",
			want: map[string]string{"StartTime": "∅", "EndTime": "∅", "AllDayEvent": "∅", "DtStamp": "2026-12-02T07:30:15.000Z",
				"ResponseRequested": "0", "Organizer": `"Alice Attendee" <alice@example.com>`}},
		{file: "counter.ics", v: items.V161, class: ClassRespTent, uid: "c2f1e5d0-88a4-4b0e-a3b2-61f0d9e7c3aa",
			want: map[string]string{"StartTime": "2026-12-15T15:00:00.000Z"},
			want2: map[string]string{"MeetingResponse:ProposedStartTime": "20261215T150000Z",
				"MeetingResponse:ProposedEndTime": "20261215T160000Z"}},
		{file: "counter.ics", v: items.V141, class: ClassRespTent, uid: "c2f1e5d0-88a4-4b0e-a3b2-61f0d9e7c3aa",
			want2: map[string]string{"MeetingResponse:ProposedStartTime": "∅"}},
		// 12.1 has neither DisallowNewTimeProposal (14.0+) nor MeetingMessageType (14.1+).
		{file: "outlook.ics", v: items.V121, class: ClassRequest,
			uid:   "040000008200E00074C5B7101A82E00800000000D0C4A3B2E5C9DC01000000000000000010000000A1B2C3D4E5F60718293A4B5C6D7E8F90",
			want:  map[string]string{"DisallowNewTimeProposal": "∅", "Location": "Room 4.12"},
			want2: map[string]string{"Email2:MeetingMessageType": "∅"}},
	}
	for _, tc := range tests {
		t.Run(tc.file+"@"+string(rune('0'+tc.v/100))+string(rune('0'+tc.v/10%10)), func(t *testing.T) {
			m, err := Parse(readICS(t, tc.file), opts(t, tc.v))
			if err != nil {
				t.Fatal(err)
			}
			if m.Class() != tc.class {
				t.Errorf("class %q, want %q", m.Class(), tc.class)
			}
			mr := m.Element(tc.v)
			for k, want := range tc.want {
				if got := field(mr, wbxml.Email, k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			for k, want := range tc.want2 {
				space, name, _ := cut(k)
				got := field(mr, space, name)
				if space == wbxml.AirSyncBase && name == "Location" && got != "∅" {
					got = mr.Child(space, name).ChildText(wbxml.AirSyncBase, "DisplayName")
				}
				if got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			// GlobalObjId always decodes to the event's UID (P11).
			uid, _, err := UIDFromGlobalObjID(field(mr, wbxml.Email, "GlobalObjId"))
			if err != nil || uid != tc.uid {
				t.Errorf("GlobalObjId decodes to %q (%v), want %q", uid, err, tc.uid)
			}
			// TimeZone is always present and a valid blob.
			if _, err := caltz.DecodeBlobBase64(field(mr, wbxml.Email, "TimeZone")); err != nil {
				t.Errorf("TimeZone: %v", err)
			}
			if _, err := wbxml.Encode(mr); err != nil {
				t.Errorf("encode: %v", err)
			}
		})
	}
}

func cut(s string) (string, string, bool) {
	for i := range s {
		if s[i] == ':' {
			return s[:i], s[i+1:], true
		}
	}
	return "", s, false
}

func TestParseOutlookTimeZoneBlob(t *testing.T) {
	m, err := Parse(readICS(t, "outlook.ics"), opts(t, items.V141))
	if err != nil {
		t.Fatal(err)
	}
	b, err := caltz.DecodeBlobBase64(base64.StdEncoding.EncodeToString(m.Event.TimeZone))
	if err != nil {
		t.Fatal(err)
	}
	// W. Europe Standard Time: UTC+1, daylight +1 h from the last Sunday of March.
	if b.Bias != -60 || b.DaylightBias != -60 || b.DaylightDate.Month != 3 || b.StandardDate.Month != 10 {
		t.Errorf("blob %+v, want Berlin's rules", b)
	}
}

func TestParseRecurrence(t *testing.T) {
	m, err := Parse(readICS(t, "recurring.ics"), opts(t, items.V141))
	if err != nil {
		t.Fatal(err)
	}
	rec := m.Element(items.V141).Child(wbxml.Email, "Recurrences").Child(wbxml.Email, "Recurrence")
	if rec == nil {
		t.Fatal("no Recurrences/Recurrence")
	}
	for k, want := range map[string]string{"Type": "1", "Interval": "1", "Occurrences": "10", "DayOfWeek": "2", "Until": "∅"} {
		if got := field(rec, wbxml.Email, k); got != want {
			t.Errorf("Recurrence %s = %q, want %q", k, got, want)
		}
	}
}

func TestParseInstanceGOIDNamesTheDay(t *testing.T) {
	m, err := Parse(readICS(t, "instance.ics"), opts(t, items.V141))
	if err != nil {
		t.Fatal(err)
	}
	_, inst, err := UIDFromGlobalObjID(field(m.Element(items.V141), wbxml.Email, "GlobalObjId"))
	if err != nil || !inst.Equal(time.Date(2026, 12, 21, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("instance date %v (%v), want 2026-12-21", inst, err)
	}
}

func TestParseRejects(t *testing.T) {
	for name, data := range map[string]string{
		"publish": "BEGIN:VCALENDAR\r\nMETHOD:PUBLISH\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20260101T000000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
		"none":    "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20260101T000000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
	} {
		if _, err := Parse([]byte(data), opts(t, items.V141)); !errors.Is(err, ErrNotMeeting) {
			t.Errorf("%s: err %v, want ErrNotMeeting", name, err)
		}
	}
	for name, data := range map[string]string{
		"no uid":   "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nDTSTART:20260101T000000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
		"no event": "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VTODO\r\nUID:a\r\nEND:VTODO\r\nEND:VCALENDAR\r\n",
		"garbage":  "not a calendar",
	} {
		if _, err := Parse([]byte(data), opts(t, items.V141)); err == nil || errors.Is(err, ErrNotMeeting) {
			t.Errorf("%s: err %v, want a parse error", name, err)
		}
	}
}

func TestMessageClass(t *testing.T) {
	for _, tc := range []struct{ method, ps, want string }{
		{MethodRequest, "", ClassRequest}, {MethodCancel, "", ClassCanceled},
		{MethodReply, "ACCEPTED", ClassRespPos}, {MethodReply, "TENTATIVE", ClassRespTent},
		{MethodReply, "DECLINED", ClassRespNeg}, {MethodReply, "DELEGATED", ""}, {MethodCounter, "TENTATIVE", ClassRespTent},
	} {
		if got := MessageClass(tc.method, tc.ps); got != tc.want {
			t.Errorf("MessageClass(%s, %s) = %q, want %q", tc.method, tc.ps, got, tc.want)
		}
	}
}
