package imip

import (
	"testing"

	"github.com/idlebridge/idlebridge/activesync/items"
)

// BenchmarkParseElement: one invitation read and rendered, as a Sync of
// an Inbox with invitations does per message.
func BenchmarkParseElement(b *testing.B) {
	for _, f := range []string{"outlook.ics", "recurring.ics"} {
		data := readICS(b, f)
		o := opts(b, items.V161)
		b.Run(f, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m, err := Parse(data, o)
				if err != nil {
					b.Fatal(err)
				}
				_ = m.Element(items.V161)
			}
		})
	}
}

// BenchmarkReply: building a REPLY and its message.
func BenchmarkReply(b *testing.B) {
	m, err := Parse(readICS(b, "outlook.ics"), opts(b, items.V161))
	if err != nil {
		b.Fatal(err)
	}
	a := Answer{Attendee: "alice@example.com", PartStat: PartStatAccepted, Now: replyNow}
	b.ReportAllocs()
	for b.Loop() {
		ics, err := m.Reply(a)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.ReplyMail(a, ics); err != nil {
			b.Fatal(err)
		}
	}
}
