package caltz

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-ical"
)

// ErrUnknownZone is wrapped when a TZID can be resolved neither by name nor
// by a VTIMEZONE.
var ErrUnknownZone = errors.New("caltz: unknown time zone")

// Resolve returns the location for a TZID as written in iCalendar (P1), in
// this order: an IANA name; the same after a globally-unique prefix such as
// /mozilla.org/20050126_1/ or /inverse.ca/20091015_1/ (RFC 5545 3.2.19
// allows any prefix, so every "/"-separated tail is tried); a Windows zone
// ID or display name via CLDR; the VTIMEZONE's rules matched against the
// IANA zones; finally a location built from the VTIMEZONE itself, named
// tzid, so nothing is silently read as UTC.
func (z *Zones) Resolve(tzid string, vtz *ical.Component) (*time.Location, error) {
	name := strings.Trim(strings.TrimSpace(tzid), `"`)
	if loc := z.byName(name); loc != nil {
		return loc, nil
	}
	if vtz == nil {
		return nil, fmt.Errorf("%w: %q without VTIMEZONE", ErrUnknownZone, tzid)
	}
	b, year, err := blobFromVTimezone(vtz, z.opts.Now().Year())
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %w", ErrUnknownZone, tzid, err)
	}
	b.StandardName = name // ties only: "Customized Time Zone" names nothing
	if loc, ok := z.match(b, year); ok {
		return loc, nil
	}
	if name == "" {
		name = blobName(b)
	}
	return locationFromBlob(b, name)
}

// byName resolves a TZID without looking at any VTIMEZONE.
func (z *Zones) byName(name string) *time.Location {
	if name == "" {
		return nil
	}
	if loc := loadIANA(name); loc != nil {
		return loc
	}
	for i := strings.IndexByte(name, '/'); i >= 0; {
		tail := name[i+1:]
		if loc := loadIANA(tail); loc != nil {
			return loc
		}
		j := strings.IndexByte(tail, '/')
		if j < 0 {
			break
		}
		i += j + 1
	}
	z.load()
	if i, ok := z.byWindows[strings.ToLower(name)]; ok {
		return loadIANA(windowsZones[i].zones[0])
	}
	return nil
}

// loadIANA loads an IANA zone by name, canonicalising old names. "" and
// "Local" are refused: time.LoadLocation maps them to UTC and the machine's
// zone, neither of which a TZID means.
func loadIANA(name string) *time.Location {
	if name == "" || name == "Local" || !validZoneName(name) {
		return nil
	}
	if target, ok := zoneAliases[name]; ok {
		name = target
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil
	}
	return loc
}

// validZoneName keeps odd TZIDs away from the file system: IANA names are
// ASCII letters, digits, "/", "_", "-", "+".
func validZoneName(s string) bool {
	if len(s) > 64 || strings.HasPrefix(s, "/") || strings.Contains(s, "..") {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case r == '/' || r == '_' || r == '-' || r == '+':
		default:
			return false
		}
	}
	return true
}
