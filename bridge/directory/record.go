package directory

import (
	"bytes"
	"encoding/base64"
	"strings"

	"github.com/emersion/go-vcard"
	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/activesync/items"
	"github.com/idlebridge/idlebridge/bridge/cardconv"
)

// record is a card reduced to what the directory shows and matches: a few
// hundred bytes, no photo.
type record struct {
	href     string
	class    bookClass
	entry    activesync.GALEntry // Picture always nil
	emails   []string            // every EMAIL, lower-cased
	keys     []string            // lower-cased fields a query matches: FN, N parts, EMAIL, NICKNAME, ORG
	sortKey  string
	hasPhoto bool
	certs    [][]byte // DER X.509 certificates from KEY
	fbURL    string   // the first FBURL (RFC 6350 6.9.1): where the person's free/busy is published
}

// parseRecord reads a stored card; ok is false for a card that cannot be
// read (reported by the caller and skipped).
func parseRecord(href string, class bookClass, data []byte) (*record, error) {
	c, err := cardconv.ToContact(data, cardconv.Options{SkipPicture: true})
	if err != nil {
		return nil, err
	}
	get := func(f items.ContactField) string { v, _ := c.Get(f); return v }
	r := &record{href: href, class: class}
	e := &r.entry
	e.FirstName, e.LastName = get(items.ContactFirstName), get(items.ContactLastName)
	e.DisplayName = get(items.ContactFileAs)
	if e.DisplayName == "" {
		e.DisplayName = strings.TrimSpace(e.FirstName + " " + e.LastName)
	}
	e.Phone = get(items.ContactBusinessPhone)
	e.HomePhone = get(items.ContactHomePhone)
	e.MobilePhone = get(items.ContactMobilePhone)
	e.Title = get(items.ContactJobTitle)
	e.Company = get(items.ContactCompanyName)
	e.Office = get(items.ContactOfficeLocation)
	e.Alias = get(items.ContactNickName)
	e.EmailAddress = get(items.ContactEmail1)
	if e.DisplayName == "" {
		e.DisplayName = e.EmailAddress
	}
	r.readRaw(data)
	if e.EmailAddress == "" && len(r.emails) > 0 {
		e.EmailAddress = r.emails[0]
	}
	for _, k := range []string{e.DisplayName, e.FirstName, e.LastName, get(items.ContactMiddleName), e.Alias, e.Company, get(items.ContactDepartment)} {
		if k != "" {
			r.keys = append(r.keys, strings.ToLower(k))
		}
	}
	r.keys = append(r.keys, r.emails...)
	r.sortKey = strings.ToLower(e.DisplayName) + "\x00" + strings.ToLower(e.EmailAddress) + "\x00" + href
	return r, nil
}

// readRaw takes from the card what the contact conversion does not carry:
// every email (a directory entry may have more than three), whether it has
// a photo, and the S/MIME certificates in KEY (RFC 6350 6.8.1; v3 binary,
// v4 data: URI). A card go-vcard cannot parse keeps what cardconv read.
func (r *record) readRaw(data []byte) {
	card, err := vcard.NewDecoder(bytes.NewReader(data)).Decode()
	if err != nil {
		if r.entry.EmailAddress != "" {
			r.emails = []string{strings.ToLower(r.entry.EmailAddress)}
		}
		return
	}
	for _, f := range card[vcard.FieldEmail] {
		if a := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(f.Value, "mailto:"))); a != "" {
			r.emails = append(r.emails, a)
		}
	}
	r.hasPhoto = len(card[vcard.FieldPhoto]) > 0
	for _, f := range card[vcard.FieldFreeOrBusyURL] {
		if v := strings.TrimSpace(f.Value); v != "" {
			r.fbURL = v
			break
		}
	}
	for _, f := range card[vcard.FieldKey] {
		if der := keyBytes(f); der != nil {
			r.certs = append(r.certs, der)
		}
	}
}

// keyBytes decodes a KEY holding an X.509 certificate: v3
// "KEY;ENCODING=b;TYPE=X509:<base64>", v4 "KEY:data:application/pkix-cert;base64,<...>"
// (or with MEDIATYPE). Other keys (PGP, URIs to fetch) are not
// certificates the device can use.
func keyBytes(f *vcard.Field) []byte {
	v := strings.Join(strings.Fields(f.Value), "")
	typ := strings.ToLower(f.Params.Get("TYPE") + " " + f.Params.Get("MEDIATYPE"))
	if len(v) >= 5 && strings.EqualFold(v[:5], "data:") {
		meta, payload, ok := strings.Cut(v[5:], ",")
		if !ok || !strings.HasSuffix(strings.ToLower(meta), ";base64") {
			return nil
		}
		typ += " " + strings.ToLower(meta)
		v = payload
	} else if enc := strings.ToLower(f.Params.Get("ENCODING")); enc != "b" && enc != "base64" {
		return nil
	}
	if !strings.Contains(typ, "x509") && !strings.Contains(typ, "pkix-cert") && !strings.Contains(typ, "x-x509") {
		return nil
	}
	der, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(der) == 0 {
		return nil
	}
	return der
}

// hasEmail says whether the record holds the (lower-cased) address.
func (r *record) hasEmail(addr string) bool {
	for _, e := range r.emails {
		if e == addr {
			return true
		}
	}
	return false
}
