package cardconv

import (
	"bytes"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/idlebridge/idlebridge/activesync/items"
)

// Ghosting says what an element the device left out of a Change means
// (MS-ASCMD 2.2.3.179 Supported, research P6).
type Ghosting struct {
	Version items.Version
	// Supported is the folder's Supported list from its SyncKey=0 Sync: nil
	// when the device sent none (nothing is ghosted: absent = cleared),
	// empty when it sent <Supported/> (everything is ghosted), else the
	// listed elements are the ones not ghosted.
	Supported []items.ContactField
}

// keep reports whether an absent element leaves the stored value alone.
func (g Ghosting) keep(f items.ContactField) bool {
	if g.Version >= 160 {
		return true // 16.x: absent = unchanged, as for calendar (MS-ASCAL 3.1.5.3)
	}
	if g.Supported == nil {
		return false
	}
	return !slices.Contains(g.Supported, f)
}

// Merge applies the device's item to the stored card and returns the card
// to PUT, in the stored card's own vCard version. Only the lines behind
// elements whose value changed are touched; everything else is written as
// it was read.
func Merge(stored []byte, c *items.Contact, g Ghosting, opt Options) ([]byte, error) {
	d, err := parseDoc(stored)
	if err != nil {
		return nil, err
	}
	d.assign()
	d.apply(c, g, opt)
	return d.bytes(), nil
}

// NewCard builds the card for a device's Add in the address book's vCard
// version ("3.0" or "4.0"), with the given UID.
func NewCard(c *items.Contact, version, uid string, opt Options) ([]byte, error) {
	if !strings.HasPrefix(version, "4") {
		version = "3.0"
	}
	skel := "BEGIN:VCARD\r\nVERSION:" + version + "\r\nUID:" + escapeText(uid) + "\r\nEND:VCARD\r\n"
	d, err := parseDoc([]byte(skel))
	if err != nil {
		return nil, err
	}
	d.assign()
	d.apply(c, Ghosting{Version: 161}, opt)
	if d.first("N") == nil && !d.v4() {
		d.add("N", ";;;;") // required in v3 (RFC 2426 3.1.2)
	}
	return d.bytes(), nil
}

func (d *cardDoc) apply(c *items.Contact, g Ghosting, opt Options) {
	if c == nil {
		c = &items.Contact{}
	}
	for _, f := range slotFields() {
		v, ok := c.Get(f)
		if !ok {
			if g.keep(f) {
				continue
			}
			v = ""
		}
		v = strings.TrimSpace(v)
		if slots[f].kind == kindEmail {
			v = bareEmail(v)
		}
		if v != d.read(f) {
			d.write(f, v)
		}
	}
	d.applyDate(c.Birthday, items.ContactBirthdayTag, d.birthday(), "BDAY", g, opt)
	anniv := "X-ANNIVERSARY"
	if d.v4() {
		anniv = "ANNIVERSARY"
	}
	d.applyDate(c.Anniversary, items.ContactAnniversaryTag, d.anniversary(), anniv, g, opt)
	d.applyList(c.Categories, items.ContactCategoriesTag, g, d.categories(), d.named("CATEGORIES"),
		func(v []string) {
			esc := make([]string, len(v))
			for i, s := range v {
				esc[i] = escapeText(s)
			}
			d.add("CATEGORIES", strings.Join(esc, ","))
		})
	childProp := "X-CHILD"
	if d.v4() {
		childProp = "RELATED;TYPE=child;VALUE=text"
	}
	d.applyList(c.Children, items.ContactChildrenTag, g, d.children(), d.childLines(),
		func(v []string) {
			for _, s := range v {
				d.add(childProp, escapeText(s))
			}
		})
	d.applyBody(c.Body, g)
	d.applyPicture(c.Picture, g)
	d.ensureFN()
}

// applyDate writes Birthday/Anniversary as a date-only value; a device
// date that means the stored date leaves the line untouched, which keeps
// year-less dates and the stored form.
func (d *cardDoc) applyDate(t *time.Time, tag items.ContactField, l *cardLine, prop string, g Ghosting, opt Options) {
	if t == nil {
		if g.keep(tag) || l == nil {
			return
		}
		d.remove(l)
		return
	}
	want := fromDevice(*t, opt.Family, opt.Zone)
	if l != nil {
		if have, ok := parseDate(l); ok && have == want {
			return
		}
		value, omit := formatDate(want, strings.Contains(l.value, "-"), d.v4())
		l.set(value)
		if omit && l.params.Get("X-APPLE-OMIT-YEAR") == "" {
			l.prefix += ";X-APPLE-OMIT-YEAR=" + strconv.Itoa(noYear)
		}
		return
	}
	value, omit := formatDate(want, !d.v4(), d.v4())
	if omit {
		prop += ";X-APPLE-OMIT-YEAR=" + strconv.Itoa(noYear)
	}
	d.add(prop, value)
}

