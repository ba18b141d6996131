package mailid

import "testing"

func TestParseItemID(t *testing.T) {
	tests := []struct {
		in     string
		folder string
		uid    uint32
		ok     bool
	}{
		{"7:1042", "7", 1042, true},
		{"12:4294967295", "12", 4294967295, true},
		{"7:0", "", 0, false},
		{"7:", "", 0, false},
		{":5", "", 0, false},
		{"75", "", 0, false},
		{"7:4294967296", "", 0, false},
		{"7:-1", "", 0, false},
		{"7:1:2", "7:1", 2, true}, // a folder ID never contains ':', so this matches no folder
	}
	for _, tc := range tests {
		f, u, ok := ParseItem(tc.in)
		if f != tc.folder || u != tc.uid || ok != tc.ok {
			t.Errorf("ParseItem(%q) = %q, %d, %v; want %q, %d, %v", tc.in, f, u, ok, tc.folder, tc.uid, tc.ok)
		}
	}
}

func TestPartPath(t *testing.T) {
	for _, s := range []string{"1", "2.1", "3.10.2"} {
		p, ok := ParsePartPath(s)
		if !ok || FormatPartPath(p) != s {
			t.Errorf("round trip %q: %v %v", s, p, ok)
		}
	}
	for _, s := range []string{"", "0", "1..2", "a", "1.-2", "99999"} {
		if p, ok := ParsePartPath(s); ok {
			t.Errorf("ParsePartPath(%q) = %v, want failure", s, p)
		}
	}
}

func FuzzItemID(f *testing.F) {
	for _, s := range []string{"7:1042", "1:1", ":", "a:b:c", "7:99999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		folder, uid, ok := ParseItem(s)
		if !ok {
			return
		}
		f2, u2, ok2 := ParseItem(Item(folder, uid))
		if uid == 0 || folder == "" || !ok2 || f2 != folder || u2 != uid {
			t.Fatalf("ParseItem(%q) = %q, %d; round trip %q, %d, %v", s, folder, uid, f2, u2, ok2)
		}
	})
}
