package wbxml

import (
	"runtime"
	"strings"
	"testing"
)

// TestDecodeManyPiecesIsLinear: a text sent as many STR_I pieces decodes
// to their concatenation, and the work done is linear in the input: the
// bytes allocated stay within a small multiple of its size. Appending
// piece by piece copied the text so far each time (40 000 one-byte
// pieces allocated ~860 MB for a 120 KB input).
func TestDecodeManyPiecesIsLinear(t *testing.T) {
	const n = 40_000
	data := piecesDoc(n)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	el, err := Decode(data, DefaultLimits)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if got := el.Child(AirSync, "SyncKey").Text; got != strings.Repeat("a", n) {
		t.Fatalf("text of %d bytes, want %d", len(got), n)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16*uint64(len(data)) {
		t.Errorf("decoding %d bytes allocated %d bytes: not linear", len(data), alloc)
	}
}
