package wbxml

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

var hdr = []byte{0x03, 0x01, 0x6A, 0x00}

func doc(body ...byte) []byte { return append(append([]byte{}, hdr...), body...) }

// TestEveryTokenRoundTrips walks the whole code-page table: each tag
// encodes to its page/token and decodes back to the same name, empty and
// with text.
func TestEveryTokenRoundTrips(t *testing.T) {
	n := 0
	for page, cp := range codePages {
		for tok, name := range cp.tags {
			n++
			p, tk, ok := Lookup(cp.space, name)
			if !ok || int(p) != page || tk != tok {
				t.Fatalf("Lookup(%s,%s) = %d,%#x,%v; want %d,%#x", cp.space, name, p, tk, ok, page, tok)
			}
			sp, nm, ok := TagName(byte(page), tok)
			if !ok || sp != cp.space || nm != name {
				t.Fatalf("TagName(%d,%#x) = %s,%s,%v", page, tok, sp, nm, ok)
			}
			for _, text := range []string{"", "v"} {
				root := New(AirSync, "Sync")
				root.AddText(cp.space, name, text)
				b, err := Encode(root)
				if err != nil {
					t.Fatalf("Encode %s:%s: %v", cp.space, name, err)
				}
				want := doc(0x45)
				if page != 0 {
					want = append(want, 0x00, byte(page))
				}
				if text == "" {
					want = append(want, tok)
				} else {
					want = append(want, tok|0x40, 0x03, 'v', 0x00, 0x01)
				}
				want = append(want, 0x01)
				if !bytes.Equal(b, want) {
					t.Fatalf("Encode %s:%s = % x, want % x", cp.space, name, b, want)
				}
				got, err := Decode(b, DefaultLimits)
				if err != nil {
					t.Fatalf("Decode %s:%s: %v", cp.space, name, err)
				}
				if !got.Equal(root) {
					t.Fatalf("round trip %s:%s: got %s want %s", cp.space, name, got.XML(), root.XML())
				}
			}
		}
	}
	if n < 600 {
		t.Fatalf("only %d tags in the table", n)
	}
}

