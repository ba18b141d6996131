package mailconv

import (
	"mime"
	"net/mail"
	"strings"
	"unicode/utf8"
)

// addressList is a parsed address header: the EAS string form and the
// display names for DisplayTo.
type addressList struct {
	text  string   // "\"Name\" <addr>, <addr2>" (MS-ASEMAIL To/Cc/From/ReplyTo)
	names []string // display name, or address when there is none
	addrs []string // the bare addresses, to find the user among a meeting's attendees
}

// parseAddresses reads an address header leniently: when it is not a valid
// RFC 5322 address list the decoded header text is used as is, so a
// malformed header still shows something.
func parseAddresses(raw string) addressList {
	if strings.TrimSpace(raw) == "" {
		return addressList{}
	}
	if !utf8.ValidString(raw) {
		raw = windows1252([]byte(raw))
	}
	p := mail.AddressParser{WordDecoder: &mime.WordDecoder{CharsetReader: lenientCharsetReader}}
	addrs, err := p.ParseList(raw)
	if err != nil || len(addrs) == 0 {
		text := decodeHeaderText(raw)
		return addressList{text: text, names: []string{text}}
	}
	var out addressList
	parts := make([]string, 0, len(addrs))
	for _, a := range addrs {
		name := clean(strings.TrimSpace(a.Name))
		addr := clean(a.Address)
		out.addrs = append(out.addrs, addr)
		if name != "" {
			parts = append(parts, `"`+strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(name)+`" <`+addr+`>`)
			out.names = append(out.names, name)
		} else {
			parts = append(parts, addr)
			out.names = append(out.names, addr)
		}
	}
	out.text = strings.Join(parts, ", ")
	return out
}
