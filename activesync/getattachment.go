package activesync

import (
	"context"
	"net/http"
	"strconv"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// handleGetAttachment answers GetAttachment (MS-ASCMD 2.2.1.7, 12.x): the
// attachment named by AttachmentName, raw, as the response body.
func handleGetAttachment(ctx context.Context, c *call) (*wbxml.Element, error) {
	name := c.q.AttachmentName
	if name == "" {
		return nil, httpError(http.StatusBadRequest, "GetAttachment without AttachmentName", nil)
	}
	ctype, size, rc, err := c.s.Backend.(ItemFetcher).OpenAttachment(ctx, c.acct, c.q.DeviceID, name)
	if err != nil {
		if _, ok := commandStatusOf(err); ok {
			return nil, httpError(http.StatusNotFound, "attachment not found", err)
		}
		return nil, err
	}
	defer rc.Close()
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	c.w.Header().Set("Content-Type", ctype)
	if size > 0 {
		c.w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	}
	c.w.WriteHeader(http.StatusOK)
	c.wrote = true
	n, readErr, writeErr := copyToClient(c.w, rc, -1)
	c.logStreamEnd("attachment", n, readErr, writeErr, "name", name)
	return nil, nil
}
