package accounts

import (
	"fmt"
	"net/url"
	"strings"

	"go.yaml.in/yaml/v3"
)

// GAL search modes: how the global address list is searched.
const (
	// GALSearchAuto (the default): ask the server (addressbook-query) while
	// the bridge holds no copy of the book, then search a local copy kept
	// up to date through the change ladder; a server whose text-match
	// fails goes to the local copy at once.
	GALSearchAuto = "auto"
	// GALSearchServer: always ask the server; nothing is kept in memory.
	GALSearchServer = "server"
	// GALSearchLocal: always search the local copy (servers whose
	// text-match answers but misses, like SOGo's).
	GALSearchLocal = "local"
)

// GAL is where a user's global address list lives. The zero value means
// "not configured": the user's own address books are searched.
type GAL struct {
	// AddressBook is the directory address book: an href on the user's
	// CardDAV server or a URL on the same host (credentials are never sent
	// elsewhere).
	AddressBook string
	Search      string // GALSearchAuto, GALSearchServer or GALSearchLocal
}

// Configured says whether an address book was named.
func (g GAL) Configured() bool { return g.AddressBook != "" }

type galFile struct {
	AddressBook string `yaml:"addressbook"`
	Search      string `yaml:"search"`
}

// checkGAL validates a gal: section; field is its YAML path for errors.
func checkGAL(field string, f *galFile) (GAL, *FileError) {
	if f == nil {
		return GAL{}, nil
	}
	g := GAL{AddressBook: strings.TrimSpace(f.AddressBook), Search: f.Search}
	switch g.Search {
	case "":
		g.Search = GALSearchAuto
	case GALSearchAuto, GALSearchServer, GALSearchLocal:
	default:
		return GAL{}, &FileError{Field: field + ".search", Msg: fmt.Sprintf("%q: must be auto, server or local", f.Search)}
	}
	if g.AddressBook == "" {
		return GAL{}, &FileError{Field: field + ".addressbook", Msg: "required: the href or URL of the directory address book"}
	}
	u, err := url.Parse(g.AddressBook)
	switch {
	case err != nil:
		return GAL{}, &FileError{Field: field + ".addressbook", Msg: fmt.Sprintf("%q is not an href or URL", g.AddressBook)}
	case u.Scheme == "" && u.Host == "" && strings.HasPrefix(u.Path, "/"):
	case (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil:
	default:
		return GAL{}, &FileError{Field: field + ".addressbook", Msg: fmt.Sprintf("%q: want an absolute path (/dav/gal/) or an http(s) URL without credentials", g.AddressBook)}
	}
	return g, nil
}

// Domain holds the defaults of every user of a mail domain, read from the
// file "@<domain>.yaml" in the users directory. A user file's own
// settings win over it.
type Domain struct {
	Name string // lower-cased domain, e.g. example.com
	File string
	GAL  GAL
}

type domainFile struct {
	GAL *galFile `yaml:"gal"`
}

// DomainFromFileName returns the domain a file "@example.com.yaml" holds
// the defaults of.
func DomainFromFileName(name string) (string, bool) {
	base, ok := strings.CutSuffix(name, ".yaml")
	if !ok || !strings.HasPrefix(base, "@") || strings.HasSuffix(base, ".example") {
		return "", false
	}
	dom := strings.ToLower(base[1:])
	if dom == "" || strings.ContainsAny(dom, "@/\\ ") || !validHost(dom) {
		return "", false
	}
	return dom, true
}

// ParseDomainFile parses and validates a domain defaults file.
func ParseDomainFile(file, domain string, data []byte) (*Domain, error) {
	fail := func(fe *FileError) error { fe.File = file; return *fe }
	if len(data) > maxUserFileBytes {
		return nil, fail(&FileError{Msg: fmt.Sprintf("file is larger than %d bytes", maxUserFileBytes)})
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fail(&FileError{Msg: "not valid YAML: " + yamlMessage(err)})
	}
	var f domainFile
	if fe := decodeStrict(&doc, &f); fe != nil {
		return nil, fail(fe)
	}
	g, fe := checkGAL("gal", f.GAL)
	if fe != nil {
		return nil, fail(fe)
	}
	return &Domain{Name: domain, File: file, GAL: g}, nil
}
