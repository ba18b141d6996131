package wbxml

// tagKey names a tag by namespace and local name, for the reverse table.
type tagKey struct{ space, name string }

// tables are the lookups derived once from codePages. They are read-only
// after init; nothing in the package writes them again.
type tables struct {
	// names[page][token] is the tag name, "" when the token is undefined.
	names [len(codePages)][64]string
	// tokens maps a tag to page<<8 | token.
	tokens map[tagKey]uint16
	// pages maps a namespace to its page number.
	pages map[string]byte
}

var tab = buildTables()

func buildTables() *tables {
	t := &tables{tokens: make(map[tagKey]uint16, 1024), pages: make(map[string]byte, len(codePages))}
	for page, cp := range codePages {
		t.pages[cp.space] = byte(page)
		for tok, name := range cp.tags {
			if tok < 0x05 || tok > 0x3F {
				panic("wbxml: token out of range in code page " + cp.space) // static table bug
			}
			t.names[page][tok] = name
			t.tokens[tagKey{cp.space, name}] = uint16(page)<<8 | uint16(tok)
		}
	}
	return t
}

// Lookup returns the code page and token of a tag.
func Lookup(space, name string) (page, token byte, ok bool) {
	v, ok := tab.tokens[tagKey{space, name}]
	return byte(v >> 8), byte(v), ok
}

// TagName returns the namespace and name of a token on a code page.
func TagName(page, token byte) (space, name string, ok bool) {
	if int(page) >= len(codePages) || token > 0x3F {
		return "", "", false
	}
	name = tab.names[page][token]
	if name == "" {
		return "", "", false
	}
	return codePages[page].space, name, true
}

// PageOf returns the code page number of a namespace.
func PageOf(space string) (page byte, ok bool) {
	page, ok = tab.pages[space]
	return page, ok
}
