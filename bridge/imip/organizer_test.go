package imip

import (
	"bytes"
	"strings"
	"testing"

	"github.com/idlebridge/idlebridge/activesync/items"
)

// organized is the user's own meeting as the CalDAV server stores it.
const organized = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\nBEGIN:VEVENT\r\nUID:own-1\r\nDTSTAMP:20261201T000000Z\r\n" +
	"DTSTART:20261210T100000Z\r\nDTEND:20261210T110000Z\r\nSEQUENCE:3\r\nSUMMARY:Planning\r\nORGANIZER;CN=Alice:mailto:alice@example.com\r\n" +
	"ATTENDEE;PARTSTAT=ACCEPTED:mailto:alice@example.com\r\nATTENDEE;RSVP=TRUE;PARTSTAT=NEEDS-ACTION:mailto:Bob@Example.com\r\n" +
	"ATTENDEE;RSVP=TRUE;PARTSTAT=NEEDS-ACTION;CUTYPE=ROOM:mailto:room-1@example.com\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

func TestOrganizerMessage(t *testing.T) {
	inv, ok, err := OrganizerMessage([]byte(organized), MethodRequest, "alice@example.com")
	if err != nil || !ok {
		t.Fatalf("ok %v err %v", ok, err)
	}
	if strings.Join(inv.Recipients, ",") != "bob@example.com,room-1@example.com" || inv.Sequence != 3 {
		t.Errorf("recipients %v, sequence %d", inv.Recipients, inv.Sequence)
	}
	// What is sent reads back as the meeting request an attendee gets.
	m, err := Parse(inv.ICS, Options{Version: items.V161, Recipients: []string{"bob@example.com"}})
	if err != nil || m.Class() != ClassRequest || m.UID != "own-1" || !m.ResponseRequested {
		t.Fatalf("attendee reads %v (%v)", m, err)
	}
	cancel, ok, err := OrganizerMessage([]byte(organized), MethodCancel, "alice@example.com")
	if err != nil || !ok || cancel.Key == inv.Key {
		t.Fatalf("cancel: ok %v err %v, key %s", ok, err, cancel.Key)
	}
	if !bytes.Contains(cancel.ICS, []byte("STATUS:CANCELLED")) {
		t.Error("CANCEL without STATUS:CANCELLED")
	}
	mail := cancel.Mail("alice@example.com", "Alice", "Planning", replyNow)
	if !bytes.Contains(mail, []byte("To: bob@example.com, room-1@example.com")) || !bytes.Contains(mail, []byte("method=CANCEL")) {
		t.Errorf("mail: %.400s", mail)
	}
	// Not the organizer, or nobody to tell: nothing to send.
	if _, ok, _ := OrganizerMessage([]byte(organized), MethodRequest, "bob@example.com"); ok {
		t.Error("an attendee's copy sends invitations")
	}
	alone := strings.ReplaceAll(organized, "ATTENDEE;RSVP=TRUE;PARTSTAT=NEEDS-ACTION:mailto:Bob@Example.com\r\n", "")
	alone = strings.ReplaceAll(alone, "ATTENDEE;RSVP=TRUE;PARTSTAT=NEEDS-ACTION;CUTYPE=ROOM:mailto:room-1@example.com\r\n", "")
	if _, ok, _ := OrganizerMessage([]byte(alone), MethodRequest, "alice@example.com"); ok {
		t.Error("a meeting with only the organizer sends invitations")
	}
}
