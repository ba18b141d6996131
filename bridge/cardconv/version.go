package cardconv

import "strings"

// Version is the vCard version of a stored card as NewCard takes it:
// "4.0" for a 4.x card, "3.0" for any other card (2.1 and 3.0 alike, as
// parseDoc reads them), "" when data holds no complete card. It reads
// names and values only, without parsing parameters: the DAV class tallies
// the versions of the cards it fetches to learn which one a book's new
// cards take.
func Version(data []byte) string {
	version, begun := "3.0", false
	var cur strings.Builder
	have := false
	// line handles one logical line; true when the card ended.
	line := func(text string) bool {
		colon := valueColon(text)
		if colon < 0 {
			return false
		}
		head, _, _ := strings.Cut(text[:colon], ";")
		if _, n, ok := strings.Cut(head, "."); ok {
			head = n
		}
		value := text[colon+1:]
		switch {
		case !begun:
			begun = strings.EqualFold(head, "BEGIN") && strings.EqualFold(value, "VCARD")
		case strings.EqualFold(head, "VERSION"):
			version = strings.TrimSpace(value) // the last one counts, as in parseDoc
		case strings.EqualFold(head, "END") && strings.EqualFold(value, "VCARD"):
			return true
		}
		return false
	}
	for _, pl := range strings.Split(string(data), "\n") {
		pl = strings.TrimSuffix(pl, "\r")
		if (strings.HasPrefix(pl, " ") || strings.HasPrefix(pl, "\t")) && have {
			cur.WriteString(pl[1:]) // RFC 6350 3.2 folding
			continue
		}
		if pl == "" {
			continue
		}
		if have && line(cur.String()) {
			return v34(version)
		}
		cur.Reset()
		cur.WriteString(pl)
		have = true
	}
	if have && line(cur.String()) {
		return v34(version)
	}
	return ""
}

func v34(version string) string {
	if strings.HasPrefix(version, "4") {
		return "4.0"
	}
	return "3.0"
}
