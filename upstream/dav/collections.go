package dav

import (
	"context"
	"fmt"
	"strings"
)

// Kind tells calendars from address books.
type Kind int

const (
	KindCalendar Kind = iota + 1
	KindAddressBook
)

func (k Kind) String() string {
	switch k {
	case KindCalendar:
		return "calendar"
	case KindAddressBook:
		return "addressbook"
	}
	return "unknown"
}

// Collection is one calendar or address book as its server describes it.
type Collection struct {
	Href        string // escaped path, ending in "/"
	Kind        Kind
	DisplayName string
	Description string
	// Color is Apple's calendar-color as the server stores it ("#RRGGBB" or
	// "#RRGGBBAA"); "" when unset.
	Color string
	// Components is the supported-calendar-component-set (RFC 4791 5.2.3),
	// e.g. [VEVENT VTODO]. nil means the server did not say, which per the
	// RFC means it accepts any component. Always nil for address books.
	Components []string
	// VCardVersions are the vCard versions of the address book's
	// supported-address-data (RFC 6352 6.2.2) in the server's order, e.g.
	// [3.0 4.0]; nil when the server did not say (RFC 6352 then means
	// 3.0). Always nil for calendars.
	VCardVersions []string
	// ReadOnly is true when current-user-privilege-set (RFC 3744 5.4) lacks
	// DAV:write (and DAV:all); a server that does not report privileges is
	// taken as writable and a refused write gives ErrForbidden.
	ReadOnly bool
	// SyncToken (RFC 6578 4) and CTag (CalendarServer getctag) as of this
	// listing; "" when the server does not offer them.
	SyncToken string
	CTag      string
	// SyncCollection is true when the server lists the sync-collection
	// report in supported-report-set (RFC 3253 3.1.5).
	SyncCollection bool
}

// Supports says whether a calendar takes the component ("VEVENT", "VTODO").
func (c *Collection) Supports(comp string) bool {
	if c.Kind != KindCalendar {
		return false
	}
	if c.Components == nil {
		return true
	}
	for _, x := range c.Components {
		if strings.EqualFold(x, comp) {
			return true
		}
	}
	return false
}

const collectionPropfind = `<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:a="urn:ietf:params:xml:ns:carddav" xmlns:cs="http://calendarserver.org/ns/" xmlns:ic="http://apple.com/ns/ical/">
<d:prop><d:resourcetype/><d:displayname/><d:current-user-privilege-set/><d:supported-report-set/><d:sync-token/><cs:getctag/>
<c:supported-calendar-component-set/><c:calendar-description/><ic:calendar-color/><a:addressbook-description/><a:supported-address-data/></d:prop></d:propfind>`

// Calendars lists the calendars in a calendar home (Depth 1), with
// everything a folder list needs in one request.
func (c *Client) Calendars(ctx context.Context, home string) ([]Collection, error) {
	return c.collections(ctx, home, KindCalendar)
}

// AddressBooks lists the address books in an address book home.
func (c *Client) AddressBooks(ctx context.Context, home string) ([]Collection, error) {
	return c.collections(ctx, home, KindAddressBook)
}

func (c *Client) collections(ctx context.Context, home string, kind Kind) ([]Collection, error) {
	ms, err := c.propfind(ctx, "collections", home, "1", collectionPropfind)
	if err != nil {
		return nil, err
	}
	var out []Collection
	for i := range ms.Responses {
		if col, ok := toCollection(&ms.Responses[i]); ok && col.Kind == kind {
			out = append(out, col)
		}
	}
	return out, nil
}

// Collection describes one collection (Depth 0); ErrNotDAV when href is
// neither a calendar nor an address book.
func (c *Client) Collection(ctx context.Context, href string) (*Collection, error) {
	ms, err := c.propfind(ctx, "collection", href, "0", collectionPropfind)
	if err != nil {
		return nil, err
	}
	for i := range ms.Responses {
		if col, ok := toCollection(&ms.Responses[i]); ok {
			return &col, nil
		}
	}
	return nil, fmt.Errorf("dav collection %s: %w (not a calendar or address book)", href, ErrNotFound)
}

func toCollection(r *msResponse) (Collection, bool) {
	p := r.found()
	col := Collection{Href: r.href(), DisplayName: p.DisplayName, SyncToken: p.SyncToken, CTag: p.CTag}
	switch {
	case p.isType(nsCalDAV, "calendar"):
		col.Kind = KindCalendar
		col.Description, col.Color = p.Description, p.Color
		if p.Components != nil {
			col.Components = []string{}
			for _, x := range p.Components.Comp {
				col.Components = append(col.Components, strings.ToUpper(x.Name))
			}
		}
	case p.isType(nsCardDAV, "addressbook"):
		col.Kind = KindAddressBook
		col.Description = p.ABDesc
		if p.AddressTypes != nil {
			col.VCardVersions = []string{}
			for _, t := range p.AddressTypes.Type {
				ct := strings.ToLower(strings.TrimSpace(t.ContentType))
				if ct != "" && ct != "text/vcard" {
					continue // e.g. application/vcard+json (RFC 7095)
				}
				v := strings.TrimSpace(t.Version)
				if v == "" {
					v = "3.0" // RFC 6352 10.3.1: the default version
				}
				col.VCardVersions = append(col.VCardVersions, v)
			}
		}
	default:
		return col, false
	}
	if !strings.HasSuffix(col.Href, "/") {
		col.Href += "/"
	}
	col.ReadOnly = p.Privileges != nil && !p.hasPrivilege("write") && !p.hasPrivilege("write-content")
	col.SyncCollection = p.supportsReport(nsDAV, "sync-collection")
	return col, true
}
