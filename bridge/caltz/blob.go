package caltz

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
)

// BlobSize is the length of an EAS TimeZone blob (MS-ASDTYPE 2.7.6):
// Bias(4) StandardName(64) StandardDate(16) StandardBias(4)
// DaylightName(64) DaylightDate(16) DaylightBias(4).
const BlobSize = 172

// nameChars is the WCHAR count of each name field (MS-ASDTYPE 2.7.6).
const nameChars = 32

// ErrBadBlob is wrapped by every decoding failure.
var ErrBadBlob = errors.New("caltz: bad TimeZone blob")

// SystemTime is MS-DTYP 2.3.13 SYSTEMTIME as the TimeZone blob uses it.
// With Year == 0 it is a recurring rule (MS-ASDTYPE 2.7.6): Month, DayOfWeek
// (0 = Sunday) and Day = occurrence 1–5, 5 meaning the last one in the month;
// the time is the local wall clock before the switch. With Year != 0 it is an
// absolute date. Month == 0 means "no transition".
type SystemTime struct {
	Year, Month, DayOfWeek, Day, Hour, Minute, Second, Milliseconds uint16
}

// IsZero reports whether st names no transition (wMonth = 0).
func (st SystemTime) IsZero() bool { return st.Month == 0 }

// Blob is a decoded TimeZone blob. Biases are minutes with UTC = local + bias
// (MS-ASDTYPE 2.7.6: "the bias for Pacific Time (UTC-8) is 480"); the offset
// in standard time is -(Bias+StandardBias), in daylight time
// -(Bias+DaylightBias).
type Blob struct {
	Bias         int32
	StandardName string
	StandardDate SystemTime
	StandardBias int32
	DaylightName string
	DaylightDate SystemTime
	DaylightBias int32
}

// HasDST reports whether the blob carries both transition rules. A blob with
// only one of them cannot describe a cycle; it is read as having no DST.
func (b Blob) HasDST() bool { return !b.StandardDate.IsZero() && !b.DaylightDate.IsZero() }

// stdOffset and dstOffset are the UTC offsets in seconds east.
func (b Blob) stdOffset() int { return -int(b.Bias+b.StandardBias) * 60 }
func (b Blob) dstOffset() int { return -int(b.Bias+b.DaylightBias) * 60 }

// maxBias bounds every bias: no zone is more than 14 h from UTC, and sums of
// two biases stay well inside a day.
const maxBias = 24 * 60

// DecodeBlob parses a raw 172-byte blob. It never panics; short, long or
// out-of-range input is an error wrapping ErrBadBlob.
func DecodeBlob(raw []byte) (Blob, error) {
	if len(raw) != BlobSize {
		return Blob{}, fmt.Errorf("%w: %d bytes, want %d", ErrBadBlob, len(raw), BlobSize)
	}
	le := binary.LittleEndian
	var b Blob
	b.Bias = int32(le.Uint32(raw[0:]))
	b.StandardName = decodeName(raw[4:68])
	b.StandardDate = decodeSystemTime(raw[68:84])
	b.StandardBias = int32(le.Uint32(raw[84:]))
	b.DaylightName = decodeName(raw[88:152])
	b.DaylightDate = decodeSystemTime(raw[152:168])
	b.DaylightBias = int32(le.Uint32(raw[168:]))
	if err := b.validate(); err != nil {
		return Blob{}, err
	}
	return b, nil
}

// DecodeBlobBase64 parses the base64 form found in WBXML (MS-ASCAL
// 2.2.2.46 TimeZone). Whitespace and missing padding are tolerated.
func DecodeBlobBase64(s string) (Blob, error) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s)
	raw, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return Blob{}, fmt.Errorf("%w: base64: %w", ErrBadBlob, err)
	}
	return DecodeBlob(raw)
}

func (b Blob) validate() error {
	for _, v := range []int32{b.Bias, b.StandardBias, b.DaylightBias} {
		if v < -maxBias || v > maxBias {
			return fmt.Errorf("%w: bias %d out of range", ErrBadBlob, v)
		}
	}
	for _, st := range []SystemTime{b.StandardDate, b.DaylightDate} {
		if err := st.validate(); err != nil {
			return err
		}
	}
	return nil
}

func (st SystemTime) validate() error {
	if st.IsZero() {
		return nil
	}
	maxDay := uint16(5)
	if st.Year != 0 {
		maxDay = 31
	}
	switch {
	case st.Month > 12:
		return fmt.Errorf("%w: month %d", ErrBadBlob, st.Month)
	case st.DayOfWeek > 6:
		return fmt.Errorf("%w: day of week %d", ErrBadBlob, st.DayOfWeek)
	case st.Day < 1 || st.Day > maxDay:
		return fmt.Errorf("%w: day %d", ErrBadBlob, st.Day)
	case st.Hour > 23 || st.Minute > 59 || st.Second > 59 || st.Milliseconds > 999:
		return fmt.Errorf("%w: time %d:%d:%d.%d", ErrBadBlob, st.Hour, st.Minute, st.Second, st.Milliseconds)
	case st.Year != 0 && (st.Year < 1601 || st.Year > 30827):
		// MS-DTYP 2.3.13: wYear 1601 through 30827.
		return fmt.Errorf("%w: year %d", ErrBadBlob, st.Year)
	}
	return nil
}

// Encode returns the 172-byte raw blob. Names longer than 31 UTF-16 units are
// cut so that the field keeps its terminating NUL.
func (b Blob) Encode() []byte {
	raw := make([]byte, BlobSize)
	le := binary.LittleEndian
	le.PutUint32(raw[0:], uint32(b.Bias))
	encodeName(raw[4:68], b.StandardName)
	encodeSystemTime(raw[68:84], b.StandardDate)
	le.PutUint32(raw[84:], uint32(b.StandardBias))
	encodeName(raw[88:152], b.DaylightName)
	encodeSystemTime(raw[152:168], b.DaylightDate)
	le.PutUint32(raw[168:], uint32(b.DaylightBias))
	return raw
}

// EncodeBase64 returns the form WBXML carries.
func (b Blob) EncodeBase64() string { return base64.StdEncoding.EncodeToString(b.Encode()) }

func decodeName(field []byte) string {
	u := make([]uint16, 0, nameChars)
	for i := 0; i+1 < len(field); i += 2 {
		c := binary.LittleEndian.Uint16(field[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	// utf16.Decode turns lone surrogates into U+FFFD; names are advisory.
	return strings.TrimSpace(string(utf16.Decode(u)))
}

func encodeName(field []byte, s string) {
	u := utf16.Encode([]rune(s))
	if len(u) > nameChars-1 {
		u = u[:nameChars-1]
		if utf16.IsSurrogate(rune(u[len(u)-1])) {
			u = u[:len(u)-1] // do not leave half a pair
		}
	}
	for i, c := range u {
		binary.LittleEndian.PutUint16(field[2*i:], c)
	}
}

func decodeSystemTime(f []byte) SystemTime {
	g := func(i int) uint16 { return binary.LittleEndian.Uint16(f[2*i:]) }
	return SystemTime{g(0), g(1), g(2), g(3), g(4), g(5), g(6), g(7)}
}

func encodeSystemTime(f []byte, st SystemTime) {
	for i, v := range []uint16{st.Year, st.Month, st.DayOfWeek, st.Day, st.Hour, st.Minute, st.Second, st.Milliseconds} {
		binary.LittleEndian.PutUint16(f[2*i:], v)
	}
}
