package caltz

import (
	"testing"
	"time"
)

func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("LoadLocation(%q): %v", name, err)
	}
	return loc
}

// fixedNow pins the year used for open-ended VTIMEZONE rules.
func fixedNow() time.Time { return time.Date(2026, time.July, 1, 0, 0, 0, 0, time.UTC) }

func newZones(user *time.Location) *Zones { return New(Options{UserZone: user, Now: fixedNow}) }

// sameOffsets reports the first instant of year (sampled hourly) at which a
// and b disagree on the UTC offset, or zero.
func sameOffsets(a, b *time.Location, year int) time.Time {
	for t := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC); t.Year() == year; t = t.Add(time.Hour) {
		_, oa := t.In(a).Zone()
		_, ob := t.In(b).Zone()
		if oa != ob {
			return t
		}
	}
	return time.Time{}
}

func loadFuzzZone(name string) (*time.Location, error) { return time.LoadLocation(name) }
