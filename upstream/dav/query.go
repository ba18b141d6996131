package dav

import (
	"context"
	"time"
)

// ListRange lists the href → ETag of the calendar's objects with a
// component comp ("VEVENT", "VTODO") overlapping [start, end), by
// calendar-query with a time-range filter (RFC 4791 7.8, 9.9); the server
// expands recurrences, so a series that began before start but has an
// instance inside is listed. A zero end means no upper bound. This is what
// an initial sync limited to a window (EAS FilterType) asks for; the
// bodies then come by MultiGet.
func (c *Client) ListRange(ctx context.Context, coll, comp string, start, end time.Time) (map[string]string, error) {
	const stamp = "20060102T150405Z"
	tr := `<c:time-range start="` + start.UTC().Format(stamp) + `"`
	if !end.IsZero() {
		tr += ` end="` + end.UTC().Format(stamp) + `"`
	}
	tr += `/>`
	return c.query(ctx, coll, `<c:comp-filter name="`+escapeText(comp)+`">`+tr+`</c:comp-filter>`)
}
