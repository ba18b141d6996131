package caltz

import (
	"strings"
	"testing"
)

// TestWindowsTable: the generated table is usable as the code assumes:
// every Windows ID has a 001 default first, the names are unique, and the
// zones load with the tzdata the bridge runs with.
func TestWindowsTable(t *testing.T) {
	if cldrVersion == "" || len(windowsZones) < 100 {
		t.Fatalf("table looks empty: CLDR %q, %d rows", cldrVersion, len(windowsZones))
	}
	seen := map[string]bool{}
	for _, w := range windowsZones {
		if seen[strings.ToLower(w.name)] {
			t.Errorf("duplicate %q", w.name)
		}
		seen[strings.ToLower(w.name)] = true
		if len(w.zones) == 0 {
			t.Errorf("%q has no zones", w.name)
			continue
		}
		for _, name := range w.zones {
			if loadIANA(name) == nil {
				t.Errorf("%q: zone %q does not load", w.name, name)
			}
		}
	}
	z := newZones(nil)
	for iana, win := range map[string]string{
		"Europe/Berlin": "W. Europe Standard Time", "America/New_York": "Eastern Standard Time",
		"Asia/Kolkata": "India Standard Time", "Asia/Calcutta": "India Standard Time",
		"Australia/Sydney": "AUS Eastern Standard Time", "Europe/Kyiv": "FLE Standard Time",
	} {
		if got := z.windowsName(iana); got != win {
			t.Errorf("windowsName(%s) = %q, want %q", iana, got, win)
		}
	}
}
