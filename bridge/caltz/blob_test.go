package caltz

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestBlobBytes cross-checks the encoder against the byte values the
// research note gives (MS-ASDTYPE 2.7.6 layout; SOGo's New York blob):
// Berlin bias -60, StandardDate 10/Sun/5 03:00, DaylightDate 3/Sun/5 02:00,
// DaylightBias -60; New York bias 300, 11/Sun/1 02:00 and 3/Sun/2 02:00.
func TestBlobBytes(t *testing.T) {
	z := newZones(nil)
	u16 := func(b []byte, off int) uint16 { return binary.LittleEndian.Uint16(b[off:]) }
	i32 := func(b []byte, off int) int32 { return int32(binary.LittleEndian.Uint32(b[off:])) }
	for _, tc := range []struct {
		zone             string
		bias, dstBias    int32
		std, dst         [5]uint16 // month, dow, day, hour, minute
		prefix, suffix   string    // base64
		stdName, dstName string
	}{
		{"Europe/Berlin", -60, -60, [5]uint16{10, 0, 5, 3, 0}, [5]uint16{3, 0, 5, 2, 0}, "xP///1cALgAgAEUA", "AAAAxP///w==", "W. Europe Standard Time", "W. Europe Daylight Time"},
		{"America/New_York", 300, -60, [5]uint16{11, 0, 1, 2, 0}, [5]uint16{3, 0, 2, 2, 0}, "LAEAA", "xP///w==", "Eastern Standard Time", "Eastern Daylight Time"},
	} {
		b := z.Blob(mustLoad(t, tc.zone), 2026)
		if len(b) != BlobSize {
			t.Fatalf("%s: %d bytes", tc.zone, len(b))
		}
		if got := i32(b, 0); got != tc.bias {
			t.Errorf("%s: Bias %d, want %d", tc.zone, got, tc.bias)
		}
		if got := i32(b, 84); got != 0 {
			t.Errorf("%s: StandardBias %d", tc.zone, got)
		}
		if got := i32(b, 168); got != tc.dstBias {
			t.Errorf("%s: DaylightBias %d, want %d", tc.zone, got, tc.dstBias)
		}
		for _, f := range []struct {
			off  int
			want [5]uint16
		}{{68, tc.std}, {152, tc.dst}} {
			if y := u16(b, f.off); y != 0 {
				t.Errorf("%s: wYear %d at %d, want 0 (recurring)", tc.zone, y, f.off)
			}
			got := [5]uint16{u16(b, f.off+2), u16(b, f.off+4), u16(b, f.off+6), u16(b, f.off+8), u16(b, f.off+10)}
			if got != f.want {
				t.Errorf("%s: SYSTEMTIME at %d = %v, want %v", tc.zone, f.off, got, f.want)
			}
		}
		s := base64.StdEncoding.EncodeToString(b)
		if !strings.HasPrefix(s, tc.prefix) || !strings.HasSuffix(s, tc.suffix) {
			t.Errorf("%s: base64 %s, want %s…%s", tc.zone, s, tc.prefix, tc.suffix)
		}
		d, err := DecodeBlob(b)
		if err != nil {
			t.Fatal(err)
		}
		if d.StandardName != tc.stdName || d.DaylightName != tc.dstName {
			t.Errorf("%s: names %q / %q", tc.zone, d.StandardName, d.DaylightName)
		}
	}
}

