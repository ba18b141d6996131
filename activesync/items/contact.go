package items

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// ContactField names one single-valued text element of the Contact class
// (MS-ASCNTC 2.2.2): its code page and tag. The multi-valued, dated, body
// and picture elements have their own fields in Contact.
type ContactField struct {
	Space string // wbxml.Contacts or wbxml.Contacts2
	Name  string
}

func contactC1(name string) ContactField { return ContactField{wbxml.Contacts, name} }
func contactC2(name string) ContactField { return ContactField{wbxml.Contacts2, name} }

// The text elements, in the order Encode writes them.
var (
	ContactFileAs             = contactC1("FileAs")
	ContactFirstName          = contactC1("FirstName")
	ContactMiddleName         = contactC1("MiddleName")
	ContactLastName           = contactC1("LastName")
	ContactTitle              = contactC1("Title") // honorific prefix, not the job
	ContactSuffix             = contactC1("Suffix")
	ContactYomiFirstName      = contactC1("YomiFirstName")
	ContactYomiLastName       = contactC1("YomiLastName")
	ContactYomiCompanyName    = contactC1("YomiCompanyName")
	ContactNickName           = contactC2("NickName")
	ContactEmail1             = contactC1("Email1Address")
	ContactEmail2             = contactC1("Email2Address")
	ContactEmail3             = contactC1("Email3Address")
	ContactMobilePhone        = contactC1("MobilePhoneNumber")
	ContactHomePhone          = contactC1("HomePhoneNumber")
	ContactHome2Phone         = contactC1("Home2PhoneNumber")
	ContactBusinessPhone      = contactC1("BusinessPhoneNumber")
	ContactBusiness2Phone     = contactC1("Business2PhoneNumber")
	ContactCarPhone           = contactC1("CarPhoneNumber")
	ContactPager              = contactC1("PagerNumber")
	ContactRadioPhone         = contactC1("RadioPhoneNumber")
	ContactHomeFax            = contactC1("HomeFaxNumber")
	ContactBusinessFax        = contactC1("BusinessFaxNumber")
	ContactAssistantPhone     = contactC1("AssistantPhoneNumber")
	ContactCompanyMainPhone   = contactC2("CompanyMainPhone")
	ContactMMS                = contactC2("MMS")
	ContactHomeStreet         = contactC1("HomeAddressStreet")
	ContactHomeCity           = contactC1("HomeAddressCity")
	ContactHomeState          = contactC1("HomeAddressState")
	ContactHomePostalCode     = contactC1("HomeAddressPostalCode")
	ContactHomeCountry        = contactC1("HomeAddressCountry")
	ContactBusinessStreet     = contactC1("BusinessAddressStreet")
	ContactBusinessCity       = contactC1("BusinessAddressCity")
	ContactBusinessState      = contactC1("BusinessAddressState")
	ContactBusinessPostal     = contactC1("BusinessAddressPostalCode")
	ContactBusinessCountry    = contactC1("BusinessAddressCountry")
	ContactOtherStreet        = contactC1("OtherAddressStreet")
	ContactOtherCity          = contactC1("OtherAddressCity")
	ContactOtherState         = contactC1("OtherAddressState")
	ContactOtherPostalCode    = contactC1("OtherAddressPostalCode")
	ContactOtherCountry       = contactC1("OtherAddressCountry")
	ContactCompanyName        = contactC1("CompanyName")
	ContactDepartment         = contactC1("Department")
	ContactJobTitle           = contactC1("JobTitle")
	ContactOfficeLocation     = contactC1("OfficeLocation")
	ContactManagerName        = contactC2("ManagerName")
	ContactAssistantName      = contactC1("AssistantName")
	ContactSpouse             = contactC1("Spouse")
	ContactWebPage            = contactC1("WebPage")
	ContactIMAddress          = contactC2("IMAddress")
	ContactIMAddress2         = contactC2("IMAddress2")
	ContactIMAddress3         = contactC2("IMAddress3")
	ContactCustomerID         = contactC2("CustomerId")
	ContactGovernmentID       = contactC2("GovernmentId")
	ContactAccountName        = contactC2("AccountName")
	ContactAlias              = contactC1("Alias")        // 14.0+, MS-ASCNTC 2.2.2.2
	ContactWeightedRank       = contactC1("WeightedRank") // 14.0+, GAL results only
	contactFieldsInWriteOrder = []ContactField{
		ContactFileAs, ContactFirstName, ContactMiddleName, ContactLastName, ContactTitle,
		ContactSuffix, ContactYomiFirstName, ContactYomiLastName, ContactYomiCompanyName,
		ContactNickName, ContactEmail1, ContactEmail2, ContactEmail3, ContactMobilePhone,
		ContactHomePhone, ContactHome2Phone, ContactBusinessPhone, ContactBusiness2Phone,
		ContactCarPhone, ContactPager, ContactRadioPhone, ContactHomeFax, ContactBusinessFax,
		ContactAssistantPhone, ContactCompanyMainPhone, ContactMMS, ContactHomeStreet,
		ContactHomeCity, ContactHomeState, ContactHomePostalCode, ContactHomeCountry,
		ContactBusinessStreet, ContactBusinessCity, ContactBusinessState, ContactBusinessPostal,
		ContactBusinessCountry, ContactOtherStreet, ContactOtherCity, ContactOtherState,
		ContactOtherPostalCode, ContactOtherCountry, ContactCompanyName, ContactDepartment,
		ContactJobTitle, ContactOfficeLocation, ContactManagerName, ContactAssistantName,
		ContactSpouse, ContactWebPage, ContactIMAddress, ContactIMAddress2, ContactIMAddress3,
		ContactCustomerID, ContactGovernmentID, ContactAccountName, ContactAlias,
		ContactWeightedRank,
	}
)

