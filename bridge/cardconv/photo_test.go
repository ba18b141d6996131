package cardconv

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	"image/png"
	"slices"
	"strings"
	"testing"

	"github.com/idlebridge/idlebridge/activesync/items"
)

// Every PHOTO form reads: v3 ENCODING=b, v3 ENCODING=BASE64, v4 data: URI;
// an external URI gives no picture and stays in the card.
func TestPhotoForms(t *testing.T) {
	small := []byte{0x89, 'P', 'N', 'G', 1, 2, 3}
	enc := base64.StdEncoding.EncodeToString(small)
	for _, line := range []string{
		"PHOTO;ENCODING=b;TYPE=PNG:" + enc,
		"PHOTO;ENCODING=BASE64;TYPE=png:" + enc,
		"PHOTO:data:image/png;base64," + enc,
	} {
		c, err := ToContact([]byte("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:A\r\n"+line+"\r\nEND:VCARD\r\n"), Options{})
		if err != nil || !bytes.Equal(c.Picture, small) {
			t.Errorf("%s: picture %v, %v", line, c.Picture, err)
		}
	}
	ext := []byte("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:A\r\nPHOTO;VALUE=uri:https://example.org/a.jpg\r\nEND:VCARD\r\n")
	c, err := ToContact(ext, Options{})
	if err != nil || c.Picture != nil {
		t.Errorf("external photo: %v %v", c.Picture, err)
	}
	if out, _ := Merge(ext, c, Ghosting{Version: 161}, Options{}); !bytes.Equal(out, ext) {
		t.Errorf("external photo line changed:\n%s", out)
	}
}

// A new picture from the device replaces PHOTO in the card's own form.
func TestMergeNewPicture(t *testing.T) {
	var buf bytes.Buffer
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	img.Set(1, 1, color.RGBA{255, 0, 0, 255})
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	pic := buf.Bytes()
	for _, tc := range []struct{ card, want string }{
		{"apple-v3.vcf", "PHOTO;ENCODING=b;TYPE=PNG:"},
		{"nextcloud-v4.vcf", `PHOTO:data:image/png;base64\,`}, // comma escaped for vobject, see applyPicture
	} {
		stored := loadCard(t, tc.card)
		dev := &items.Contact{Picture: pic}
		out, err := Merge(stored, dev, Ghosting{Version: 161}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		gone, added := diffLines(unfolded(stored), unfolded(out))
		want := tc.want + base64.StdEncoding.EncodeToString(pic)
		if len(gone) != 1 || !strings.HasPrefix(gone[0], "PHOTO") || !slices.Equal(added, []string{want}) {
			t.Errorf("%s: -%d lines +%q", tc.card, len(gone), added)
		}
	}
}

// Figures for the report: the cost of fitting a 200 KB photo under 48 KB.
func BenchmarkForDevice200KB(b *testing.B) {
	raw := testPhoto(b)
	b.ReportAllocs()
	var n int
	for b.Loop() {
		n = len(forDevice(raw))
	}
	b.ReportMetric(float64(len(raw)), "in-bytes")
	b.ReportMetric(float64(n), "out-bytes")
}

func BenchmarkToContactApple(b *testing.B) {
	card := loadCard(b, "apple-v3.vcf")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ToContact(card, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMergePhoneEdit(b *testing.B) {
	card := loadCard(b, "nextcloud-v4.vcf")
	dev := &items.Contact{}
	dev.Set(items.ContactHomePhone, "+1 555 0100")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Merge(card, dev, Ghosting{Version: 161}, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// Photo fits a large photo under the asked size (the GAL's MaxSize) and
// tells a card without one; SkipPicture leaves the photo out of ToContact.
func TestPhotoMaxSize(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 400, 400))
	for i := range img.Pix {
		img.Pix[i] = byte(i*7 + i/1600) // noise, so it does not compress to nothing
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	card := []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:A\r\nPHOTO;ENCODING=b;TYPE=PNG:" + base64.StdEncoding.EncodeToString(buf.Bytes()) + "\r\nEND:VCARD\r\n")
	for _, limit := range []int{0, 20000, 4000} {
		p, has := Photo(card, limit)
		want := limit
		if want == 0 {
			want = items.ContactPictureMax * 3 / 4
		}
		if !has || len(p) == 0 || len(p) > want {
			t.Errorf("Photo(limit %d) = %d bytes, has %v; want 1..%d", limit, len(p), has, want)
		}
		if _, _, err := image.Decode(bytes.NewReader(p)); err != nil {
			t.Errorf("Photo(limit %d) is not an image: %v", limit, err)
		}
	}
	if p, has := Photo(card, 10); has != true || p != nil {
		t.Errorf("Photo(limit 10) = %d bytes, %v; want none that fits", len(p), has)
	}
	if _, has := Photo([]byte("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:A\r\nEND:VCARD\r\n"), 0); has {
		t.Error("a card without PHOTO has one")
	}
	c, err := ToContact(card, Options{SkipPicture: true})
	if fn, _ := c.Get(items.ContactFileAs); err != nil || c.Picture != nil || fn != "A" {
		t.Errorf("SkipPicture: %v, %d picture bytes", err, len(c.Picture))
	}
}
