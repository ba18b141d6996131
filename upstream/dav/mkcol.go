package dav

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// MakeCalendar creates a calendar at href (MKCALENDAR, RFC 4791 5.3.1)
// taking the given components ("VEVENT", "VTODO"; none: the server's
// default) with a display name and optional Apple calendar-color.
func (c *Client) MakeCalendar(ctx context.Context, href, name string, components []string, color string) error {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>
<c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:ic="http://apple.com/ns/ical/"><d:set><d:prop>`)
	b.WriteString("<d:displayname>" + escapeText(name) + "</d:displayname>")
	if len(components) > 0 {
		b.WriteString("<c:supported-calendar-component-set>")
		for _, comp := range components {
			b.WriteString(`<c:comp name="` + escapeText(strings.ToUpper(comp)) + `"/>`)
		}
		b.WriteString("</c:supported-calendar-component-set>")
	}
	if color != "" {
		b.WriteString("<ic:calendar-color>" + escapeText(color) + "</ic:calendar-color>")
	}
	b.WriteString("</d:prop></d:set></c:mkcalendar>")
	return c.create(ctx, "mkcalendar", "MKCALENDAR", href, b.String())
}

// MakeAddressBook creates an address book at href with extended MKCOL
// (RFC 5689 3, RFC 6352 6.3.1).
func (c *Client) MakeAddressBook(ctx context.Context, href, name string) error {
	body := `<?xml version="1.0" encoding="utf-8"?>
<d:mkcol xmlns:d="DAV:" xmlns:a="urn:ietf:params:xml:ns:carddav"><d:set><d:prop><d:resourcetype><d:collection/><a:addressbook/></d:resourcetype><d:displayname>` +
		escapeText(name) + `</d:displayname></d:prop></d:set></d:mkcol>`
	return c.create(ctx, "mkcol", "MKCOL", href, body)
}

// create sends MKCALENDAR/MKCOL. Success is 201; RFC 5689 3.5 lets a
// failed property answer 207 (or 403/409 with a multistatus body), which
// is an error here.
func (c *Client) create(ctx context.Context, op, method, href, body string) error {
	rep, err := c.do(ctx, request{op: op, method: method, href: href, body: []byte(body)})
	if err != nil {
		return err
	}
	if rep.code != http.StatusCreated {
		return fmt.Errorf("dav %s %s: HTTP %d, want 201 Created", op, href, rep.code)
	}
	return nil
}

// SetDisplayName renames a collection (PROPPATCH, RFC 4918 9.2).
func (c *Client) SetDisplayName(ctx context.Context, href, name string) error {
	body := `<?xml version="1.0" encoding="utf-8"?>
<d:propertyupdate xmlns:d="DAV:"><d:set><d:prop><d:displayname>` + escapeText(name) + `</d:displayname></d:prop></d:set></d:propertyupdate>`
	ms, err := c.report(ctx, "proppatch", "PROPPATCH", href, "", body)
	if err != nil {
		return err
	}
	// The answer is per property (RFC 4918 9.2.1): anything but 2xx failed.
	for _, r := range ms.Responses {
		for _, ps := range r.Propstats {
			if code := statusCode(ps.Status); code/100 != 2 && code != 0 {
				return &StatusError{Op: "proppatch", Href: href, Code: code}
			}
		}
	}
	return nil
}

// DeleteCollection removes a calendar or address book with everything in
// it. A 207 answer means some members could not be deleted (RFC 4918
// 9.6.1): reported as an error with the first failing status.
func (c *Client) DeleteCollection(ctx context.Context, href string) error {
	rep, err := c.do(ctx, request{op: "delete-collection", method: http.MethodDelete, href: href})
	if err != nil {
		return err
	}
	if rep.code == http.StatusMultiStatus {
		code := http.StatusInternalServerError
		if ms, perr := parseMultistatus(rep.body); perr == nil {
			for _, r := range ms.Responses {
				if c := statusCode(r.Status); c >= 400 {
					code = c
					break
				}
			}
		}
		return &StatusError{Op: "delete-collection", Href: href, Code: code}
	}
	return nil
}
