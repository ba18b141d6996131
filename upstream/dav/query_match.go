package dav

import (
	"context"
	"net/http"
)

// ListMatching lists the href → ETag of the calendar's objects that have a
// component comp ("VEVENT", "VTODO") by calendar-query (RFC 4791 7.8) with
// no time range: with prop "" every such object; else those whose comp
// has the property prop, and when contains is not "" a value holding it
// (text-match is a case-insensitive substring match, RFC 4791 9.7.5, so a
// caller looking for one exact value checks the objects it gets). It
// tells the VTODO side of a mixed calendar from its VEVENTs, finds an
// object by UID, and lists completed tasks, all without bodies.
func (c *Client) ListMatching(ctx context.Context, coll, comp, prop, contains string) (map[string]string, error) {
	filter := `<c:comp-filter name="` + escapeText(comp) + `">`
	if prop != "" {
		filter += `<c:prop-filter name="` + escapeText(prop) + `">`
		if contains != "" {
			filter += `<c:text-match collation="i;ascii-casemap">` + escapeText(contains) + `</c:text-match>`
		}
		filter += `</c:prop-filter>`
	}
	filter += `</c:comp-filter>`
	return c.query(ctx, coll, filter)
}

// query runs a calendar-query asking for ETags only, with filter inside
// the VCALENDAR comp-filter.
func (c *Client) query(ctx context.Context, coll, filter string) (map[string]string, error) {
	body := `<?xml version="1.0" encoding="utf-8"?>
<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/></d:prop>
<c:filter><c:comp-filter name="VCALENDAR">` + filter + `</c:comp-filter></c:filter></c:calendar-query>`
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
