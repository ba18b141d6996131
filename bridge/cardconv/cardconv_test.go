package cardconv

import (
	"bytes"
	"encoding/base64"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/items"
)

var update = flag.Bool("update", false, "rewrite the golden .xml files")

// testPhoto is a deterministic noisy PNG of about 200 KB, generated rather
// than committed to keep the repository small.
func testPhoto(t testing.TB) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 400, 400))
	seed := uint32(2463534242)
	for y := 0; y < 400; y++ {
		for x := 0; x < 400; x++ {
			seed ^= seed << 13
			seed ^= seed >> 17
			seed ^= seed << 5
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), uint8(seed), 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if buf.Len() < 200_000 {
		t.Fatalf("test photo only %d bytes", buf.Len())
	}
	return buf.Bytes()
}

// loadCard reads a testdata card and puts the photo in the form of its
// version, folded as servers fold.
func loadCard(t testing.TB, name string) []byte {
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.StdEncoding.EncodeToString(testPhoto(t))
	line := "PHOTO;ENCODING=b;TYPE=PNG:" + enc
	if bytes.Contains(raw, []byte("VERSION:4.0")) {
		line = "PHOTO:data:image/png;base64," + enc
	}
	var b strings.Builder
	fold(&b, line)
	return bytes.Replace(raw, []byte("PHOTO-PLACEHOLDER\r\n"), []byte(b.String()), 1)
}

var pictureText = regexp.MustCompile(`(<Picture[^>]*>)[^<]*(</Picture>)`)

// Golden: each card converts to the expected EAS XML (the Picture value is
// checked for size and decodability, then masked), for 14.1 and 16.1.
func TestGoldenToContact(t *testing.T) {
	for _, name := range []string{"apple-v3.vcf", "nextcloud-v4.vcf"} {
		for _, v := range []items.Version{141, 161} {
			t.Run(fmt.Sprintf("%s/%d", name, v), func(t *testing.T) {
				c, err := ToContact(loadCard(t, name), Options{Family: FamilyAndroid})
				if err != nil {
					t.Fatal(err)
				}
				if len(c.Picture) == 0 || base64.StdEncoding.EncodedLen(len(c.Picture)) > items.ContactPictureMax {
					t.Fatalf("picture %d bytes, want 1..48 KB base64", len(c.Picture))
				}
				if _, _, err := image.Decode(bytes.NewReader(c.Picture)); err != nil {
					t.Fatalf("picture does not decode: %v", err)
				}
				got := pictureText.ReplaceAllString(c.Encode(v).XML(), "${1}[photo]${2}")
				golden := filepath.Join("testdata", fmt.Sprintf("%s.%d.xml", strings.TrimSuffix(name, ".vcf"), v))
				if *update {
					if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatal(err)
				}
				if got != string(want) {
					t.Errorf("EAS XML differs from %s:\n%s", golden, got)
				}
			})
		}
	}
}

// unfolded returns a card's logical lines.
func unfolded(b []byte) []string {
	s := strings.ReplaceAll(string(b), "\r\n ", "")
	return strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n")
}

// diffLines returns lines only in a and lines only in b.
func diffLines(a, b []string) (onlyA, onlyB []string) {
	for _, l := range a {
		if !slices.Contains(b, l) {
			onlyA = append(onlyA, l)
		}
	}
	for _, l := range b {
		if !slices.Contains(a, l) {
			onlyB = append(onlyB, l)
		}
	}
	return
}

// P5: the device sends back everything it got, with one phone changed (and
// the photo as the downscaled copy it received, or the empty iOS
// <Picture/>): only that TEL line changes; ANNIVERSARY, IMPP, X-, RELATED,
// GEO and the original photo survive byte for byte after unfolding.
func TestMergePhoneEditKeepsEverythingElse(t *testing.T) {
	cases := []struct {
		card, oldTel, newTel string
		v                    items.Version
		emptyPicture         bool
	}{
		{"apple-v3.vcf", "TEL;type=HOME;type=VOICE:+1 408 555 0103", "TEL;type=HOME;type=VOICE:+1 408 555 9999", 141, false},
		{"apple-v3.vcf", "TEL;type=HOME;type=VOICE:+1 408 555 0103", "TEL;type=HOME;type=VOICE:+1 408 555 9999", 161, true},
		{"nextcloud-v4.vcf", "TEL;TYPE=home,voice:+49 30 1234567", "TEL;TYPE=home,voice:+1 408 555 9999", 141, false},
		{"nextcloud-v4.vcf", "TEL;TYPE=home,voice:+49 30 1234567", "TEL;TYPE=home,voice:+1 408 555 9999", 161, true},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s/%d", tc.card, tc.v), func(t *testing.T) {
			stored := loadCard(t, tc.card)
			opt := Options{Family: FamilyIOS, Zone: time.UTC}
			c, err := ToContact(stored, opt)
			if err != nil {
				t.Fatal(err)
			}
			// Through the wire and back, as a device would return it.
			dev, err := items.DecodeContact(c.Encode(tc.v), tc.v)
			if err != nil {
				t.Fatal(err)
			}
			dev.Set(items.ContactHomePhone, "+1 408 555 9999")
			if tc.emptyPicture {
				dev.Picture = []byte{}
			}
			out, err := Merge(stored, dev, Ghosting{Version: tc.v}, opt)
			if err != nil {
				t.Fatal(err)
			}
			gone, added := diffLines(unfolded(stored), unfolded(out))
			if !slices.Equal(gone, []string{tc.oldTel}) || !slices.Equal(added, []string{tc.newTel}) {
				t.Errorf("changed lines: removed %q, added %q", gone, added)
			}
			if !bytes.Contains(out, []byte("\r\n")) || bytes.Contains(bytes.ReplaceAll(out, []byte("\r\n"), nil), []byte("\n")) {
				t.Error("not CRLF line endings")
			}
		})
	}
}

