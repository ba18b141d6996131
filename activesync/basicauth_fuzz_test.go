package activesync

import (
	"encoding/base64"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzBasicAuth feeds arbitrary Authorization headers to the credentials
// decoder: it must not panic, and what it accepts is a non-empty,
// lower-case user without a colon, within the length bounds.
func FuzzBasicAuth(f *testing.F) {
	for _, s := range []string{
		"Basic " + base64.StdEncoding.EncodeToString([]byte("alice@example.com:pw")),
		"basic " + base64.StdEncoding.EncodeToString([]byte(`example.com\Alice:pw:with:colons`)),
		"Basic " + base64.StdEncoding.EncodeToString([]byte(`\:x`)),
		"Basic " + base64.StdEncoding.EncodeToString([]byte("Caf\xe9@x:\xff")),
		"Basic " + base64.StdEncoding.EncodeToString([]byte("   :pw")),
		"Basic !!!", "Bearer abc", "Basic", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest("POST", "/Microsoft-Server-ActiveSync", nil)
		r.Header["Authorization"] = []string{header}
		user, _, ok := basicAuth(r)
		if !ok {
			return
		}
		if user == "" || strings.Contains(user, ":") || len(user) > 320 || user != strings.ToLower(user) {
			t.Fatalf("accepted user %q from %q", user, header)
		}
	})
}
