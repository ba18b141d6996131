package mailconv

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

func readEML(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var testMeta = Meta{ServerID: "7:1042", InternalDate: time.Date(2025, 3, 12, 8, 0, 0, 0, time.UTC)}

// mustEncode encodes el, decodes it back and checks the round trip, so every
// produced element is proven sendable.
func mustEncode(t testing.TB, el *wbxml.Element) {
	t.Helper()
	b, err := wbxml.Encode(el)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	back, err := wbxml.Decode(b, wbxml.Limits{})
	if err != nil {
		t.Fatalf("decode own output: %v", err)
	}
	if !back.Equal(el) {
		t.Fatalf("WBXML round trip changed the element")
	}
}

// convert runs ToApplicationData and checks that the result encodes.
func convert(t testing.TB, raw []byte, meta Meta, opts Options) (*wbxml.Element, error) {
	t.Helper()
	ad, err := ToApplicationData(raw, meta, opts)
	if ad == nil {
		t.Fatalf("nil element (err %v)", err)
	}
	mustEncode(t, ad)
	return ad, err
}

func childNames(el *wbxml.Element) []string {
	var out []string
	for _, c := range el.Children {
		out = append(out, c.Space+":"+c.Name)
	}
	return out
}

func body(ad *wbxml.Element) *wbxml.Element { return ad.Child(wbxml.AirSyncBase, "Body") }
