package items

import (
	"testing"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

var fuzzLimits = wbxml.Limits{MaxSize: 1 << 16, MaxDepth: 16, MaxElements: 2000}

// fuzzItem checks the decoder of one class: no panic, and whatever decodes
// encodes to WBXML that decodes again.
func fuzzItem(f *testing.F, seeds []*wbxml.Element, decode func(*wbxml.Element, Version) (interface{ Encode(Version) *wbxml.Element }, error)) {
	for _, s := range seeds {
		b, err := wbxml.Encode(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(141))
		f.Add(b, uint8(161))
	}
	f.Fuzz(func(t *testing.T, data []byte, ver uint8) {
		v := []Version{V121, V140, V141, V160, V161}[int(ver)%5]
		el, err := wbxml.Decode(data, fuzzLimits)
		if err != nil {
			return
		}
		item, err := decode(el, v)
		if err != nil {
			return
		}
		out, err := wbxml.Encode(item.Encode(v))
		if err != nil {
			t.Fatalf("decoded item does not encode: %v", err)
		}
		el2, err := wbxml.Decode(out, wbxml.Limits{})
		if err != nil {
			t.Fatalf("encoded item does not decode: %v", err)
		}
		if _, err := decode(el2, v); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
	})
}

func FuzzDecodeCalendar(f *testing.F) {
	fuzzItem(f, []*wbxml.Element{sampleCalendar().Encode(V141), sampleCalendar().Encode(V161)},
		func(el *wbxml.Element, v Version) (interface{ Encode(Version) *wbxml.Element }, error) {
			return DecodeCalendar(el, v)
		})
}

func FuzzDecodeTask(f *testing.F) {
	fuzzItem(f, []*wbxml.Element{sampleTask().Encode(V141)},
		func(el *wbxml.Element, v Version) (interface{ Encode(Version) *wbxml.Element }, error) {
			return DecodeTask(el, v)
		})
}

func FuzzDecodeEmailChange(f *testing.F) {
	seeds := []*wbxml.Element{
		(&EmailChange{Read: Ptr(true), Flag: &Flag{Status: FlagActive, Type: "for Follow Up"}, Categories: []string{"Work"}}).Encode(V141),
		(&EmailChange{Read: Ptr(false), Flag: &Flag{}, Categories: []string{}}).Encode(V161),
	}
	fuzzItem(f, seeds, func(el *wbxml.Element, v Version) (interface{ Encode(Version) *wbxml.Element }, error) {
		return DecodeEmailChange(el, v)
	})
}

func FuzzDecodeDraft(f *testing.F) {
	d := &Draft{To: Ptr("bob@example.test, half typed"), Cc: Ptr(""), Bcc: Ptr("dave@example.test"), Subject: Ptr("Hi"),
		Importance: Ptr(ImportanceLow), Body: &Body{Type: BodyHTML, Data: "<p>x</p>"}}
	fuzzItem(f, []*wbxml.Element{d.Encode(V161), (&Draft{Send: true}).Encode(V161)},
		func(el *wbxml.Element, v Version) (interface{ Encode(Version) *wbxml.Element }, error) {
			return DecodeDraft(el, v)
		})
}
