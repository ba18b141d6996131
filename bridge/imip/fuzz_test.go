package imip

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/items"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// FuzzParse: any bytes as an iTIP part never panic; what parses yields a
// MeetingRequest that encodes, and whose GlobalObjId decodes to the UID.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.ics"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(1))
	}
	f.Add([]byte("BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:x\r\nRECURRENCE-ID;TZID=Nowhere/Zone:20260101T000000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"), uint8(3))
	versions := []items.Version{items.V121, items.V140, items.V141, items.V160, items.V161}
	f.Fuzz(func(t *testing.T, data []byte, ver uint8) {
		v := versions[int(ver)%len(versions)]
		m, err := Parse(data, Options{Version: v, UserZone: time.UTC, Recipients: []string{"alice@example.com"}})
		if err != nil {
			return
		}
		mr := m.Element(v)
		if _, err := wbxml.Encode(mr); err != nil {
			t.Fatalf("encode: %v", err)
		}
		uid, _, err := UIDFromGlobalObjID(mr.ChildText(wbxml.Email, "GlobalObjId"))
		if err != nil {
			t.Fatalf("own GlobalObjId: %v", err)
		}
		if _, outlook := outlookGOID(m.UID); !outlook && uid != m.UID {
			t.Fatalf("GlobalObjId decodes to %q, UID %q", uid, m.UID)
		}
	})
}

// FuzzUIDFromGOID: arbitrary bytes never panic, and a GOID that decodes
// to a vCal UID re-encodes to a GOID that decodes the same.
func FuzzUIDFromGOID(f *testing.F) {
	f.Add(GlobalObjID("uid@example.com", time.Time{}))
	f.Add(GlobalObjID(specOutlookUID, time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)))
	f.Fuzz(func(t *testing.T, b []byte) {
		uid, _, err := UIDFromGOID(b)
		if err != nil {
			return
		}
		back, _, err := UIDFromGOID(GlobalObjID(uid, time.Time{}))
		if _, outlook := outlookGOID(uid); outlook {
			uid = strings.ToUpper(uid) // a hex UID is read as Outlook's, in its case
		}
		if err != nil || back != uid {
			t.Fatalf("%q → %q (%v)", uid, back, err)
		}
	})
}
