package wbxml

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to Decode. Whatever decodes must encode,
// and the encoding must decode to an equal tree.
func FuzzDecode(f *testing.F) {
	for _, name := range goldenNames(f) {
		b, err := os.ReadFile(filepath.Join("testdata", name+".wbxml"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(doc(0x45, 0x4B, 0x03, '1', 0x00, 0x00, 0x11, 0x01, 0x00, 0x00, 0x01))
	f.Add(doc(0x45, 0xC3, 0x81, 0x00))
	lim := Limits{MaxSize: 1 << 20, MaxDepth: 32, MaxElements: 10000}
	f.Fuzz(func(t *testing.T, data []byte) {
		root, err := Decode(data, lim)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) && !errors.Is(err, ErrLimit) {
				t.Fatalf("error of unexpected type %T: %v", err, err)
			}
			return
		}
		enc, err := Encode(root)
		if err != nil {
			t.Fatalf("decoded tree does not encode: %v", err)
		}
		again, err := Decode(enc, lim)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if !again.Equal(root) {
			t.Fatalf("re-decoded tree differs:\n%s\n%s", root.XML(), again.XML())
		}
	})
}