func TestBlobRoundTrip(t *testing.T) {
	in := Blob{
		Bias: -330, StandardName: "Zürich 🕐 Standard", DaylightName: strings.Repeat("x", 40),
		StandardDate: SystemTime{Month: 10, Day: 5, Hour: 3},
		DaylightDate: SystemTime{Year: 2026, Month: 3, DayOfWeek: 0, Day: 29, Hour: 2},
		DaylightBias: -60,
	}
	raw := in.Encode()
	out, err := DecodeBlob(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := in
	want.DaylightName = strings.Repeat("x", 31) // the field keeps its NUL
	if out != want {
		t.Errorf("round trip:\n got %+v\nwant %+v", out, want)
	}
	b64, err := DecodeBlobBase64(" " + strings.TrimRight(in.EncodeBase64(), "=") + "\r\n")
	if err != nil || b64 != want {
		t.Errorf("base64 without padding: %+v, %v", b64, err)
	}
}

func TestDecodeBlobRejects(t *testing.T) {
	good := newZones(nil).Blob(mustLoad(t, "Europe/Berlin"), 2026)
	patch := func(off int, v uint16) []byte {
		b := bytes.Clone(good)
		binary.LittleEndian.PutUint16(b[off:], v)
		return b
	}
	for name, raw := range map[string][]byte{
		"empty":        nil,
		"short":        good[:171],
		"long":         append(bytes.Clone(good), 0),
		"month 13":     patch(70, 13),
		"weekday 7":    patch(72, 7),
		"occurrence 6": patch(74, 6),
		"occurrence 0": patch(74, 0),
		"hour 24":      patch(76, 24),
		"year 99":      patch(68, 99),
		"bias":         patch(2, 0x7fff),
	} {
		if _, err := DecodeBlob(raw); !errors.Is(err, ErrBadBlob) {
			t.Errorf("%s: err = %v, want ErrBadBlob", name, err)
		}
		if _, _, err := newZones(nil).FromBlob(raw, 2026); !errors.Is(err, ErrBadBlob) {
			t.Errorf("%s: FromBlob err = %v, want ErrBadBlob", name, err)
		}
	}
	if _, err := DecodeBlobBase64("not base64!"); !errors.Is(err, ErrBadBlob) {
		t.Errorf("garbage base64: %v", err)
	}
}

// FuzzDecodeBlob: decoding never panics, what decodes re-encodes to the
// same rules, and matching a decoded blob never panics either.
func FuzzDecodeBlob(f *testing.F) {
	z := newZones(nil)
	for _, name := range []string{"Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata"} {
		loc, err := loadFuzzZone(name)
		if err == nil {
			f.Add(z.Blob(loc, 2026), uint16(2026))
		}
	}
	f.Add(make([]byte, BlobSize), uint16(1970))
	f.Add([]byte("short"), uint16(0))
	f.Fuzz(func(t *testing.T, raw []byte, year uint16) {
		b, err := DecodeBlob(raw)
		if err != nil {
			return
		}
		again, err := DecodeBlob(b.Encode())
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		again.StandardName, again.DaylightName, b.StandardName, b.DaylightName = "", "", "", ""
		if again != b {
			t.Fatalf("re-encode changed the rules: %+v vs %+v", b, again)
		}
		y := 1900 + int(year)%300
		loc, _, err := z.FromBlob(raw, y)
		if err != nil || loc == nil {
			t.Fatalf("FromBlob of a valid blob: %v, %v", loc, err)
		}
	})
}

// TestBlobBeyondTable: past the transitions tzdata lists (Go then applies
// the zone's TZ string) the blob is still the zone's rule.
func TestBlobBeyondTable(t *testing.T) {
	z := newZones(nil)
	berlin := mustLoad(t, "Europe/Berlin")
	want := z.Blob(berlin, 2026)
	for _, y := range []int{2038, 2040, 2077} {
		if got := z.Blob(berlin, y); !bytes.Equal(got, want) {
			b, _ := DecodeBlob(got)
			t.Errorf("%d: %+v", y, b)
		}
		if loc, ok, err := z.FromBlob(want, y); err != nil || !ok || loc.String() != "Europe/Berlin" {
			t.Errorf("%d: FromBlob %v %v %v", y, loc, ok, err)
		}
	}
}

func TestBlobNames(t *testing.T) {
	z := newZones(nil)
	built, _ := locationFromBlob(Blob{Bias: -90}, "Device Zone")
	for _, tc := range []struct {
		loc      *time.Location
		std, dst string
	}{
		{time.UTC, "UTC", ""},
		{mustLoad(t, "Asia/Calcutta"), "India Standard Time", ""},
		{built, "Device Zone", ""},
	} {
		b, err := DecodeBlob(z.Blob(tc.loc, 2026))
		if err != nil {
			t.Fatal(err)
		}
		if b.StandardName != tc.std || b.DaylightName != tc.dst {
			t.Errorf("%s: names %q, %q", tc.loc, b.StandardName, b.DaylightName)
		}
	}
}
