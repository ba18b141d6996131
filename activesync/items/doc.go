// Package items holds the typed ActiveSync item classes (Email per
// MS-ASEMAIL in email*.go, Calendar per MS-ASCAL, Task per MS-ASTASK, and
// the Contact class in contact*.go) with their mapping to and from the
// ApplicationData element of a Sync, Fetch or Search (MS-ASCMD 2.2.3.11).
//
// Each class has Encode(version), which returns the ApplicationData element
// for a server response, and a Decode function for what a device sends. The
// package knows nothing of iCalendar or vCard: bridge/calconv and
// bridge/cardconv convert.
//
// Presence is part of the data. An element the device did not send differs
// from one it sent empty: for 12.x–14.x an absent element is cleared unless
// it was ghosted (MS-ASCMD 2.2.3.179 Supported), and in 16.x "all top-level
// Calendar class elements are ghosted when they are not present" (MS-ASCAL
// 3.1.5.3). So scalar fields are pointers (nil = absent) and list fields
// distinguish nil (absent) from a non-nil empty slice (sent empty, e.g.
// <Attendees/>). Decoders are liberal: empty optional elements such as
// <Recurrence/> or <Reminder/> read as absent, unknown children and
// elements a version does not allow (16.x OrganizerEmail, MS-ASCAL 2.2.2.35)
// are ignored, and nothing a device sends makes them panic. A value that
// cannot be a number or a date is an error, so the caller can answer the
// item with a per-item status instead of storing garbage. Email is the
// exception both ways: the server always sends a whole message, so its
// Email type has plain values for what every item carries (email.go), and
// its device decoders (a flags change, a draft) never fail, because
// refusing a draft loses the user's text.
//
// Tag names come from typed constants (tags.go), so a misspelt tag is a
// compile error; a test checks every constant against the wbxml code pages.
//
// The TimeZone blob (MS-ASDTYPE 2.7.6) stays raw bytes here; its meaning
// belongs to bridge/caltz.
package items

// Version is a protocol version times ten (141 is 14.1), the same
// convention as activesync.Version, so callers convert with Version(v).
type Version int

// Versions whose rules differ for the item classes.
const (
	V121 Version = 121
	V140 Version = 140
	V141 Version = 141
	V160 Version = 160
	V161 Version = 161
)