func TestDecodeShapes(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want *Element
	}{
		{"empty root", doc(0x05), New(AirSync, "Sync")},
		{"content flag then END is empty", doc(0x45, 0x01), New(AirSync, "Sync")},
		{"empty STR_I is empty text", doc(0x45, 0x4B, 0x03, 0x00, 0x01, 0x01),
			New(AirSync, "Sync").Append(New(AirSync, "SyncKey"))},
		{"redundant SWITCH_PAGE before END", doc(0x45, 0x4B, 0x03, '1', 0x00, 0x00, 0x11, 0x01, 0x00, 0x00, 0x01),
			New(AirSync, "Sync").Append(&Element{Space: AirSync, Name: "SyncKey", Text: "1"})},
		{"SWITCH_PAGE before root and after it", doc(0x00, 0x07, 0x00, 0x0E, 0x45, 0x01, 0x00, 0x00),
			New(Provision, "Provision")},
		{"opaque", doc(0x00, 0x15, 0x45, 0x50, 0xC3, 0x03, 'a', 0x00, 'c', 0x01, 0x01),
			New(ComposeMail, "SendMail").Append(&Element{Space: ComposeMail, Name: "Mime", Opaque: []byte{'a', 0, 'c'}, IsOpaque: true})},
		{"split STR_I concatenates", doc(0x45, 0x4B, 0x03, 'a', 0x00, 0x03, 'b', 0x00, 0x01, 0x01),
			New(AirSync, "Sync").Append(&Element{Space: AirSync, Name: "SyncKey", Text: "ab"})},
		{"two-byte opaque length", doc(0x45, 0x4B, 0xC3, 0x81, 0x00, 0x01),
			nil}, // checked below: truncated (128 bytes announced, none there)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(tc.in, DefaultLimits)
			if tc.want == nil {
				var se *SyntaxError
				if !errors.As(err, &se) {
					t.Fatalf("want *SyntaxError, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(tc.want) {
				t.Fatalf("got\n%s\nwant\n%s", got.XML(), tc.want.XML())
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		msg  string
	}{
		{"empty", nil, "truncated header"},
		{"version", []byte{0x02, 0x01, 0x6A, 0x00, 0x05}, "version"},
		{"public id", []byte{0x03, 0x02, 0x6A, 0x00, 0x05}, "public identifier"},
		{"charset", []byte{0x03, 0x01, 0x04, 0x00, 0x05}, "charset"},
		{"string table", []byte{0x03, 0x01, 0x6A, 0x02, 'a', 0, 0x05}, "string table"},
		{"no body", doc(), "unexpected end"},
		{"truncated element", doc(0x45, 0x4B), "unexpected end"},
		{"truncated string", doc(0x45, 0x4B, 0x03, 'a'), "unterminated"},
		{"truncated switch", doc(0x45, 0x00), "truncated SWITCH_PAGE"},
		{"unknown page", doc(0x00, 0x1A, 0x05), "unknown code page"},
		{"unknown token", doc(0x45, 0x11, 0x01), "unknown tag token 0x11"},
		{"unknown token on Find", doc(0x00, 0x19, 0x0F), "unknown tag token"},
		{"attributes", doc(0x85), "attributes"},
		{"attributes and content", doc(0xC5, 0x01, 0x01), "attributes"},
		{"ENTITY", doc(0x45, 0x02, 0x41, 0x01), "global token 0x02"},
		{"LITERAL", doc(0x04, 0x00), "global token 0x04"},
		{"STR_T", doc(0x45, 0x83, 0x00, 0x01), "global token 0x83"},
		{"EXT_I_0", doc(0x45, 0x40, 'a', 0, 0x01), "global token 0x40"},
		{"PI", doc(0x43), "global token 0x43"},
		{"EXT_T_0", doc(0x45, 0x80, 0x00, 0x01), "global token 0x80"},
		{"EXT_0", doc(0x45, 0xC0, 0x01), "global token 0xc0"},
		{"LITERAL_AC", doc(0xC4), "global token 0xc4"},
		{"END at top", doc(0x01), "END without open element"},
		{"two roots", doc(0x05, 0x05), "after the root"},
		{"trailing END", doc(0x45, 0x01, 0x01), "END without open element"},
		{"text at top", doc(0x03, 'a', 0), "outside"},
		{"opaque at top", doc(0xC3, 0x00), "outside"},
		{"mixed text then child", doc(0x45, 0x03, 'a', 0, 0x4B, 0x01, 0x01), "mixed content"},
		{"mixed child then text", doc(0x45, 0x0B, 0x03, 'a', 0, 0x01), "mixed content"},
		{"mixed opaque then text", doc(0x45, 0xC3, 0x01, 'a', 0x03, 'a', 0, 0x01), "mixed content"},
		{"opaque beyond input", doc(0x45, 0xC3, 0x05, 'a', 'b'), "beyond end"},
		{"opaque huge length", doc(0x45, 0xC3, 0x8F, 0xFF, 0xFF, 0xFF, 0x7F, 0x01), "beyond end"},
		{"mb_u_int32 6 bytes", doc(0x45, 0xC3, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00), "longer than 5"},
		{"mb_u_int32 overflow", doc(0x45, 0xC3, 0x90, 0x80, 0x80, 0x80, 0x00), "overflows"},
		{"mb_u_int32 truncated", doc(0x45, 0xC3, 0x80), "truncated multi-byte"},
		{"header mb truncated", []byte{0x03, 0x81, 0x81, 0x81}, "truncated multi-byte"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			el, err := Decode(tc.in, DefaultLimits)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("want *SyntaxError, got %v (tree %v)", err, el)
			}
			if !strings.Contains(se.Msg, tc.msg) {
				t.Fatalf("error %q does not mention %q", se.Error(), tc.msg)
			}
		})
	}
}