// ContactFields lists every text element Contact.Text may hold, in the order
// Encode writes them.
func ContactFields() []ContactField {
	return append([]ContactField(nil), contactFieldsInWriteOrder...)
}

// The elements that are not in ContactField, named for ghosting checks
// (Supported lists them by these tags).
var (
	ContactBirthdayTag    = contactC1("Birthday")
	ContactAnniversaryTag = contactC1("Anniversary")
	ContactCategoriesTag  = contactC1("Categories")
	ContactChildrenTag    = contactC1("Children")
	ContactPictureTag     = contactC1("Picture")
	ContactBodyTag        = ContactField{wbxml.AirSyncBase, "Body"}
)

// ContactPictureMax is the largest Picture a device may receive or send:
// "MUST be limited to 48 KB of binary content that is encoded with base64
// encoding ... If the value of the Picture element exceeds 48 KB of content
// with base64 encoding, the server MUST return a status error of 6"
// (MS-ASCNTC 2.2.2.58). It counts the base64 text.
const ContactPictureMax = 48 * 1024

// ErrContactPictureTooLarge is returned by DecodeContact for a Picture over
// ContactPictureMax; the Sync handler answers the item with Status 6.
var ErrContactPictureTooLarge = errors.New("items: contact Picture exceeds 48 KB")

// ContactBody is the AirSyncBase:Body of a contact (MS-ASAIRS 2.2.2.9): the
// notes. The server fills Data and EstimatedDataSize; a device sends Type
// and Data.
type ContactBody struct {
	Type              int // AirSyncBase:Type, 1 plain text
	Data              string
	EstimatedDataSize int // 0 = len(Data)
	Truncated         bool
}

