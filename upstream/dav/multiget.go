package dav

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// Object is one calendar object or vCard with its ETag.
type Object struct {
	Href string
	ETag string
	Data []byte // the iCalendar or vCard text as stored
}

// MultiGet fetches objects of the collection coll by href with
// calendar-multiget (RFC 4791 7.9) or addressbook-multiget (RFC 6352
// 8.7), Config.Batch hrefs per request. An href the server reports as
// missing (a 404 inside the multistatus: deleted since the listing) or
// leaves out is in failed with its *StatusError, not a failure of the
// call; err is for the request itself.
func (c *Client) MultiGet(ctx context.Context, coll string, kind Kind, hrefs []string) (objs []Object, failed map[string]error, err error) {
	failed = map[string]error{}
	n := c.cfg.batch()
	for start := 0; start < len(hrefs); start += n {
		batch := hrefs[start:min(start+n, len(hrefs))]
		got, err := c.multiGetBatch(ctx, coll, kind, batch)
		if err != nil {
			return objs, failed, err
		}
		for _, h := range batch {
			h = normHref(h)
			r, ok := got[h]
			switch {
			case !ok:
				failed[h] = &StatusError{Op: "multiget", Href: h, Code: http.StatusNotFound, Precondition: "left out of the multistatus"}
			case r.err != nil:
				failed[h] = r.err
			default:
				objs = append(objs, r.obj)
			}
		}
	}
	return objs, failed, nil
}

type multiGetItem struct {
	obj Object
	err error
}

func (c *Client) multiGetBatch(ctx context.Context, coll string, kind Kind, hrefs []string) (map[string]multiGetItem, error) {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n")
	switch kind {
	case KindCalendar:
		b.WriteString(`<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/><c:calendar-data/></d:prop>`)
	case KindAddressBook:
		b.WriteString(`<c:addressbook-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:carddav"><d:prop><d:getetag/><c:address-data/></d:prop>`)
	default:
		return nil, fmt.Errorf("dav multiget: unknown kind %d", kind)
	}
	for _, h := range hrefs {
		b.WriteString("<d:href>" + escapeText(h) + "</d:href>")
	}
	if kind == KindCalendar {
		b.WriteString("</c:calendar-multiget>")
	} else {
		b.WriteString("</c:addressbook-multiget>")
	}
	// Depth is ignored for multiget (RFC 4791 7.9); SabreDAV-based servers
	// have been seen to want "1", which is harmless elsewhere.
	ms, err := c.report(ctx, "multiget", "REPORT", coll, "1", b.String())
	if err != nil {
		return nil, err
	}
	got := make(map[string]multiGetItem, len(ms.Responses))
	for i := range ms.Responses {
		r := &ms.Responses[i]
		for _, raw := range r.Hrefs {
			h := normHref(raw)
			if code := statusCode(r.Status); code >= 400 {
				got[h] = multiGetItem{err: &StatusError{Op: "multiget", Href: h, Code: code}}
				continue
			}
			p := r.found()
			data := p.CalendarData
			if kind == KindAddressBook {
				data = p.AddressData
			}
			if data == "" {
				code := http.StatusNotFound
				for _, ps := range r.Propstats {
					if c := statusCode(ps.Status); c >= 400 {
						code = c
					}
				}
				got[h] = multiGetItem{err: &StatusError{Op: "multiget", Href: h, Code: code}}
				continue
			}
			got[h] = multiGetItem{obj: Object{Href: h, ETag: p.ETag, Data: []byte(data)}}
		}
	}
	return got, nil
}

func (c Config) batch() int {
	if c.Batch > 0 {
		return c.Batch
	}
	return DefaultBatch
}
