package dav

import "testing"

// A published free/busy URL is fetched with the user's credentials only
// on the user's own server: same scheme, host and port.
func TestSameOrigin(t *testing.T) {
	c, err := New(Config{URL: "https://dav.example.org:8443/dav/", Username: "u", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	for href, want := range map[string]bool{
		"/fb/alice.ifb": true,
		"fb/alice.ifb":  true,
		"https://dav.example.org:8443/fb/a.ifb?x=1":   true,
		"https://dav.example.org/fb/a.ifb":            false, // another port
		"http://dav.example.org:8443/fb/a.ifb":        false, // cleartext
		"https://evil.example.net:8443/fb/a.ifb":      false,
		"https://dav.example.org:8443@evil.example/x": false,
		"//evil.example.net/fb":                       false,
		"ftp://dav.example.org:8443/fb":               false,
		"%zz":                                         false,
	} {
		if got := c.SameOrigin(href); got != want {
			t.Errorf("SameOrigin(%q) = %v, want %v", href, got, want)
		}
	}
}
