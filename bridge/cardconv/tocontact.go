package cardconv

import (
	"strings"
	"time"

	"github.com/idlebridge/idlebridge/activesync/items"
)

// Options carry what a conversion needs to know about the device.
type Options struct {
	Family Family         // from ClientFamily(DeviceType, User-Agent)
	Zone   *time.Location // the user's zone, for FamilyIOS and FamilyOther; nil = UTC
	// SkipPicture leaves Picture empty: decoding and downscaling a photo
	// is the costly part of a conversion, and a directory index reading
	// thousands of cards fetches the few photos it shows with Photo.
	SkipPicture bool
}

// ToContact converts a stored card to the item sent to the device. Empty
// values are left out (an element sent empty would clear a field).
func ToContact(card []byte, opt Options) (*items.Contact, error) {
	d, err := parseDoc(card)
	if err != nil {
		return nil, err
	}
	d.assign()
	return d.contact(opt), nil
}

func (d *cardDoc) contact(opt Options) *items.Contact {
	c := &items.Contact{}
	for _, f := range slotFields() {
		if v := d.read(f); v != "" {
			c.Set(f, v)
		}
	}
	if l := d.birthday(); l != nil {
		if dt, ok := parseDate(l); ok {
			t := toDevice(dt, opt.Family, opt.Zone)
			c.Birthday = &t
		}
	}
	if l := d.anniversary(); l != nil {
		if dt, ok := parseDate(l); ok {
			t := toDevice(dt, opt.Family, opt.Zone)
			c.Anniversary = &t
		}
	}
	c.Categories = d.categories()
	c.Children = d.children()
	if l := d.first("NOTE"); l != nil {
		if n := unescapeText(l.value); n != "" {
			c.Body = &items.ContactBody{Type: 1, Data: n}
		}
	}
	if l := d.first("PHOTO"); l != nil && !opt.SkipPicture {
		c.Picture = forDevice(photoBytes(l))
	}
	return c
}

func (d *cardDoc) first(name string) *cardLine {
	if ls := d.named(name); len(ls) > 0 {
		return ls[0]
	}
	return nil
}

func (d *cardDoc) birthday() *cardLine { return d.first("BDAY") }

// anniversary: v4 ANNIVERSARY (RFC 6350 6.2.6), Evolution/KDE
// X-ANNIVERSARY, Apple's labelled X-ABDATE.
func (d *cardDoc) anniversary() *cardLine {
	if l := d.first("ANNIVERSARY"); l != nil {
		return l
	}
	if l := d.first("X-ANNIVERSARY"); l != nil {
		return l
	}
	for _, l := range d.named("X-ABDATE") {
		if d.label(l) == appleAnniv {
			return l
		}
	}
	return nil
}

// categories: every CATEGORIES line, comma-separated (RFC 6350 6.7.1).
func (d *cardDoc) categories() []string {
	var out []string
	for _, l := range d.named("CATEGORIES") {
		for _, p := range splitEscaped(l.value, ',') {
			if s := strings.TrimSpace(unescapeText(p)); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

func (d *cardDoc) childLines() []*cardLine {
	var out []*cardLine
	for _, l := range d.lines {
		if l.gone {
			continue
		}
		if (l.name == "RELATED" && d.typesOf(l)["child"]) || l.name == "X-CHILD" ||
			(l.name == "X-ABRELATEDNAMES" && d.label(l) == appleChild) {
			out = append(out, l)
		}
	}
	return out
}

func (d *cardDoc) children() []string {
	var out []string
	for _, l := range d.childLines() {
		if s := strings.TrimSpace(unescapeText(l.value)); s != "" {
			out = append(out, s)
		}
	}
	return out
}
