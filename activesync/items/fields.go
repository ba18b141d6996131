package items

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// Decoding helpers shared by the classes. Each returns nil for an absent
// element; the *Opt variants also return nil for an empty one, for the
// elements whose empty form devices send meaning "nothing here".

func optString(e *wbxml.Element) *string {
	if e == nil {
		return nil
	}
	s := text(e)
	return &s
}

// text is the content as a string that can be stored and sent back: an
// OPAQUE value may hold a NUL, which no STR_I can carry (MS-ASWBXML
// 2.1.2.1), or bytes that are not UTF-8.
func text(e *wbxml.Element) string {
	return strings.ReplaceAll(strings.ToValidUTF8(e.Content(), "\uFFFD"), "\x00", "")
}

func optInt(e *wbxml.Element, name string) (*int, error) {
	if e == nil || e.Content() == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(e.Content())
	if err != nil || n < 0 {
		return nil, fmt.Errorf("items: %s %q is not a number", name, e.Content())
	}
	return &n, nil
}

func optBool(e *wbxml.Element, name string) (*bool, error) {
	n, err := optInt(e, name)
	if n == nil || err != nil {
		return nil, err
	}
	b := *n != 0
	return &b, nil
}

func optTime(e *wbxml.Element) (*time.Time, error) {
	if e == nil || e.Content() == "" {
		return nil, nil
	}
	t, err := ParseDate(e.Content())
	if err != nil {
		return nil, err
	}
	return &t, nil
}

func itoa(n int) string { return strconv.Itoa(n) }

func btoa(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// Ptr returns a pointer to v, for filling the optional fields.
func Ptr[T any](v T) *T { return &v }

// encodeBase64 and decodeBlob carry the TimeZone blob, which is base64 text
// in WBXML (MS-ASCAL 2.2.2.44); some clients send it as OPAQUE base64.
func encodeBase64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func decodeBlob(e *wbxml.Element) ([]byte, error) {
	s := strings.TrimSpace(e.Content())
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		if b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "=")); err != nil {
			return nil, fmt.Errorf("items: TimeZone is not base64: %w", err)
		}
	}
	return b, nil
}
