package dav

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"time"
)

// ErrNoFreeBusy: the server does not answer free-busy-query (RFC 4791
// 7.10) with a VFREEBUSY. Radicale 3.1.8 answers 207 with the hrefs of
// the calendar's objects, as it does for a report it does not know.
var ErrNoFreeBusy = errors.New("dav: server offers no free-busy-query")

// FreeBusy asks a calendar for the user's busy time in [start, end) with a
// free-busy-query REPORT (RFC 4791 7.10) and returns the iCalendar text of
// the answer (a VCALENDAR holding one VFREEBUSY). ErrNoFreeBusy when the
// server answers anything but 200 text/calendar; a 403 (the privilege
// CALDAV:read-free-busy is missing) is an ErrForbidden StatusError.
func (c *Client) FreeBusy(ctx context.Context, calendar string, start, end time.Time) ([]byte, error) {
	const stamp = "20060102T150405Z"
	body := `<?xml version="1.0" encoding="utf-8"?>
<c:free-busy-query xmlns:c="urn:ietf:params:xml:ns:caldav"><c:time-range start="` + start.UTC().Format(stamp) +
		`" end="` + end.UTC().Format(stamp) + `"/></c:free-busy-query>`
	rep, err := c.do(ctx, request{op: "free-busy-query", method: "REPORT", href: calendar,
		header: map[string]string{"Depth": "1"}, body: []byte(body)})
	if err != nil {
		return nil, err
	}
	mt, _, _ := mime.ParseMediaType(rep.header.Get("Content-Type"))
	if rep.code != http.StatusOK || !strings.EqualFold(mt, "text/calendar") {
		return nil, fmt.Errorf("dav free-busy-query %s: %w (HTTP %d, %s)", calendar, ErrNoFreeBusy, rep.code, mt)
	}
	return rep.body, nil
}

// SameOrigin says whether href (a path, or a URL) is on this client's
// server: only there are the user's credentials sent.
func (c *Client) SameOrigin(href string) bool {
	_, err := c.resolve(href)
	return err == nil
}

// PublishedFreeBusy GETs a published free/busy file (a vCard's FBURL,
// RFC 6350 6.9.1) on this client's server, with the user's credentials,
// and returns its iCalendar text. An href on another server is refused
// before anything is sent; an answer that is not 200 text/calendar is
// ErrNoFreeBusy.
func (c *Client) PublishedFreeBusy(ctx context.Context, href string) ([]byte, error) {
	rep, err := c.do(ctx, request{op: "get free/busy", method: http.MethodGet, href: href})
	if err != nil {
		return nil, err
	}
	mt, _, _ := mime.ParseMediaType(rep.header.Get("Content-Type"))
	if rep.code != http.StatusOK || !strings.EqualFold(mt, "text/calendar") {
		return nil, fmt.Errorf("dav get free/busy %s: %w (HTTP %d, %s)", href, ErrNoFreeBusy, rep.code, mt)
	}
	return rep.body, nil
}
