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

// FuzzMergeOccurrence feeds arbitrary stored objects and device edits of
// one occurrence (16.x InstanceId Change and Delete, a 14.1 Exceptions
// list) to the merge: no panic, and whatever it writes parses and reads
// back as an event.
func FuzzMergeOccurrence(f *testing.F) {
	p8, err := os.ReadFile("testdata/fromical/p8-series.ics")
	if err != nil {
		f.Fatal(err)
	}
	for _, at := range []int64{0, 1, 7 * 24, 8 * 24, 8*24 + 1, 49 * 24} {
		f.Add(p8, at, "Hill run", uint8(0))
		f.Add(p8, at, "", uint8(1))
		f.Add(p8, at, "x", uint8(2))
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		f.Fatal(err)
	}
	start := time.Date(2026, 3, 22, 8, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, stored []byte, hours int64, subject string, mode uint8) {
		at := start.Add(time.Duration(hours%(1<<20)) * time.Hour)
		opt := Options{Version: items.V161, Zones: testZones(), UserZone: berlin, Now: start}
		dev := &items.Calendar{Event: items.Event{Subject: &subject, StartTime: &at, EndTime: items.Ptr(at.Add(time.Hour))}}
		var p *Patched
		var err error
		switch mode % 3 {
		case 0:
			p, err = MergeInstance(stored, dev, at, opt, start)
		case 1:
			p, err = DeleteInstance(stored, at, opt, start)
		default:
			opt.Version = items.V141
			res, rerr := FromICal(stored, opt)
			if rerr != nil {
				return
			}
			full := res.Item
			full.Exceptions = append(full.Exceptions, items.Exception{Start: at, Event: dev.Event}, items.Exception{Start: at.Add(7 * 24 * time.Hour), Deleted: true})
			p, err = Merge(stored, full, Ghosting{}, opt, start)
		}
		if err != nil || !p.Changed {
			return
		}
		if _, err := FromICal(p.Data, opt); err != nil {
			t.Fatalf("patched object does not read back: %v\n%s", err, p.Data)
		}
	})
}
