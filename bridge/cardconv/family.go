package cardconv

import (
	"strings"
	"time"
)

// Family is a group of clients that agree on how they send and expect
// date-only values (Birthday, Anniversary). MS-ASCNTC 2.2.2.6 gives the
// element a time "that SHOULD be ignored", and each client picks its own:
// research P4, from Horde's device table.
type Family int

const (
	FamilyOther   Family = iota // unknown: 12:00 UTC out, date in the user's zone in
	FamilyIOS                   // local midnight sent as UTC
	FamilyAndroid               // stock Android Exchange: 08:00 UTC
	FamilyGmail                 // Gmail app (Android-Mail/...): sends 12:00 UTC, expects 00:00 UTC
	FamilySamsung               // Samsung native: 00:00 UTC
)

// ClientFamily tells the family from the DeviceType and User-Agent a
// device sends (MS-ASHTTP 2.2.1.1.1.1 DeviceType).
func ClientFamily(deviceType, userAgent string) Family {
	dt, ua := strings.ToLower(deviceType), strings.ToLower(userAgent)
	switch {
	case strings.HasPrefix(dt, "iphone"), strings.HasPrefix(dt, "ipad"), strings.HasPrefix(dt, "ipod"),
		strings.HasPrefix(ua, "apple-"), strings.Contains(ua, "ios/"):
		return FamilyIOS
	case strings.HasPrefix(ua, "android-mail"):
		return FamilyGmail
	case strings.HasPrefix(dt, "samsung"), strings.Contains(ua, "samsung"):
		return FamilySamsung
	case strings.Contains(dt, "android"), strings.Contains(ua, "android"):
		return FamilyAndroid
	}
	return FamilyOther
}

// date is a calendar date; Year 0 means the card has no year.
type date struct{ Year, Month, Day int }

// noYear is the year sent for a year-less date: Apple's convention
// (X-APPLE-OMIT-YEAR=1604), which iOS shows without a year.
const noYear = 1604

// toDevice is the instant a family expects for a date.
func toDevice(d date, f Family, zone *time.Location) time.Time {
	y := d.Year
	if y == 0 {
		y = noYear
	}
	switch f {
	case FamilyIOS:
		return time.Date(y, time.Month(d.Month), d.Day, 0, 0, 0, 0, zoneOr(zone)).UTC()
	case FamilyAndroid:
		return time.Date(y, time.Month(d.Month), d.Day, 8, 0, 0, 0, time.UTC)
	case FamilyGmail, FamilySamsung:
		return time.Date(y, time.Month(d.Month), d.Day, 0, 0, 0, 0, time.UTC)
	}
	// Noon UTC is the same date in every zone from -11 to +11.
	return time.Date(y, time.Month(d.Month), d.Day, 12, 0, 0, 0, time.UTC)
}

// fromDevice is the date a family meant by an instant.
func fromDevice(t time.Time, f Family, zone *time.Location) date {
	switch f {
	case FamilyIOS:
		// Local midnight as UTC; round to the nearest day in the user's
		// zone, since some send 23:59 of the day before (MS-ASCNTC 2.2.2.6).
		t = t.In(zoneOr(zone)).Add(12 * time.Hour)
		t = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	case FamilyAndroid, FamilyGmail, FamilySamsung:
		t = t.UTC()
	default:
		t = t.In(zoneOr(zone))
	}
	d := date{t.Year(), int(t.Month()), t.Day()}
	if d.Year == noYear {
		d.Year = 0
	}
	return d
}

func zoneOr(z *time.Location) *time.Location {
	if z == nil {
		return time.UTC
	}
	return z
}
