package directory

import (
	"strings"
	"unicode/utf8"
)

// maxQueryTerms bounds the work a query can cause.
const maxQueryTerms = 8

// terms splits a query into the lower-cased words every match must hold;
// nil when there is nothing to search for.
func terms(q string) []string {
	f := strings.Fields(strings.ToLower(q))
	if len(f) > maxQueryTerms {
		f = f[:maxQueryTerms]
	}
	for i, t := range f {
		if !utf8.ValidString(t) {
			f[i] = strings.ToValidUTF8(t, "")
		}
	}
	return f
}

// matches: every term occurs in one of the record's keys.
func (r *record) matches(ts []string) bool {
	if len(ts) == 0 {
		return false
	}
	for _, t := range ts {
		found := false
		for _, k := range r.keys {
			if strings.Contains(k, t) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
