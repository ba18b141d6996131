package calconv

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/items"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// FuzzFromICal feeds arbitrary iCalendar text to the read direction: no
// panic, and every item produced encodes to WBXML a device can decode.
func FuzzFromICal(f *testing.F) {
	files, _ := filepath.Glob("testdata/fromical/*.ics")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(1))
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, ver uint8) {
		v := []items.Version{items.V121, items.V141, items.V161}[int(ver)%3]
		res, err := FromICal(data, Options{Version: v, Zones: testZones(), UserZone: berlin, UserEmail: "alice@example.com", BodyType: int(ver%3) + 0, TruncationSize: int(ver)})
		if err != nil {
			return
		}
		b, err := wbxml.Encode(res.Item.Encode(v))
		if err != nil {
			t.Fatalf("item does not encode: %v", err)
		}
		el, err := wbxml.Decode(b, wbxml.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := items.DecodeCalendar(el, v); err != nil {
			t.Fatalf("item does not decode: %v", err)
		}
	})
}

// FuzzTaskFromICal is FuzzFromICal for the VTODO path.
func FuzzTaskFromICal(f *testing.F) {
	files, _ := filepath.Glob("testdata/tasks/*.ics")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := TaskFromICal(data, Options{Version: items.V141, Zones: testZones(), UserZone: berlin})
		if err != nil {
			return
		}
		b, err := wbxml.Encode(res.Item.Encode(items.V141))
		if err != nil {
			t.Fatalf("task does not encode: %v", err)
		}
		el, err := wbxml.Decode(b, wbxml.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := items.DecodeTask(el, items.V141); err != nil {
			t.Fatalf("task does not decode: %v", err)
		}
	})
}
