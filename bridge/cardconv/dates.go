package cardconv

import (
	"fmt"
	"strconv"
	"strings"
)

// parseDate reads a BDAY/ANNIVERSARY value: RFC 6350 4.3.1 date forms
// (19800515, 1980-05-15, --0515, --05-15), a date-time whose date part is
// taken (never shifted), and Apple's X-APPLE-OMIT-YEAR year for "no year".
func parseDate(l *cardLine) (date, bool) {
	v := strings.TrimSpace(unescapeText(l.value))
	if i := strings.IndexByte(v, 'T'); i >= 0 {
		v = v[:i]
	}
	var d date
	var err error
	digits := strings.ReplaceAll(v, "-", "")
	switch {
	case strings.HasPrefix(v, "--") && len(digits) == 4:
		d.Month, err = atoi(digits[:2], err)
		d.Day, err = atoi(digits[2:], err)
	case len(digits) == 8 && !strings.HasPrefix(v, "-"):
		d.Year, err = atoi(digits[:4], err)
		d.Month, err = atoi(digits[4:6], err)
		d.Day, err = atoi(digits[6:], err)
	default:
		return date{}, false
	}
	if err != nil || d.Month < 1 || d.Month > 12 || d.Day < 1 || d.Day > 31 {
		return date{}, false
	}
	if omit := l.params.Get("X-APPLE-OMIT-YEAR"); omit != "" && omit == strconv.Itoa(d.Year) {
		d.Year = 0
	}
	if d.Year == noYear {
		d.Year = 0
	}
	return d, true
}

func atoi(s string, prev error) (int, error) {
	if prev != nil {
		return 0, prev
	}
	return strconv.Atoi(s)
}

// formatDate writes a date in the style of the line it replaces: dashes if
// the old value had them (vCard 3 style), basic form otherwise; a year-less
// date is --MMDD in v4 and Apple's 1604 with X-APPLE-OMIT-YEAR in v3.
func formatDate(d date, dashes, v4 bool) (value string, omitYear bool) {
	if d.Year == 0 {
		if v4 {
			return fmt.Sprintf("--%02d%02d", d.Month, d.Day), false
		}
		return fmt.Sprintf("%04d-%02d-%02d", noYear, d.Month, d.Day), true
	}
	if dashes {
		return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day), false
	}
	return fmt.Sprintf("%04d%02d%02d", d.Year, d.Month, d.Day), false
}
