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

// TestDecodeLargeInputIsNotCopiedWhole: a large document of mostly opaque
// data (a SendMail with attachments) costs its opaque copy and little
// more: its few texts do not keep a string copy of the whole input.
func TestDecodeLargeInputIsNotCopiedWhole(t *testing.T) {
	mime := make([]byte, 4<<20)
	root := New(ComposeMail, "SendMail")
	root.AddText(ComposeMail, "ClientId", "c-1")
	root.AddOpaque(ComposeMail, "Mime", mime)
	data, err := Encode(root)
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	el, err := Decode(data, DefaultLimits)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if el.ChildText(ComposeMail, "ClientId") != "c-1" || len(el.Child(ComposeMail, "Mime").Opaque) != len(mime) {
		t.Fatal("decoded wrongly")
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > uint64(len(mime))+64<<10 {
		t.Errorf("decoding %d bytes allocated %d bytes", len(data), alloc)
	}
}
