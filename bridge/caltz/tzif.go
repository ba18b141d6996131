package caltz

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"
)

// locationFromBlob builds a location that follows the blob's own rules in
// every year: the standard library has no constructor for rule-based zones,
// so this writes a minimal TZif file (RFC 8536) with no transitions and a
// POSIX TZ footer (RFC 8536 3.3) carrying the rule, which
// time.LoadLocationFromTZData applies to all instants. A blob without DST is
// a fixed offset.
func locationFromBlob(b Blob, name string) (*time.Location, error) {
	if !b.HasDST() || b.stdOffset() == b.dstOffset() {
		return time.FixedZone(name, b.stdOffset()), nil
	}
	return locationFromTZ(name, b.stdOffset(), posixTZ(b))
}

// posixTZ renders the blob as a POSIX TZ string. POSIX offsets count west
// of UTC, like the blob's biases; Mm.w.d uses w = 5 for "last", as the blob
// does (MS-ASDTYPE 2.7.6), and the /time is the wall clock before the
// switch in both.
func posixTZ(b Blob) string {
	std, dst := b.stdOffset(), b.dstOffset()
	return fmt.Sprintf("%s%s%s%s,%s,%s",
		abbr(std), posixOffset(-std), abbr(dst), posixOffset(-dst),
		posixRule(b.DaylightDate), posixRule(b.StandardDate))
}

func abbr(off int) string {
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	if off%3600 == 0 {
		return fmt.Sprintf("<%c%02d>", sign, off/3600)
	}
	return fmt.Sprintf("<%c%02d%02d>", sign, off/3600, off/60%60)
}

func posixOffset(west int) string {
	sign := ""
	if west < 0 {
		sign, west = "-", -west
	}
	return fmt.Sprintf("%s%d:%02d:%02d", sign, west/3600, west/60%60, west%60)
}

func posixRule(st SystemTime) string {
	at := fmt.Sprintf("/%d:%02d:%02d", st.Hour, st.Minute, st.Second)
	if st.Year != 0 {
		// Jn: day 1–365 of a year without 29 February.
		d := time.Date(2001, time.Month(st.Month), int(min(st.Day, 28+uint16(daysIn(2001, time.Month(st.Month))-28))), 0, 0, 0, 0, time.UTC)
		return fmt.Sprintf("J%d%s", d.YearDay(), at)
	}
	return fmt.Sprintf("M%d.%d.%d%s", st.Month, st.Day, st.DayOfWeek, at)
}

// locationFromTZ writes a TZif version 2 file: an empty version-1 block
// (readers skip it), the version-2 block with one local time type and no
// transitions, then "\n" TZ "\n".
func locationFromTZ(name string, std int, tz string) (*time.Location, error) {
	var buf bytes.Buffer
	chars := []byte("LMT\x00")
	// With no transitions and no leap seconds the two blocks are identical
	// but for the version-2 one being read.
	block := func() {
		buf.WriteString("TZif2")
		buf.Write(make([]byte, 15))
		// isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
		for _, n := range []uint32{0, 0, 0, 0, 1, uint32(len(chars))} {
			_ = binary.Write(&buf, binary.BigEndian, n)
		}
		_ = binary.Write(&buf, binary.BigEndian, int32(std)) // utoff
		buf.WriteByte(0)                                     // isdst
		buf.WriteByte(0)                                     // desigidx
		buf.Write(chars)
	}
	block()
	block()
	buf.WriteString("\n" + tz + "\n")
	loc, err := time.LoadLocationFromTZData(name, buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("caltz: building zone %q from %q: %w", name, tz, err)
	}
	return loc, nil
}
