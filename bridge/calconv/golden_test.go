package calconv

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/items"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

func testZones() IANAZones {
	return IANAZones{Candidates: []string{"Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"}}
}

func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// berlinUser is the user of the research note's test cases.
func berlinUser(t testing.TB, v items.Version) Options {
	return Options{Version: v, Zones: testZones(), UserZone: mustLoad(t, "Europe/Berlin"), UserEmail: "alice@example.com", Now: mergeNow}
}

// golden compares got with testdata/name, or writes it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// TestFromICalGolden renders every testdata/fromical/*.ics as the
// ApplicationData a 12.1, 14.1 and 16.1 device receives, in the wbxml
// package's XML form, against the golden .xml next to it.
func TestFromICalGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/fromical/*.ics")
	if err != nil || len(files) == 0 {
		t.Fatal("no golden inputs", err)
	}
	for _, f := range files {
		base := strings.TrimSuffix(filepath.Base(f), ".ics")
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []items.Version{items.V121, items.V141, items.V161} {
			t.Run(base+"/"+strings.ReplaceAll(versionName(v), ".", ""), func(t *testing.T) {
				res, err := FromICal(data, berlinUser(t, v))
				if err != nil {
					t.Fatal(err)
				}
				out := res.Item.Encode(v).XML()
				for _, why := range res.Inexpressible {
					out += "<!-- inexpressible: " + why + " -->\n"
				}
				golden(t, "fromical/"+base+"."+versionName(v)+".xml", out)
			})
		}
	}
}

func versionName(v items.Version) string {
	return map[items.Version]string{items.V121: "12.1", items.V141: "14.1", items.V161: "16.1"}[v]
}
