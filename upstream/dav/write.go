package dav

import (
	"context"
	"net/http"
	"strings"
)

// Content types for Put.
const (
	ContentCalendar = "text/calendar; charset=utf-8"
	ContentVCard    = "text/vcard; charset=utf-8"
)

// Create stores a new object at href with If-None-Match: * (RFC 9110
// 13.1.2), so a create never overwrites: ErrPrecondition when href exists,
// ErrConflict (Precondition "no-uid-conflict", RFC 4791 5.3.2.1 / RFC 6352
// 6.3.2.1) when the UID is already stored at another href, and also
// ErrConflict, with no Precondition, when the collection does not exist
// (RFC 4918 9.7.1; Radicale answers so). It returns the
// new ETag, or "" when the server sent none (RFC 4791 5.3.4 allows that
// when it changed the data; the caller lists or fetches it).
func (c *Client) Create(ctx context.Context, href, contentType string, data []byte, opts ...WriteOption) (string, error) {
	return c.put(ctx, href, contentType, data, "If-None-Match", "*", opts)
}

// Update replaces the object at href only if its ETag is still etag
// (If-Match): ErrPrecondition when someone changed or deleted it meanwhile.
func (c *Client) Update(ctx context.Context, href, etag, contentType string, data []byte, opts ...WriteOption) (string, error) {
	return c.put(ctx, href, contentType, data, "If-Match", quoteETag(etag), opts)
}

// WriteOption adds a request header to a PUT.
type WriteOption func(header map[string]string)

// NoScheduleReply asks a server that schedules itself (RFC 6638) not to
// send the iTIP REPLY its implicit scheduling would send for an
// attendee's changed PARTSTAT (Schedule-Reply: F, RFC 6638 8.1): the
// device sends its own, or none is wanted. Other servers ignore it.
func NoScheduleReply(h map[string]string) { h["Schedule-Reply"] = "F" }

func (c *Client) put(ctx context.Context, href, contentType string, data []byte, cond, value string, opts []WriteOption) (string, error) {
	h := map[string]string{"Content-Type": contentType, cond: value}
	for _, o := range opts {
		o(h)
	}
	rep, err := c.do(ctx, request{op: "put", method: http.MethodPut, href: href, body: data, header: h})
	if err != nil {
		return "", err
	}
	return rep.header.Get("ETag"), nil
}

// Delete removes the object at href if its ETag is still etag; an empty
// etag deletes unconditionally. ErrNotFound when it is already gone.
func (c *Client) Delete(ctx context.Context, href, etag string) error {
	h := map[string]string{}
	if etag != "" {
		h["If-Match"] = quoteETag(etag)
	}
	_, err := c.do(ctx, request{op: "delete", method: http.MethodDelete, href: href, header: h})
	return err
}

// quoteETag accepts an ETag with or without its quotes (and W/ prefix).
func quoteETag(etag string) string {
	if strings.HasPrefix(etag, `"`) || strings.HasPrefix(etag, `W/"`) {
		return etag
	}
	return `"` + etag + `"`
}
