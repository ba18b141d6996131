package dav

import (
	"context"
	"net/http"
	"strconv"
	"strings"
)

// QueryCards asks an address book for the cards whose properties props
// (e.g. FN, EMAIL, NICKNAME) contain text, case-insensitively: an
// addressbook-query REPORT (RFC 6352 8.6) with an anyof filter of
// text-match "contains" under the i;unicode-casemap collation (RFC 6352
// 8.3), asking for the card data inline. limit > 0 asks the server for at
// most that many results (RFC 6352 8.6.1); truncated is true when the
// server says it cut the answer (a 507 on the book itself). Servers differ
// in what they can match: Radicale 3.1.8 answers 500 for a text-match on
// the structured N and ORG, and ignores the limit; the caller decides what
// to ask and how far to trust the answer.
func (c *Client) QueryCards(ctx context.Context, book, text string, props []string, limit int) (objs []Object, truncated bool, err error) {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>
<c:addressbook-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:carddav"><d:prop><d:getetag/><c:address-data/></d:prop><c:filter test="anyof">`)
	for _, p := range props {
		b.WriteString(`<c:prop-filter name="` + escapeText(strings.ToUpper(p)) + `"><c:text-match collation="i;unicode-casemap" match-type="contains">` +
			escapeText(text) + `</c:text-match></c:prop-filter>`)
	}
	b.WriteString(`</c:filter>`)
	if limit > 0 {
		b.WriteString(`<c:limit><c:nresults>` + strconv.Itoa(limit) + `</c:nresults></c:limit>`)
	}
	b.WriteString(`</c:addressbook-query>`)
	ms, err := c.report(ctx, "addressbook-query", "REPORT", book, "1", b.String())
	if err != nil {
		return nil, false, err
	}
	self := normHref(book)
	for i := range ms.Responses {
		r := &ms.Responses[i]
		href := r.href()
		code := statusCode(r.Status)
		if !under(self, href) {
			if code == http.StatusInsufficientStorage {
				truncated = true
			}
			continue
		}
		p := r.found()
		if code >= 400 || p.AddressData == "" {
			continue // a member the server could not read: not a match we can show
		}
		objs = append(objs, Object{Href: href, ETag: p.ETag, Data: []byte(p.AddressData)})
	}
	return objs, truncated, nil
}
