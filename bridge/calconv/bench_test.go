package calconv

import (
	"os"
	"testing"

	"github.com/idlebridge/idlebridge/activesync/items"
)

// BenchmarkFromICal converts the P8 series (VTIMEZONE, RRULE, EXDATE list,
// one override) for a 14.1 device: the per-object cost of an initial sync.
func BenchmarkFromICal(b *testing.B) {
	data, opt := readBench(b, "p8-series"), berlinUser(b, items.V141)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := FromICal(data, opt); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMergeSubject is a 16.1 subject edit of the P5 object.
func BenchmarkMergeSubject(b *testing.B) {
	data, opt := readBench(b, "p5-fidelity"), berlinUser(b, items.V161)
	dev := &items.Calendar{Event: items.Event{Subject: items.Ptr("x")}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Merge(data, dev, Ghosting{}, opt, mergeNow); err != nil {
			b.Fatal(err)
		}
	}
}

func readBench(b *testing.B, name string) []byte {
	data, err := os.ReadFile("testdata/fromical/" + name + ".ics")
	if err != nil {
		b.Fatal(err)
	}
	return data
}
