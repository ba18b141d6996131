package dav

import (
	"context"
	"net/http"
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
	body := `<?xml version="1.0" encoding="utf-8"?>
<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/></d:prop>
<c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="` + escapeText(comp) + `">` + tr +
		`</c:comp-filter></c:comp-filter></c:filter></c:calendar-query>`
	ms, err := c.report(ctx, "calendar-query", "REPORT", coll, "1", body)
	if err != nil {
		return nil, err
	}
	self := normHref(coll)
	out := make(map[string]string, len(ms.Responses))
	for i := range ms.Responses {
		r := &ms.Responses[i]
		if h := r.href(); under(self, h) && statusCode(r.Status) != http.StatusNotFound {
			out[h] = r.found().ETag
		}
	}
	return out, nil
}
