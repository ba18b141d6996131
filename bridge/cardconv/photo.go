package cardconv

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/draw"
	"image/jpeg"
	"strings"

	_ "image/gif" // PHOTO may be any format a phone wrote
	_ "image/png"

	"github.com/idlebridge/idlebridge/activesync/items"
)

// photoBytes decodes a PHOTO line: v3 ENCODING=b (or BASE64) with TYPE,
// v4 data: URI, also as vobject (Radicale) rewrites it with its ';' and ','
// escaped as text (data:image/jpeg\;base64\,...). An external URI (VALUE=uri http...) gives nil: fetching it
// is not a conversion's business, and the line stays as it is.
func photoBytes(l *cardLine) []byte {
	v := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, unescapeText(l.value))
	enc := strings.ToLower(l.params.Get("ENCODING"))
	if strings.HasPrefix(strings.ToLower(v), "data:") {
		meta, payload, ok := strings.Cut(v[5:], ",")
		if !ok || !strings.HasSuffix(strings.ToLower(meta), ";base64") {
			return nil
		}
		v, enc = payload, "b"
	}
	if enc != "b" && enc != "base64" {
		return nil
	}
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil
	}
	return b
}

// maxPhotoPixels refuses to decode images whose header claims more pixels
// than a contact photo ever needs (a decompression bomb costs memory).
const maxPhotoPixels = 16 << 20

// forDevice returns the picture to send: the original when it already fits
// the 48 KB base64 limit (MS-ASCNTC 2.2.2.58), else a JPEG downscaled until
// it fits; nil when the image cannot be decoded.
func forDevice(raw []byte) []byte {
	return fitPhoto(raw, func(n int) bool { return base64.StdEncoding.EncodedLen(n) <= items.ContactPictureMax })
}

// Photo returns the card's photo re-encoded to at most maxBytes (the GAL's
// Picture MaxSize, MS-ASCMD 2.2.3.103.2), or the 48 KB contact limit when
// maxBytes is 0; has is false when the card holds no photo this package
// can read, and the picture is nil (has true) when none fits.
func Photo(card []byte, maxBytes int) (picture []byte, has bool) {
	d, err := parseDoc(card)
	if err != nil {
		return nil, false
	}
	l := d.first("PHOTO")
	if l == nil {
		return nil, false
	}
	raw := photoBytes(l)
	if raw == nil {
		return nil, false
	}
	if maxBytes <= 0 {
		return forDevice(raw), true
	}
	return fitPhoto(raw, func(n int) bool { return n <= maxBytes && base64.StdEncoding.EncodedLen(n) <= items.ContactPictureMax }), true
}

// fitPhoto returns raw when fits accepts its size, else a JPEG downscaled
// until fits accepts it; nil when nothing fits or raw cannot be decoded.
func fitPhoto(raw []byte, fits func(n int) bool) []byte {
	if raw == nil {
		return nil
	}
	if fits(len(raw)) {
		return raw
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(raw))
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxPhotoPixels {
		return nil
	}
	img, _, err := image.Decode(bytes.NewReader(raw))
	if err != nil {
		return nil
	}
	for _, side := range []int{512, 384, 256, 192, 128, 96, 64, 48} {
		small := downscale(img, side)
		for _, q := range []int{85, 70, 50} {
			var buf bytes.Buffer
			if err := jpeg.Encode(&buf, small, &jpeg.Options{Quality: q}); err != nil {
				return nil
			}
			if fits(buf.Len()) {
				return buf.Bytes()
			}
		}
	}
	return nil
}

// downscale fits img into side x side by averaging boxes of source pixels
// (no cgo, no x/image): good enough for a face on a phone.
func downscale(img image.Image, side int) *image.RGBA {
	b := img.Bounds()
	src := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(src, src.Bounds(), img, b.Min, draw.Src)
	w, h := b.Dx(), b.Dy()
	scale := float64(side) / float64(max(w, h))
	if scale >= 1 {
		return src
	}
	nw, nh := max(1, int(float64(w)*scale)), max(1, int(float64(h)*scale))
	dst := image.NewRGBA(image.Rect(0, 0, nw, nh))
	for y := 0; y < nh; y++ {
		y0, y1 := y*h/nh, max((y+1)*h/nh, y*h/nh+1)
		for x := 0; x < nw; x++ {
			x0, x1 := x*w/nw, max((x+1)*w/nw, x*w/nw+1)
			var sum [4]int
			for sy := y0; sy < y1; sy++ {
				row := src.Pix[sy*src.Stride:]
				for sx := x0; sx < x1; sx++ {
					for c := 0; c < 4; c++ {
						sum[c] += int(row[sx*4+c])
					}
				}
			}
			n := (y1 - y0) * (x1 - x0)
			o := dst.PixOffset(x, y)
			for c := 0; c < 4; c++ {
				dst.Pix[o+c] = uint8(sum[c] / n)
			}
		}
	}
	return dst
}
