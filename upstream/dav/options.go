package dav

import (
	"context"
	"net/http"
	"strings"
)

// Capabilities returns the compliance classes of the DAV header of an
// OPTIONS on href (RFC 4918 10.1), lower-cased: "calendar-access",
// "calendar-auto-schedule" (RFC 6638 2) and so on.
func (c *Client) Capabilities(ctx context.Context, href string) (map[string]bool, error) {
	rep, err := c.do(ctx, request{op: "options", method: http.MethodOptions, href: href})
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, v := range rep.header.Values("DAV") {
		for _, c := range strings.Split(v, ",") {
			if c = strings.ToLower(strings.TrimSpace(c)); c != "" {
				out[c] = true
			}
		}
	}
	return out, nil
}
