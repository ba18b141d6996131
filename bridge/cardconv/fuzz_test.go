package cardconv

import (
	"testing"

	"github.com/idlebridge/idlebridge/activesync/items"
)

// FuzzFromVCard feeds arbitrary text as a stored card: reading and merging
// must never panic, and merging back what was read must leave a card that
// reads the same.
func FuzzFromVCard(f *testing.F) {
	f.Add([]byte("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:A\r\nN:B;A;;;\r\nTEL;TYPE=cell:1\r\nBDAY:--0515\r\nEND:VCARD\r\n"))
	f.Add([]byte("BEGIN:VCARD\nVERSION:3.0\nitem1.EMAIL;type=\"a:b\":x@y\nitem1.X-ABLabel:_$!<Spouse>!$_\nPHOTO;ENCODING=b:AAAA\nADR:;;s\\;t;c\nEND:VCARD"))
	f.Fuzz(func(t *testing.T, data []byte) {
		opt := Options{Family: FamilyIOS}
		v := Version(data)
		c, err := ToContact(data, opt)
		if err != nil {
			return
		}
		if d, _ := parseDoc(data); v != "" && (v == "4.0") != d.v4() {
			t.Fatalf("Version says %q, the parser reads %q\n%q", v, d.version, data)
		}
		out, err := Merge(data, c, Ghosting{Version: 141}, opt)
		if err != nil {
			t.Fatalf("merge of a card that read: %v", err)
		}
		again, err := ToContact(out, opt)
		if err != nil {
			t.Fatalf("merged card does not read: %v\n%q", err, out)
		}
		for _, fld := range slotFields() {
			a, _ := c.Get(fld)
			b, _ := again.Get(fld)
			if a != b && !(fld == items.ContactFileAs && a == "") { // FN is added to a card without one

				t.Fatalf("%s: %q became %q\nin:  %q\nout: %q", fld.Name, a, b, data, out)
			}
		}
		if _, err := NewCard(c, "4.0", "u", opt); err != nil {
			t.Fatal(err)
		}
		_ = items.ContactPictureMax
	})
}
