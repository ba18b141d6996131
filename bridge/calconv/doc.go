// Package calconv converts between iCalendar (RFC 5545) objects as a CalDAV
// server stores them and the ActiveSync Calendar and Task items of
// activesync/items.
//
// The read direction (FromICal) turns a stored VCALENDAR into the item a
// device sees, for its protocol version. What EAS cannot express (an RRULE
// with BYHOUR, an RDATE, a THISANDFUTURE override…) is never simplified: it
// is listed in Result.Inexpressible so the caller can make the item
// read-only on the device (research note P7).
//
// The write direction never regenerates an object: a device change is a
// patch on the stored bytes (research note P5, P6; see merge.go).
//
// Time zones are resolved through the Zones seam (zones.go), implemented in
// full by bridge/caltz; this package ships an IANA-only Zones for its tests.
package calconv
