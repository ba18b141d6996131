package cardconv_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/items"
	"github.com/idlebridge/idlebridge/bridge/cardconv"
	"github.com/idlebridge/idlebridge/internal/testenv"
	"github.com/idlebridge/idlebridge/upstream/dav"
)

// A real CardDAV server (the test Radicale, which parses every PUT with
// vobject) accepts the cards the conversion writes: a device's Add in both
// versions, and a merged edit of a stored card; what it hands back reads
// as the same contact.
func TestCardsAcceptedByRadicale(t *testing.T) {
	user := testenv.UniqueUser(t)
	c, err := dav.New(dav.Config{URL: testenv.DAVURL(t), Username: user, Password: "secret", Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	book := "/" + user + "/contacts/"
	if err := c.MakeAddressBook(ctx, book, "Contacts"); err != nil {
		t.Fatal(err)
	}
	bd := time.Date(1980, 5, 14, 22, 0, 0, 0, time.UTC)
	dev := &items.Contact{Birthday: &bd, Categories: []string{"Family"}, Children: []string{"Kid"},
		Body: &items.ContactBody{Type: 1, Data: "Note, with; punctuation\nand lines"}, Picture: []byte{0xFF, 0xD8, 0xFF, 0xE0}}
	dev.Set(items.ContactFirstName, "Jane")
	dev.Set(items.ContactLastName, "Doe")
	dev.Set(items.ContactEmail1, `"Jane Doe" <jane@example.org>`)
	dev.Set(items.ContactMobilePhone, "+1 555 0100")
	dev.Set(items.ContactHomeStreet, "1 Main St")
	dev.Set(items.ContactHomeCity, "Springfield")
	dev.Set(items.ContactJobTitle, "Engineer")
	dev.Set(items.ContactSpouse, "John Doe")
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	opt := cardconv.Options{Family: cardconv.FamilyIOS, Zone: berlin}
	for _, version := range []string{"3.0", "4.0"} {
		uid := "e2e-" + strings.ReplaceAll(version, ".", "")
		card, err := cardconv.NewCard(dev, version, uid, opt)
		if err != nil {
			t.Fatal(err)
		}
		href := book + uid + ".vcf"
		etag, err := c.Create(ctx, href, dav.ContentVCard, card)
		if err != nil {
			t.Fatalf("v%s: Radicale refused the new card: %v\n%s", version, err, card)
		}
		back := get(ctx, t, c, book, href)
		got, err := cardconv.ToContact(back, opt)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []items.ContactField{items.ContactFirstName, items.ContactLastName, items.ContactMobilePhone,
			items.ContactHomeCity, items.ContactJobTitle, items.ContactSpouse} {
			want, _ := dev.Get(f)
			if v, _ := got.Get(f); v != want {
				t.Errorf("v%s %s = %q, want %q", version, f.Name, v, want)
			}
		}
		if v, _ := got.Get(items.ContactEmail1); v != "jane@example.org" {
			t.Errorf("v%s email %q", version, v)
		}
		if got.Birthday == nil || !got.Birthday.Equal(bd) || got.Body == nil || got.Body.Data != dev.Body.Data ||
			!bytes.Equal(got.Picture, dev.Picture) {
			t.Errorf("v%s birthday %v body %+v picture %x", version, got.Birthday, got.Body, got.Picture)
		}
		// A phone edit: only that changes on the server.
		edit := &items.Contact{}
		edit.Set(items.ContactMobilePhone, "+1 555 0199")
		merged, err := cardconv.Merge(back, edit, cardconv.Ghosting{Version: 161}, opt)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Update(ctx, href, etag, dav.ContentVCard, merged); err != nil {
			t.Fatalf("v%s: Radicale refused the merged card: %v\n%s", version, err, merged)
		}
		again, err := cardconv.ToContact(get(ctx, t, c, book, href), opt)
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := again.Get(items.ContactMobilePhone); v != "+1 555 0199" {
			t.Errorf("v%s phone after edit %q", version, v)
		}
		if v, _ := again.Get(items.ContactSpouse); v != "John Doe" || again.Birthday == nil {
			t.Errorf("v%s edit lost spouse %q or birthday", version, v)
		}
	}
}

func get(ctx context.Context, t *testing.T, c *dav.Client, book, href string) []byte {
	t.Helper()
	objs, failed, err := c.MultiGet(ctx, book, dav.KindAddressBook, []string{href})
	if err != nil || len(failed) > 0 || len(objs) != 1 {
		t.Fatalf("multiget %s: %v %v %d", href, err, failed, len(objs))
	}
	return objs[0].Data
}
