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
func (c *Client) Create(ctx context.Context, href, contentType string, data []byte) (string, error) {
	return c.put(ctx, href, contentType, data, "If-None-Match", "*")
}

// Update replaces the object at href only if its ETag is still etag
// (If-Match): ErrPrecondition when someone changed or deleted it meanwhile.
func (c *Client) Update(ctx context.Context, href, etag, contentType string, data []byte) (string, error) {
	return c.put(ctx, href, contentType, data, "If-Match", quoteETag(etag))
}

func (c *Client) put(ctx context.Context, href, contentType string, data []byte, cond, value string) (string, error) {
	rep, err := c.do(ctx, request{op: "put", method: http.MethodPut, href: href, body: data,
		header: map[string]string{"Content-Type": contentType, cond: value}})
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
