package send

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRecipients(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   string // comma-joined; "ERR" for an error
	}{
		{"plain", []string{"bob@example.com"}, "bob@example.com"},
		{"names and brackets", []string{`"Bob, B." <bob@example.com>, Carol <carol@example.com>`}, "bob@example.com,carol@example.com"},
		{"rfc2047 name", []string{"=?UTF-8?B?SsO2cmc=?= <joerg@example.com>", "=?ISO-8859-1?Q?J=F6rg?= <j2@example.com>"}, "joerg@example.com,j2@example.com"},
		{"several headers and duplicates", []string{"a@example.com", "A@EXAMPLE.com, b@example.com", "b@example.com"}, "a@example.com,b@example.com"},
		{"group", []string{"team: a@example.com, b@example.com;, c@example.com"}, "a@example.com,b@example.com,c@example.com"},
		{"empty group", []string{"undisclosed-recipients:;"}, ""},
		{"outlook semicolons", []string{`Bob <bob@example.com>; "x;y" <carol@example.com>`}, "bob@example.com,carol@example.com"},
		{"folded", []string{"a@example.com,\r\n b@example.com"}, "a@example.com,b@example.com"},
		{"utf8 address", []string{"jörg@bücher.example"}, "jörg@bücher.example"},
		{"empty values", []string{"", "  "}, ""},
		{"garbage", []string{"not an address"}, "ERR"},
		{"one bad of two", []string{"a@example.com, <broken"}, "ERR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRecipients(tt.values...)
			if tt.want == "ERR" {
				if !errors.Is(err, errBadAddress) {
					t.Fatalf("got %v, %v; want errBadAddress", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s := strings.Join(got, ","); s != tt.want {
				t.Errorf("got %q, want %q", s, tt.want)
			}
		})
	}
}

func FuzzParseRecipients(f *testing.F) {
	for _, s := range []string{
		"bob@example.com", `"B" <b@x.y>, c@d.e`, "g: a@b.c;", "a@b.c; d@e.f", "=?UTF-8?Q?=C3=A4?= <a@b.c>",
		"(comment) a@b.c", `"unterminated <a@b.c>`, "a@b.c,\r\n d@e.f", "x:;", ";;;,,,",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got, err := ParseRecipients(v, v)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, a := range got {
			if a == "" || strings.ContainsAny(a, "\r\n<>") {
				t.Fatalf("bad address %q from %q", a, v)
			}
			if seen[strings.ToLower(a)] {
				t.Fatalf("duplicate %q from %q", a, v)
			}
			seen[strings.ToLower(a)] = true
		}
	})
}
