package dav

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
)

// XML namespaces of the properties read here.
const (
	nsDAV     = "DAV:"
	nsCalDAV  = "urn:ietf:params:xml:ns:caldav"
	nsCardDAV = "urn:ietf:params:xml:ns:carddav"
	nsCS      = "http://calendarserver.org/ns/" // getctag
	nsApple   = "http://apple.com/ns/ical/"     // calendar-color
)

// multistatus is a 207 body (RFC 4918 14.16), with the RFC 6578 sync-token.
type multistatus struct {
	Responses []msResponse `xml:"DAV: response"`
	SyncToken string       `xml:"DAV: sync-token"`
}

type msResponse struct {
	Hrefs     []string   `xml:"DAV: href"`
	Status    string     `xml:"DAV: status"`
	Propstats []propstat `xml:"DAV: propstat"`
}

type propstat struct {
	Prop   props  `xml:"DAV: prop"`
	Status string `xml:"DAV: status"`
}

type elem struct{ XMLName xml.Name }

type hrefs struct {
	Hrefs []string `xml:"DAV: href"`
}

// props holds every property this package asks for; a response fills only
// what was requested and found.
type props struct {
	ETag         string `xml:"DAV: getetag"`
	DisplayName  string `xml:"DAV: displayname"`
	SyncToken    string `xml:"DAV: sync-token"`
	ResourceType *struct {
		Types []elem `xml:",any"`
	} `xml:"DAV: resourcetype"`
	Principal    *hrefs `xml:"DAV: current-user-principal"`
	CalendarHome *hrefs `xml:"urn:ietf:params:xml:ns:caldav calendar-home-set"`
	AddressHome  *hrefs `xml:"urn:ietf:params:xml:ns:carddav addressbook-home-set"`
	Privileges   *struct {
		Privilege []struct {
			Any []elem `xml:",any"`
		} `xml:"DAV: privilege"`
	} `xml:"DAV: current-user-privilege-set"`
	Reports *struct {
		Supported []struct {
			Report struct {
				Any []elem `xml:",any"`
			} `xml:"DAV: report"`
		} `xml:"DAV: supported-report"`
	} `xml:"DAV: supported-report-set"`
	Components *struct {
		Comp []struct {
			Name string `xml:"name,attr"`
		} `xml:"urn:ietf:params:xml:ns:caldav comp"`
	} `xml:"urn:ietf:params:xml:ns:caldav supported-calendar-component-set"`
	AddressTypes *struct {
		Type []struct {
			ContentType string `xml:"content-type,attr"`
			Version     string `xml:"version,attr"`
		} `xml:"urn:ietf:params:xml:ns:carddav address-data-type"`
	} `xml:"urn:ietf:params:xml:ns:carddav supported-address-data"`
	Description  string `xml:"urn:ietf:params:xml:ns:caldav calendar-description"`
	ABDesc       string `xml:"urn:ietf:params:xml:ns:carddav addressbook-description"`
	CalendarData string `xml:"urn:ietf:params:xml:ns:caldav calendar-data"`
	AddressData  string `xml:"urn:ietf:params:xml:ns:carddav address-data"`
	CTag         string `xml:"http://calendarserver.org/ns/ getctag"`
	Color        string `xml:"http://apple.com/ns/ical/ calendar-color"`
}

// parseMultistatus decodes a 207 body. It never panics on hostile input
// (FuzzParseMultistatus) and needs the DAV:multistatus root.
func parseMultistatus(body []byte) (*multistatus, error) {
	var root struct {
		XMLName xml.Name
		multistatus
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	d.CharsetReader = identityCharset
	if err := d.Decode(&root); err != nil {
		return nil, fmt.Errorf("%w: multistatus: %w", ErrNotDAV, err)
	}
	if root.XMLName.Space != nsDAV || root.XMLName.Local != "multistatus" {
		return nil, fmt.Errorf("%w: root element %s %s, want DAV: multistatus", ErrNotDAV, root.XMLName.Space, root.XMLName.Local)
	}
	return &root.multistatus, nil
}

// identityCharset accepts ISO-8859-1 declarations (seen on old servers) by
// passing bytes through; anything non-UTF-8 then fails on its own.
func identityCharset(charset string, r io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "utf-8", "us-ascii", "iso-8859-1", "latin1":
		return r, nil
	}
	return nil, fmt.Errorf("charset %q not supported", charset)
}

