package items

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

func contactSample() *Contact {
	bd := time.Date(1980, 5, 15, 0, 0, 0, 0, time.UTC)
	c := &Contact{Birthday: &bd, Categories: []string{"Family"}, Children: []string{"Ann", "Bob"},
		Body: &ContactBody{Type: 1, Data: "likes tea"}, Picture: []byte{0xFF, 0xD8, 0xFF}}
	c.Set(ContactFirstName, "Jane")
	c.Set(ContactLastName, "Doe")
	c.Set(ContactNickName, "JD")
	c.Set(ContactEmail1, "jane@example.org")
	c.Set(ContactMobilePhone, "+1 555 0100")
	c.Set(ContactAlias, "jdoe")
	return c
}

// The wire form round-trips through WBXML bytes for every version, and the
// 14.0+ elements stay out of 12.1.
func TestContactRoundTripWBXML(t *testing.T) {
	for _, v := range []Version{121, 140, 141, 160, 161} {
		in := contactSample()
		app := in.Encode(v)
		sync := wbxml.New(wbxml.AirSync, "Sync").Append(app)
		raw, err := wbxml.Encode(sync)
		if err != nil {
			t.Fatalf("%d: encode: %v", v, err)
		}
		back, err := wbxml.Decode(raw, wbxml.Limits{})
		if err != nil {
			t.Fatalf("%d: decode: %v", v, err)
		}
		out, err := DecodeContact(back.Child(wbxml.AirSync, "ApplicationData"), v)
		if err != nil {
			t.Fatalf("%d: DecodeContact: %v", v, err)
		}
		if _, ok := out.Get(ContactAlias); ok != (v >= 140) {
			t.Errorf("%d: Alias present=%v", v, ok)
		}
		if !out.Equal(in, v >= 140) {
			t.Errorf("%d: round trip differs:\n%s", v, app.XML())
		}
	}
}

// Equal compares two contacts (test helper); withAlias false ignores Alias.
func (c *Contact) Equal(o *Contact, withAlias bool) bool {
	a, b := c.Encode(161), o.Encode(161)
	if !withAlias {
		a, b = contactDropAlias(a), contactDropAlias(b)
	}
	return a.Equal(b)
}

func contactDropAlias(e *wbxml.Element) *wbxml.Element {
	out := wbxml.New(e.Space, e.Name)
	for _, ch := range e.Children {
		if ch.Name != "Alias" {
			out.Append(ch)
		}
	}
	return out
}

// Absent and sent-empty are different values: the merge relies on it.
func TestDecodeContactAbsentVersusEmpty(t *testing.T) {
	app := wbxml.New(wbxml.AirSync, "ApplicationData")
	app.AddText(wbxml.Contacts, "JobTitle", "")
	app.Add(wbxml.Contacts, "Categories")
	app.Add(wbxml.Contacts, "Picture")
	c, err := DecodeContact(app, 141)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := c.Get(ContactJobTitle); !ok || v != "" {
		t.Errorf("JobTitle = %q, %v; want sent empty", v, ok)
	}
	if _, ok := c.Get(ContactCompanyName); ok {
		t.Error("CompanyName present though absent")
	}
	if c.Categories == nil || len(c.Categories) != 0 {
		t.Errorf("Categories = %#v, want empty non-nil", c.Categories)
	}
	if c.Children != nil || c.Body != nil || c.Birthday != nil {
		t.Error("absent elements decoded as present")
	}
	if c.Picture == nil || len(c.Picture) != 0 {
		t.Errorf("empty <Picture/> = %#v, want non-nil empty (iOS keep)", c.Picture)
	}
}

func TestDecodeContactPictureLimit(t *testing.T) {
	app := wbxml.New(wbxml.AirSync, "ApplicationData")
	app.AddText(wbxml.Contacts, "Picture", strings.Repeat("QUJD", ContactPictureMax/4+1))
	if _, err := DecodeContact(app, 161); !errors.Is(err, ErrContactPictureTooLarge) {
		t.Fatalf("err = %v, want ErrContactPictureTooLarge", err)
	}
	big := &Contact{Picture: make([]byte, ContactPictureMax)}
	if big.Encode(161).Has(wbxml.Contacts, "Picture") {
		t.Error("Encode sent a Picture over 48 KB")
	}
}

func TestDecodeContactDates(t *testing.T) {
	for _, s := range []string{"1980-05-14T22:00:00.000Z", "19800514T220000Z", "1980-05-14T22:00:00Z"} {
		app := wbxml.New(wbxml.AirSync, "ApplicationData")
		app.AddText(wbxml.Contacts, "Birthday", s)
		c, err := DecodeContact(app, 141)
		if err != nil || c.Birthday == nil || !c.Birthday.Equal(time.Date(1980, 5, 14, 22, 0, 0, 0, time.UTC)) {
			t.Errorf("%s: %v %v", s, c, err)
		}
	}
	app := wbxml.New(wbxml.AirSync, "ApplicationData")
	app.AddText(wbxml.Contacts, "Anniversary", "yesterday")
	if _, err := DecodeContact(app, 141); err == nil {
		t.Error("bad date accepted")
	}
}