// Contact is one item of the Contacts class. Presence is data: a key absent
// from Text, a nil date, slice or body is an element the device did not send
// (ghosted, or for 16.x unchanged: the merge decides); a present key with ""
// or a non-nil empty slice is an element sent empty (cleared). Picture
// follows the same rule on the decoded bytes: nil absent, non-nil empty is
// the empty <Picture/> that iOS sends on every edit of a contact whose photo
// came from the server (the merge keeps the photo).
type Contact struct {
	Text        map[ContactField]string
	Birthday    *time.Time
	Anniversary *time.Time
	Categories  []string
	Children    []string
	Body        *ContactBody
	Picture     []byte
}

// Set stores a text element, creating the map on first use.
func (c *Contact) Set(f ContactField, v string) {
	if c.Text == nil {
		c.Text = make(map[ContactField]string)
	}
	c.Text[f] = v
}

// Get returns a text element and whether it is present.
func (c *Contact) Get(f ContactField) (string, bool) {
	v, ok := c.Text[f]
	return v, ok
}

// contactDateLayout is the form MS-ASCNTC 2.2.2.6 (Birthday) and 2.2.2.4
// (Anniversary) show, e.g. 1980-05-15T00:00:00.000Z; devices also send the
// compact form, which contactParseDate accepts too.
const contactDateLayout = "2006-01-02T15:04:05.000Z"

func contactParseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{contactDateLayout, "2006-01-02T15:04:05Z", "20060102T150405Z", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("items: contact date %q is not an EAS date", s)
}

// Encode returns the ApplicationData element for a Sync, Fetch or Search
// response in protocol version v. Elements the version does not know are
// left out: Alias and WeightedRank are 14.0+ (MS-ASCNTC 2.2.2.2, 2.2.2.80).
func (c *Contact) Encode(v Version) *wbxml.Element {
	app := wbxml.New(wbxml.AirSync, "ApplicationData")
	if c == nil {
		return app
	}
	for _, f := range contactFieldsInWriteOrder {
		s, ok := c.Text[f]
		if !ok {
			continue
		}
		if (f == ContactAlias || f == ContactWeightedRank) && v < 140 {
			continue
		}
		app.AddText(f.Space, f.Name, contactClean(s))
	}
	if c.Birthday != nil {
		app.AddText(wbxml.Contacts, "Birthday", c.Birthday.UTC().Format(contactDateLayout))
	}
	if c.Anniversary != nil {
		app.AddText(wbxml.Contacts, "Anniversary", c.Anniversary.UTC().Format(contactDateLayout))
	}
	if c.Categories != nil {
		cats := app.Add(wbxml.Contacts, "Categories")
		for _, s := range c.Categories {
			cats.AddText(wbxml.Contacts, "Category", contactClean(s))
		}
	}
	if c.Children != nil {
		ch := app.Add(wbxml.Contacts, "Children")
		for _, s := range c.Children {
			ch.AddText(wbxml.Contacts, "Child", contactClean(s))
		}
	}
	if b := c.Body; b != nil {
		el := app.Add(wbxml.AirSyncBase, "Body")
		t := b.Type
		if t == 0 {
			t = 1
		}
		el.AddText(wbxml.AirSyncBase, "Type", fmt.Sprint(t))
		size := b.EstimatedDataSize
		if size == 0 {
			size = len(b.Data)
		}
		el.AddText(wbxml.AirSyncBase, "EstimatedDataSize", fmt.Sprint(size))
		if b.Truncated {
			el.AddText(wbxml.AirSyncBase, "Truncated", "1")
		}
		if b.Data != "" {
			el.AddText(wbxml.AirSyncBase, "Data", contactClean(b.Data))
		}
	}
	// A picture over the limit is not sent at all: the spec forbids it, and
	// a device would reject the whole item. cardconv re-encodes photos to fit.
	if c.Picture != nil {
		if enc := base64.StdEncoding.EncodeToString(c.Picture); len(enc) <= ContactPictureMax {
			app.AddText(wbxml.Contacts, "Picture", enc)
		}
	}
	return app
}

