package accounts

import (
	"errors"
	"testing"
)

func TestUserFileGAL(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       GAL
		field      string // the field a refusal names; "" = accepted
	}{
		{"none", "preset: fastmail\nlogin: {mode: passthrough}\n", GAL{}, ""},
		{"href", "preset: fastmail\ngal: {addressbook: /dav/gal/}\nlogin: {mode: passthrough}\n", GAL{AddressBook: "/dav/gal/", Search: GALSearchAuto}, ""},
		{"url local", "preset: fastmail\ngal: {addressbook: \"https://carddav.fastmail.com/dav/gal/\", search: local}\nlogin: {mode: passthrough}\n",
			GAL{AddressBook: "https://carddav.fastmail.com/dav/gal/", Search: GALSearchLocal}, ""},
		{"bad mode", "preset: fastmail\ngal: {addressbook: /g/, search: fuzzy}\nlogin: {mode: passthrough}\n", GAL{}, "gal.search"},
		{"relative", "preset: fastmail\ngal: {addressbook: gal/}\nlogin: {mode: passthrough}\n", GAL{}, "gal.addressbook"},
		{"credentials", "preset: fastmail\ngal: {addressbook: \"https://u:p@h/gal/\"}\nlogin: {mode: passthrough}\n", GAL{}, "gal.addressbook"},
		{"missing book", "preset: fastmail\ngal: {search: server}\nlogin: {mode: passthrough}\n", GAL{}, "gal.addressbook"},
		{"unknown key", "preset: fastmail\ngal: {adressbook: /g/}\nlogin: {mode: passthrough}\n", GAL{}, "gal.adressbook"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := ParseUserFile("f.yaml", "a@example.com", []byte(tc.yaml), noEnv)
			if tc.field != "" {
				var fe FileError
				if !errors.As(err, &fe) || fe.Field != tc.field {
					t.Fatalf("err = %v, want a FileError on %s", err, tc.field)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if u.GAL != tc.want {
				t.Fatalf("GAL = %+v, want %+v", u.GAL, tc.want)
			}
		})
	}
}

func TestDomainFile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "alice@example.com.yaml", passthroughFile)
	writeFile(t, dir, "@Example.com.yaml", "gal: {addressbook: /shared/gal/, search: server}\n")
	writeFile(t, dir, "@bad.org.yaml", "gal: {addressbook: nope}\n")
	writeFile(t, dir, "@example.org.example.yaml", "gal: {addressbook: /x/}\n") // an example: never read
	d := openTestDirectory(t, dir)
	dom, ok := d.Domain("EXAMPLE.COM")
	if !ok || dom.GAL != (GAL{AddressBook: "/shared/gal/", Search: GALSearchServer}) {
		t.Fatalf("Domain(example.com) = %+v, %v", dom, ok)
	}
	if _, ok := d.Domain("bad.org"); ok {
		t.Fatal("an invalid domain file was served")
	}
	if _, ok := d.Domain("example.org"); ok {
		t.Fatal("an example domain file was served")
	}
	probs := d.Problems()
	if len(probs) != 1 || probs[0].Field != "gal.addressbook" {
		t.Fatalf("problems = %+v, want the bad.org file on gal.addressbook", probs)
	}
	if _, ok := d.Lookup("alice@example.com"); !ok {
		t.Fatal("the user next to the domain file is gone")
	}
}