func TestDecodeLimits(t *testing.T) {
	deep := doc()
	for i := 0; i < 10; i++ {
		deep = append(deep, 0x45)
	}
	for i := 0; i < 10; i++ {
		deep = append(deep, 0x01)
	}
	wide := doc(0x45)
	for i := 0; i < 10; i++ {
		wide = append(wide, 0x0B)
	}
	wide = append(wide, 0x01)
	tests := []struct {
		name string
		in   []byte
		lim  Limits
		ok   bool
	}{
		{"depth at limit", deep, Limits{MaxDepth: 10}, true},
		{"depth over limit", deep, Limits{MaxDepth: 9}, false},
		{"elements at limit", wide, Limits{MaxElements: 11}, true},
		{"elements over limit", wide, Limits{MaxElements: 10}, false},
		{"size at limit", wide, Limits{MaxSize: len(wide)}, true},
		{"size over limit", wide, Limits{MaxSize: len(wide) - 1}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.in, tc.lim)
			if tc.ok && err != nil {
				t.Fatal(err)
			}
			if !tc.ok && !errors.Is(err, ErrLimit) {
				t.Fatalf("want ErrLimit, got %v", err)
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	tests := []struct {
		name string
		root *Element
	}{
		{"nil", nil},
		{"unknown space", New("Nope", "Sync")},
		{"unknown name", New(AirSync, "Nope")},
		{"name from other page", New(AirSync, "Provision")},
		{"text and children", func() *Element {
			e := &Element{Space: AirSync, Name: "Sync", Text: "x"}
			e.Add(AirSync, "SyncKey")
			return e
		}()},
		{"opaque and children", func() *Element {
			e := &Element{Space: AirSync, Name: "Sync", IsOpaque: true}
			e.Add(AirSync, "SyncKey")
			return e
		}()},
		{"text and opaque", &Element{Space: AirSync, Name: "Sync", Text: "x", IsOpaque: true}},
		{"NUL in text", &Element{Space: AirSync, Name: "Sync", Text: "a\x00b"}},
		{"nil child", New(AirSync, "Sync").Append(nil)},
		{"cycle", func() *Element {
			e := New(AirSync, "Sync")
			e.Append(e)
			return e
		}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if b, err := Encode(tc.root); err == nil {
				t.Fatalf("want error, got % x", b)
			}
		})
	}
}

func TestEncodeOpaqueLengths(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 16383, 16384, 1 << 21} {
		data := bytes.Repeat([]byte{0xAB}, n)
		root := New(ComposeMail, "SendMail")
		root.AddOpaque(ComposeMail, "Mime", data)
		b, err := Encode(root)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(b, DefaultLimits)
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		if m := got.Child(ComposeMail, "Mime"); m == nil || !m.IsOpaque || !bytes.Equal(m.Opaque, data) {
			t.Fatalf("n=%d: opaque not preserved", n)
		}
	}
}

func TestDecodeCopiesOpaque(t *testing.T) {
	in := doc(0x00, 0x15, 0x45, 0x50, 0xC3, 0x02, 'h', 'i', 0x01, 0x01)
	root, err := Decode(in, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		in[i] = 0
	}
	if got := root.ChildText(ComposeMail, "Mime"); got != "hi" {
		t.Fatalf("opaque aliased the input: %q", got)
	}
}

func TestElementHelpers(t *testing.T) {
	var nilEl *Element
	if nilEl.Child(AirSync, "x") != nil || nilEl.All(AirSync, "x") != nil || nilEl.ChildText(AirSync, "x") != "" ||
		nilEl.Has(AirSync, "x") || nilEl.Content() != "" || nilEl.Is(AirSync, "x") {
		t.Fatal("nil receiver helpers must return zero values")
	}
	root := New(FolderHierarchy, "FolderSync")
	root.AddText(FolderHierarchy, "Status", "1")
	ch := root.Add(FolderHierarchy, "Changes")
	ch.AddText(FolderHierarchy, "Count", "2")
	ch.Add(FolderHierarchy, "Add").AddText(FolderHierarchy, "ServerId", "a")
	ch.Add(FolderHierarchy, "Add").AddText(FolderHierarchy, "ServerId", "b")
	root.AddOpaque(AirSync, "SyncKey", []byte("k"))
	if !root.Is(FolderHierarchy, "FolderSync") || root.Is(AirSync, "FolderSync") {
		t.Fatal("Is")
	}
	if got := root.ChildText(FolderHierarchy, "Status"); got != "1" {
		t.Fatalf("ChildText = %q", got)
	}
	if got := root.ChildText(AirSync, "SyncKey"); got != "k" {
		t.Fatalf("ChildText of opaque = %q", got)
	}
	adds := root.Child(FolderHierarchy, "Changes").All(FolderHierarchy, "Add")
	if len(adds) != 2 || adds[1].ChildText(FolderHierarchy, "ServerId") != "b" {
		t.Fatalf("All = %v", adds)
	}
	if root.Has(AirSync, "Status") || !root.Has(FolderHierarchy, "Changes") {
		t.Fatal("Has must match namespace and name")
	}
	if root.Child(FolderHierarchy, "Missing").Child(FolderHierarchy, "X").ChildText(FolderHierarchy, "Y") != "" {
		t.Fatal("chained nil lookups")
	}
	if r := New(AirSync, "Sync"); r.Append(New(AirSync, "Collections")) != r {
		t.Fatal("Append must return its receiver")
	}
}
