package items

import (
	"fmt"
	"time"
)

// The two MS-ASDTYPE date forms. Calendar StartTime, EndTime, DtStamp,
// ExceptionStartTime, Until and InstanceId are Compact DateTime (2.7.2);
// Tasks dates and AppointmentReplyTime are dateTime (2.3).
const (
	compactLayout = "20060102T150405Z"
	dashesLayout  = "2006-01-02T15:04:05.000Z"
)

// FormatCompact renders t as an MS-ASDTYPE 2.7.2 Compact DateTime (UTC).
func FormatCompact(t time.Time) string { return t.UTC().Format(compactLayout) }

// FormatDashes renders t as an MS-ASDTYPE 2.3 dateTime (UTC, milliseconds).
func FormatDashes(t time.Time) string { return t.UTC().Format(dashesLayout) }

// ParseDate reads either MS-ASDTYPE form, because devices mix them: the
// Compact DateTime 20260701T070000Z and the dateTime 2026-07-01T07:00:00.000Z
// (milliseconds optional). A missing Z is read as UTC, which is what both
// forms mean. The result is always in UTC.
func ParseDate(s string) (time.Time, error) {
	if len(s) > 0 && s[len(s)-1] != 'Z' {
		s += "Z"
	}
	for _, layout := range []string{compactLayout, "2006-01-02T15:04:05Z", "2006-01-02T15:04:05.999999999Z", "20060102T150405.999Z"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("items: %q is not an MS-ASDTYPE date", s)
}