// applyList replaces Categories or Children when the device's list
// differs; the old lines go, one new set is added.
func (d *cardDoc) applyList(v []string, tag items.ContactField, g Ghosting, have []string, lines []*cardLine, add func([]string)) {
	if v == nil {
		if g.keep(tag) {
			return
		}
		v = []string{}
	}
	var clean []string
	for _, s := range v {
		if s = strings.TrimSpace(s); s != "" {
			clean = append(clean, s)
		}
	}
	if slices.Equal(clean, have) {
		return
	}
	for _, l := range lines {
		d.remove(l)
	}
	if len(clean) > 0 {
		add(clean)
	}
}

// applyBody: the notes are NOTE (plain text; other body types are kept as
// their text, since a vCard has nowhere else to put them).
func (d *cardDoc) applyBody(b *items.ContactBody, g Ghosting) {
	l := d.first("NOTE")
	if b == nil {
		if g.keep(items.ContactBodyTag) || l == nil {
			return
		}
		d.remove(l)
		return
	}
	if b.Truncated {
		return // a truncated body is not the whole note: never write it back
	}
	data := strings.ReplaceAll(b.Data, "\r\n", "\n")
	data = strings.ReplaceAll(data, "\r", "\n")
	switch {
	case l != nil && unescapeText(l.value) == data:
	case l != nil && data == "":
		d.remove(l)
	case l != nil:
		l.set(escapeText(data))
	case data != "":
		d.add("NOTE", escapeText(data))
	}
}

// applyPicture: the empty <Picture/> (iOS, on every edit of a server
// photo) and the very picture we sent keep the stored PHOTO as it is, the
// original resolution included; new bytes replace it in the card's form.
func (d *cardDoc) applyPicture(pic []byte, g Ghosting) {
	l := d.first("PHOTO")
	if pic == nil {
		if g.keep(items.ContactPictureTag) || l == nil {
			return
		}
		d.remove(l)
		return
	}
	if len(pic) == 0 {
		return
	}
	if l != nil {
		if orig := photoBytes(l); orig != nil && (bytes.Equal(orig, pic) || bytes.Equal(forDevice(orig), pic)) {
			return
		}
		d.remove(l)
	}
	enc := base64.StdEncoding.EncodeToString(pic)
	typ := photoType(pic)
	if d.v4() {
		// The comma is escaped: Radicale (vobject) reads the value as a text
		// list and drops everything after a bare comma (seen with Radicale 3
		// in TestCardsAcceptedByRadicale); photoBytes reads both forms.
		d.add("PHOTO", "data:image/"+typ+";base64\\,"+enc)
	} else {
		d.add("PHOTO;ENCODING=b;TYPE="+strings.ToUpper(typ), enc)
	}
}

func photoType(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG")):
		return "png"
	case bytes.HasPrefix(b, []byte("GIF8")):
		return "gif"
	}
	return "jpeg"
}

// ensureFN keeps the card valid: FN is required in both versions (RFC 6350
// 6.2.1, RFC 2426 3.1.1); compose one from the name, company or address.
func (d *cardDoc) ensureFN() {
	if l := d.first("FN"); l != nil && strings.TrimSpace(l.value) != "" {
		return
	}
	var parts []string
	for _, f := range []items.ContactField{items.ContactTitle, items.ContactFirstName,
		items.ContactMiddleName, items.ContactLastName, items.ContactSuffix} {
		if v := d.read(f); v != "" {
			parts = append(parts, v)
		}
	}
	name := strings.Join(parts, " ")
	for _, f := range []items.ContactField{items.ContactCompanyName, items.ContactEmail1} {
		if name == "" {
			name = d.read(f)
		}
	}
	if l := d.first("FN"); l != nil {
		l.set(escapeText(name))
		return
	}
	d.add("FN", escapeText(name))
}
