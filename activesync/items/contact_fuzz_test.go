package items

import (
	"testing"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// FuzzDecodeContact feeds WBXML documents to the contact decoder: it must
// never panic, and what it accepts must encode and decode to the same item.
func FuzzDecodeContact(f *testing.F) {
	seed := wbxml.New(wbxml.AirSync, "Sync").Append(contactSample().Encode(161))
	if raw, err := wbxml.Encode(seed); err == nil {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		root, err := wbxml.Decode(data, wbxml.Limits{})
		if err != nil {
			return
		}
		for _, app := range append([]*wbxml.Element{root}, root.Children...) {
			c, err := DecodeContact(app, 161)
			if err != nil {
				continue
			}
			again, err := DecodeContact(c.Encode(161), 161)
			if err != nil {
				t.Fatalf("re-decode of own encoding: %v", err)
			}
			if !again.Equal(c, true) {
				t.Fatalf("not stable:\n%s\n%s", c.Encode(161).XML(), again.Encode(161).XML())
			}
		}
	})
}
