package mailconv

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// parseValueParams splits a Content-Type or Content-Disposition value into
// its lower-cased value and parameters (lower-cased names). It is a lenient
// replacement for mime.ParseMediaType, which rejects whole headers over
// duplicate parameters or stray characters: here a bad parameter is simply
// skipped. RFC 2231 continuations (name*0, name*1*) and extended values
// (name*=charset'lang'%XX) are joined and decoded.
func parseValueParams(s string) (value string, params map[string]string) {
	params = map[string]string{}
	semi := strings.IndexByte(s, ';')
	if semi < 0 {
		return strings.ToLower(strings.TrimSpace(s)), params
	}
	value = strings.ToLower(strings.TrimSpace(s[:semi]))
	type piece struct {
		idx      int
		extended bool
		val      string
	}
	continued := map[string][]piece{}
	rest := s[semi+1:]
	for len(rest) > 0 {
		var name, val string
		name, val, rest = nextParam(rest)
		if name == "" {
			continue
		}
		base, idxStr, hasStar := strings.Cut(name, "*")
		if !hasStar {
			if _, dup := params[base]; !dup {
				params[base] = val
			}
			continue
		}
		// name*, name*N, name*N*
		extended := strings.HasSuffix(name, "*")
		idxStr = strings.TrimSuffix(idxStr, "*")
		idx := 0
		if idxStr != "" {
			n, err := strconv.Atoi(idxStr)
			if err != nil || n < 0 || n > 1000 {
				continue
			}
			idx = n
		}
		continued[base] = append(continued[base], piece{idx, extended, val})
	}
	for base, pieces := range continued {
		sort.SliceStable(pieces, func(i, j int) bool { return pieces[i].idx < pieces[j].idx })
		var charset string
		var raw strings.Builder
		for i, p := range pieces {
			v := p.val
			if p.extended {
				if i == 0 {
					// charset'language'value
					if parts := strings.SplitN(v, "'", 3); len(parts) == 3 {
						charset, v = parts[0], parts[2]
					}
				}
				if u, err := url.PathUnescape(v); err == nil {
					v = u
				}
			}
			raw.WriteString(v)
		}
		// The RFC 2231 form wins over a plain parameter of the same name:
		// it is the one written for clients that can read it.
		params[base] = decodeCharset([]byte(raw.String()), charset)
	}
	return value, params
}

// nextParam parses `name=value` or `name="quoted"` from the start of s and
// returns the remainder after the next ';'. name is "" for garbage.
func nextParam(s string) (name, val, rest string) {
	s = strings.TrimLeft(s, " \t\r\n;")
	eq := strings.IndexByte(s, '=')
	semi := strings.IndexByte(s, ';')
	if eq < 0 || (semi >= 0 && semi < eq) {
		if semi < 0 {
			return "", "", ""
		}
		return "", "", s[semi+1:]
	}
	name = strings.ToLower(strings.TrimSpace(s[:eq]))
	s = strings.TrimLeft(s[eq+1:], " \t")
	if strings.HasPrefix(s, `"`) {
		var b strings.Builder
		i := 1
		for ; i < len(s); i++ {
			c := s[i]
			if c == '\\' && i+1 < len(s) {
				i++
				b.WriteByte(s[i])
				continue
			}
			if c == '"' {
				i++
				break
			}
			b.WriteByte(c)
		}
		val = b.String()
		s = s[i:]
		if j := strings.IndexByte(s, ';'); j >= 0 {
			return name, val, s[j+1:]
		}
		return name, val, ""
	}
	if j := strings.IndexByte(s, ';'); j >= 0 {
		return name, strings.TrimSpace(s[:j]), s[j+1:]
	}
	return name, strings.TrimSpace(s), ""
}
