package dav

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/emersion/go-webdav"
)

// webdavHTTP lets go-webdav's clients send through Client.do, so their
// requests get the same time bound, size bound, credentials, User-Agent
// and typed errors as ours (go-webdav's own error type is in an internal
// package and cannot be tested with errors.As).
type webdavHTTP struct {
	c  *Client
	op string
}

var _ webdav.HTTPClient = webdavHTTP{}

func (w webdavHTTP) Do(req *http.Request) (*http.Response, error) {
	r := request{op: w.op, method: req.Method, header: map[string]string{}}
	for k := range req.Header {
		r.header[k] = req.Header.Get(k)
	}
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		r.body = b
	}
	if _, err := w.c.resolve(req.URL.String()); err != nil {
		return nil, err
	}
	rep, err := w.c.doURL(req.Context(), r, req.URL)
	if err != nil {
		return nil, err
	}
	return &http.Response{
		Status:     fmt.Sprintf("%d %s", rep.code, http.StatusText(rep.code)),
		StatusCode: rep.code,
		Header:     rep.header,
		Body:       io.NopCloser(bytes.NewReader(rep.body)),
		Request:    req,
	}, nil
}

func (c *Client) webdavClient(op string, endpoint *url.URL) (*webdav.Client, error) {
	return webdav.NewClient(webdavHTTP{c, op}, endpoint.String())
}

// escapedPath turns the unescaped path go-webdav returns into the escaped
// form hrefs have everywhere else in this package.
func escapedPath(p string) string { return (&url.URL{Path: p}).EscapedPath() }