// found merges the props of the propstats with a 2xx status (a server
// splits found and missing properties into separate propstats).
func (r *msResponse) found() props {
	var p props
	for _, ps := range r.Propstats {
		if c := statusCode(ps.Status); c/100 != 2 && c != 0 {
			continue
		}
		mergeProps(&p, &ps.Prop)
	}
	return p
}

func mergeProps(dst, src *props) {
	set := func(d *string, s string) {
		if s != "" {
			*d = s
		}
	}
	set(&dst.ETag, src.ETag)
	set(&dst.DisplayName, src.DisplayName)
	set(&dst.SyncToken, src.SyncToken)
	set(&dst.Description, src.Description)
	set(&dst.ABDesc, src.ABDesc)
	set(&dst.CalendarData, src.CalendarData)
	set(&dst.AddressData, src.AddressData)
	set(&dst.CTag, src.CTag)
	set(&dst.Color, src.Color)
	if src.ResourceType != nil {
		dst.ResourceType = src.ResourceType
	}
	if src.Principal != nil {
		dst.Principal = src.Principal
	}
	if src.CalendarHome != nil {
		dst.CalendarHome = src.CalendarHome
	}
	if src.AddressHome != nil {
		dst.AddressHome = src.AddressHome
	}
	if src.Privileges != nil {
		dst.Privileges = src.Privileges
	}
	if src.Reports != nil {
		dst.Reports = src.Reports
	}
	if src.Components != nil {
		dst.Components = src.Components
	}
	if src.AddressTypes != nil {
		dst.AddressTypes = src.AddressTypes
	}
}

// href is the response's first href normalised to an escaped path.
func (r *msResponse) href() string {
	if len(r.Hrefs) == 0 {
		return ""
	}
	return normHref(r.Hrefs[0])
}

// normHref reduces an href (path or absolute URL) to one canonical escaped
// path, so hrefs from different answers compare equal: Radicale writes
// "%40" where go-webdav and net/url write "@".
func normHref(h string) string {
	h = strings.TrimSpace(h)
	u, err := url.Parse(h)
	if err != nil || u.Path == "" {
		return h
	}
	return escapedPath(u.Path)
}

// statusCode reads "HTTP/1.1 404 Not Found"; 0 when unreadable.
func statusCode(line string) int {
	f := strings.Fields(line)
	if len(f) < 2 {
		return 0
	}
	n, err := strconv.Atoi(f[1])
	if err != nil || n < 100 || n > 999 {
		return 0
	}
	return n
}

func (p *props) isType(space, local string) bool {
	if p.ResourceType == nil {
		return false
	}
	for _, t := range p.ResourceType.Types {
		if t.XMLName.Space == space && t.XMLName.Local == local {
			return true
		}
	}
	return false
}

// hasPrivilege: RFC 3744 5.4 current-user-privilege-set; DAV:all implies every
// privilege.
func (p *props) hasPrivilege(local string) bool {
	if p.Privileges == nil {
		return false
	}
	for _, pr := range p.Privileges.Privilege {
		for _, a := range pr.Any {
			if a.XMLName.Space == nsDAV && (a.XMLName.Local == local || a.XMLName.Local == "all") {
				return true
			}
		}
	}
	return false
}

func (p *props) supportsReport(space, local string) bool {
	if p.Reports == nil {
		return false
	}
	for _, s := range p.Reports.Supported {
		for _, a := range s.Report.Any {
			if a.XMLName.Space == space && a.XMLName.Local == local {
				return true
			}
		}
	}
	return false
}

// parseDAVError reads a DAV:error body (RFC 4918 16): the first child's
// local name is the failed precondition, and an href inside it (CalDAV
// no-uid-conflict, RFC 4791 5.3.2.1) names the existing resource.
func parseDAVError(body []byte) (cond, href string, ok bool) {
	var e struct {
		XMLName xml.Name
		Any     []struct {
			XMLName xml.Name
			Hrefs   []string `xml:"DAV: href"`
		} `xml:",any"`
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	d.CharsetReader = identityCharset
	if err := d.Decode(&e); err != nil || e.XMLName.Space != nsDAV || e.XMLName.Local != "error" || len(e.Any) == 0 {
		return "", "", false
	}
	c := e.Any[0]
	if len(c.Hrefs) > 0 {
		href = normHref(c.Hrefs[0])
	}
	return c.XMLName.Local, href, true
}

// escapeText XML-escapes s for a request body.
func escapeText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