// P4: the date each client family means, and what it gets back.
func TestBirthdayPerFamily(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata") // the zone database is part of the image; never expected
	}
	rows := []struct {
		family Family
		sent   string
		out    string
	}{
		{FamilyIOS, "1980-05-14T22:00:00.000Z", "1980-05-14T22:00:00.000Z"},
		{FamilyAndroid, "1980-05-15T08:00:00.000Z", "1980-05-15T08:00:00.000Z"},
		{FamilyGmail, "1980-05-15T12:00:00.000Z", "1980-05-15T00:00:00.000Z"},
		{FamilySamsung, "1980-05-15T00:00:00.000Z", "1980-05-15T00:00:00.000Z"},
		{FamilyOther, "1980-05-15T12:00:00.000Z", "1980-05-15T12:00:00.000Z"},
	}
	for _, r := range rows {
		opt := Options{Family: r.family, Zone: berlin}
		bd, _ := time.Parse("2006-01-02T15:04:05.000Z", r.sent)
		dev := &items.Contact{Birthday: &bd}
		dev.Set(items.ContactFirstName, "Jo")
		for _, version := range []string{"3.0", "4.0"} {
			card, err := NewCard(dev, version, "u1", opt)
			if err != nil {
				t.Fatal(err)
			}
			want := "BDAY:1980-05-15"
			if version == "4.0" {
				want = "BDAY:19800515"
			}
			if !slices.Contains(unfolded(card), want) {
				t.Errorf("family %d v%s: card lacks %s:\n%s", r.family, version, want, card)
			}
			back, err := ToContact(card, opt)
			if err != nil || back.Birthday == nil || back.Birthday.Format("2006-01-02T15:04:05.000Z") != r.out {
				t.Errorf("family %d v%s: outgoing %v, want %s", r.family, version, back.Birthday, r.out)
			}
		}
	}
	fams := map[string]Family{"iPhone": FamilyIOS, "SAMSUNGSMG991B": FamilySamsung, "Android": FamilyAndroid, "WindowsOutlook": FamilyOther}
	for dt, want := range fams {
		if got := ClientFamily(dt, ""); got != want {
			t.Errorf("ClientFamily(%q) = %d, want %d", dt, got, want)
		}
	}
	if ClientFamily("Android", "Android-Mail/2023.10.01") != FamilyGmail {
		t.Error("Gmail app not recognised")
	}
}

// A year-less birthday goes out with Apple's year 1604 and comes back as
// the same line, in both versions.
func TestYearlessBirthdayRoundTrip(t *testing.T) {
	for _, line := range []string{"BDAY:--0515", "BDAY;X-APPLE-OMIT-YEAR=1604:1604-05-15"} {
		for _, fam := range []Family{FamilyIOS, FamilyAndroid, FamilyGmail, FamilyOther} {
			stored := []byte("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Jo\r\n" + line + "\r\nEND:VCARD\r\n")
			opt := Options{Family: fam}
			c, err := ToContact(stored, opt)
			if err != nil || c.Birthday == nil || c.Birthday.Year() != 1604 || c.Birthday.Month() != 5 {
				t.Fatalf("%s: %v %v", line, c.Birthday, err)
			}
			out, err := Merge(stored, c, Ghosting{Version: 141}, opt)
			if err != nil || !bytes.Equal(out, stored) {
				t.Errorf("%s family %d: merge changed the card:\n%s", line, fam, out)
			}
		}
	}
	dev := &items.Contact{}
	bd := time.Date(1604, 5, 15, 12, 0, 0, 0, time.UTC)
	dev.Birthday = &bd
	v4, _ := NewCard(dev, "4.0", "u", Options{})
	v3, _ := NewCard(dev, "3.0", "u", Options{})
	if !slices.Contains(unfolded(v4), "BDAY:--0515") || !slices.Contains(unfolded(v3), "BDAY;X-APPLE-OMIT-YEAR=1604:1604-05-15") {
		t.Errorf("new year-less cards:\n%s\n%s", v4, v3)
	}
}