// DecodeContact reads the ApplicationData a device sent in an Add or Change
// (or the server's own, in tests) for protocol version v. Unknown children
// are ignored; a date that is not a date, a Picture that is not base64 or is
// over ContactPictureMax are errors (the caller answers that item with a
// per-item status). It never panics on any tree.
func DecodeContact(app *wbxml.Element, v Version) (*Contact, error) {
	c := &Contact{}
	if app == nil {
		return c, nil
	}
	known := make(map[ContactField]bool, len(contactFieldsInWriteOrder))
	for _, f := range contactFieldsInWriteOrder {
		known[f] = true
	}
	for _, el := range app.Children {
		if el == nil {
			continue
		}
		f := ContactField{el.Space, el.Name}
		switch {
		case known[f]:
			if (f == ContactAlias || f == ContactWeightedRank) && v < 140 {
				continue
			}
			c.Set(f, contactText(el))
		case f == ContactBirthdayTag || f == ContactAnniversaryTag:
			s := contactText(el)
			if s == "" {
				continue // empty: nothing sent, same as absent
			}
			t, err := contactParseDate(s)
			if err != nil {
				return nil, err
			}
			if f == ContactBirthdayTag {
				c.Birthday = &t
			} else {
				c.Anniversary = &t
			}
		case f == ContactCategoriesTag:
			c.Categories = contactList(el, "Category")
		case f == ContactChildrenTag:
			c.Children = contactList(el, "Child")
		case f == ContactPictureTag:
			raw := strings.Map(contactDropSpace, el.Content())
			if len(raw) > ContactPictureMax {
				return nil, ErrContactPictureTooLarge
			}
			pic, err := base64.StdEncoding.DecodeString(raw)
			if err != nil {
				return nil, fmt.Errorf("items: contact Picture is not base64: %w", err)
			}
			if pic == nil {
				pic = []byte{}
			}
			c.Picture = pic
		case f == ContactBodyTag:
			b := &ContactBody{Type: 1, Data: contactText(el.Child(wbxml.AirSyncBase, "Data"))}
			if t := el.ChildText(wbxml.AirSyncBase, "Type"); t != "" {
				if _, err := fmt.Sscanf(t, "%d", &b.Type); err != nil {
					return nil, fmt.Errorf("items: contact Body Type %q is not a number", t)
				}
			}
			b.Truncated = el.ChildText(wbxml.AirSyncBase, "Truncated") == "1"
			c.Body = b
		}
	}
	return c, nil
}

// contactList reads Categories/Children: non-nil even when empty, because
// an empty <Categories/> clears them.
func contactList(el *wbxml.Element, child string) []string {
	out := []string{}
	for _, c := range el.All(wbxml.Contacts, child) {
		out = append(out, contactText(c))
	}
	return out
}

// contactText is an element's content as storable text: an OPAQUE value
// may hold a NUL or bytes that are not UTF-8, which a vCard cannot carry.
func contactText(e *wbxml.Element) string { return contactClean(e.Content()) }

func contactClean(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

func contactDropSpace(r rune) rune {
	switch r {
	case ' ', '\t', '\r', '\n':
		return -1
	}
	return r
}

// contacts2Names are the Contact elements of the Contacts2 code page
// (MS-ASWBXML 2.1.2.1.13).
var contacts2Names = map[string]bool{
	"CustomerId": true, "GovernmentId": true, "IMAddress": true, "IMAddress2": true, "IMAddress3": true,
	"ManagerName": true, "CompanyMainPhone": true, "AccountName": true, "NickName": true, "MMS": true,
}

// ContactFieldByName names a contact element as a Supported list gives it
// (by local name, MS-ASCMD 2.2.3.179): Body is AirSyncBase's, the
// Contacts2 names are that page's, the rest are Contacts'.
func ContactFieldByName(name string) ContactField {
	switch {
	case name == ContactBodyTag.Name:
		return ContactBodyTag
	case contacts2Names[name]:
		return contactC2(name)
	}
	return contactC1(name)
}
