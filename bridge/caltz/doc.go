// Package caltz handles time zones for calendar sync: TZIDs as iCalendar
// writes them, VTIMEZONE components, and the EAS TimeZone blob
// (MS-ASDTYPE 2.7.6). It knows no ActiveSync or CalDAV types: raw blob bytes
// and go-ical components in and out.
//
// *Zones implements the Zones interface bridge/calconv declares (the lead
// wires it: caltz does not import calconv):
//
//	Resolve(tzid string, vtimezone *ical.Component) (*time.Location, error)
//	Blob(loc *time.Location, year int) []byte
//	FromBlob(blob []byte, year int) (loc *time.Location, ok bool, err error)
//	VTimezone(loc *time.Location, from, to time.Time) *ical.Component
//
// The rules it follows (research note calendar-contacts.md P1, P2):
//
//   - A blob is built from the zone's real transitions in the event's year
//     (time.Time.ZoneBounds), not from a table of rules, and names the zone
//     by its Windows standard name from CLDR.
//   - A blob is matched back by its rules in the event's year — offsets and
//     the instants of both switches — never by its name alone; names, then
//     Options.UserZone, then CLDR's territory-001 zones only break ties.
//     What matches nothing becomes a location built from the blob (a POSIX
//     TZ rule inside a generated TZif), never UTC.
//   - A TZID is an IANA name, a prefixed one (/mozilla.org/…/Europe/Berlin),
//     a Windows ID or display name, or else whatever its VTIMEZONE's rules
//     say.
//
// Callers choose the year. For a series that began long ago, pass the year
// of the instance at hand (or the current one): zones change their rules,
// and a blob the device sends today describes today's.
//
// The Windows table (windowszones_gen.go) is generated at development time
// from CLDR's windowsZones.xml, which Debian ships in unicode-cldr-core;
// `go generate ./bridge/caltz` rebuilds it (see internal/genzones). Zone
// data itself comes from the system or from time/tzdata, which
// cmd/idlebridge embeds.
package caltz