// P6: what an absent element means, per version and Supported.
func TestGhosting(t *testing.T) {
	stored := loadCard(t, "nextcloud-v4.vcf")
	has := func(out []byte, prefix string) bool {
		for _, l := range unfolded(out) {
			if strings.HasPrefix(l, prefix) {
				return true
			}
		}
		return false
	}
	only := func() *items.Contact {
		c := &items.Contact{}
		c.Set(items.ContactFirstName, "Erika")
		c.Set(items.ContactLastName, "Mustermann")
		return c
	}
	rows := []struct {
		name      string
		g         Ghosting
		dev       *items.Contact
		photo     bool
		bday      bool
		untouched bool
	}{
		{"14.1 Supported lacks Picture: photo kept", Ghosting{Version: 141, Supported: []items.ContactField{items.ContactBirthdayTag}}, only(), true, false, false},
		{"14.1 no Supported: absent Birthday cleared", Ghosting{Version: 141}, only(), false, false, false},
		{"14.1 empty Supported: everything ghosted", Ghosting{Version: 141, Supported: []items.ContactField{}}, only(), true, true, true},
		{"16.1 only names: nothing else touched", Ghosting{Version: 161}, only(), true, true, true},
		{"iOS empty Picture keeps photo", Ghosting{Version: 141}, func() *items.Contact { c := only(); c.Picture = []byte{}; return c }(), true, false, false},
	}
	for _, r := range rows {
		out, err := Merge(stored, r.dev, r.g, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if has(out, "PHOTO") != r.photo || has(out, "BDAY") != r.bday {
			t.Errorf("%s: photo %v bday %v", r.name, has(out, "PHOTO"), has(out, "BDAY"))
		}
		if r.untouched && !bytes.Equal(out, stored) {
			a, b := diffLines(unfolded(stored), unfolded(out))
			t.Errorf("%s: card changed: -%q +%q", r.name, a, b)
		}
	}
}

// A device Add builds a valid card in the book's version: UID, FN, N (v3),
// TITLE for JobTitle, each element where ToContact finds it again.
func TestNewCardRoundTrip(t *testing.T) {
	dev := &items.Contact{Categories: []string{"A", "B,C"}, Children: []string{"Kid"},
		Body: &items.ContactBody{Type: 1, Data: "line1\r\nline2; x"}}
	for _, f := range slotFields() {
		dev.Set(f, "v-"+f.Name)
	}
	dev.Set(items.ContactEmail1, `"Jo Doe" <jo@example.org>`)
	for _, version := range []string{"3.0", "4.0"} {
		card, err := NewCard(dev, version, "uid-1", Options{})
		if err != nil {
			t.Fatal(err)
		}
		lines := unfolded(card)
		if lines[0] != "BEGIN:VCARD" || lines[1] != "VERSION:"+version || !slices.Contains(lines, "UID:uid-1") ||
			!slices.Contains(lines, "TITLE:v-JobTitle") {
			t.Errorf("v%s card:\n%s", version, card)
		}
		back, err := ToContact(card, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range slotFields() {
			want := "v-" + f.Name
			if f == items.ContactEmail1 {
				want = "jo@example.org"
			}
			if got, _ := back.Get(f); got != want {
				t.Errorf("v%s %s = %q, want %q", version, f.Name, got, want)
			}
		}
		if !slices.Equal(back.Categories, dev.Categories) || !slices.Equal(back.Children, dev.Children) ||
			back.Body == nil || back.Body.Data != "line1\nline2; x" {
			t.Errorf("v%s lists/body: %q %q %+v", version, back.Categories, back.Children, back.Body)
		}
	}
}

// Lines never go over 75 octets, and a multi-byte character is not split.
func TestFoldKeepsRunes(t *testing.T) {
	var b strings.Builder
	fold(&b, "NOTE:"+strings.Repeat("ü", 100))
	for _, l := range strings.Split(strings.TrimSuffix(b.String(), "\r\n"), "\r\n") {
		if len(l) > 75 || !utf8Valid(l) {
			t.Fatalf("bad folded line %q", l)
		}
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "?") == s }

func TestVersion(t *testing.T) {
	for in, want := range map[string]string{
		"BEGIN:VCARD\r\nVERSION:4.0\r\nFN:A\r\nEND:VCARD\r\n":        "4.0",
		"BEGIN:VCARD\nVERSION:3.0\nFN:A\nEND:VCARD":                  "3.0",
		"BEGIN:VCARD\r\nVERSION:2.1\r\nEND:VCARD\r\n":                "3.0",
		"BEGIN:VCARD\r\nFN:no version\r\nEND:VCARD\r\n":              "3.0",
		"BEGIN:VCARD\r\nVERSION:\r\n 4.0\r\nEND:VCARD\r\n":           "4.0",
		"VERSION:4.0\r\nBEGIN:VCARD\r\nVERSION:3.0\r\nEND:VCARD\r\n": "3.0",
		"BEGIN:VCARD\r\nVERSION:4.0\r\n":                             "",
		"not a card":                                                 "",
	} {
		if got := Version([]byte(in)); got != want {
			t.Errorf("Version(%q) = %q, want %q", in, got, want)
		}
	}
}
