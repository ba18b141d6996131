package state

import (
	"testing"
	"time"
)

// FuzzDecodeVersion: any bytes in a version record (another instance, an
// older bridge, a damaged store) decode or fail without a panic, and what
// decodes encodes back to the same record.
func FuzzDecodeVersion(f *testing.F) {
	f.Add("k 7 10 100 9 1 1700000000000")
	f.Add("s 100 1700000000000")
	f.Add("k 4294967295 0 18446744073709551615 0 0 0")
	f.Add("k 7 10 100 9 2 1")
	f.Add("s -1 1")
	f.Add("")
	f.Fuzz(func(t *testing.T, raw string) {
		sv, err := decodeVersion(raw)
		if err != nil {
			return
		}
		again, err := decodeVersion(sv.encode())
		if err != nil || again != sv {
			t.Fatalf("%q: re-encoded as %q, decodes to %+v, %v", raw, sv.encode(), again, err)
		}
		_, _ = sv.readable(time.Now())
	})
}
