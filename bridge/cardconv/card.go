package cardconv

import (
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-vcard"
	"github.com/idlebridge/idlebridge/activesync/items"
)

// ErrNotVCard is returned for input with no BEGIN:VCARD ... END:VCARD.
var ErrNotVCard = errors.New("cardconv: not a vCard")

// maxCardLines bounds the work one card can cause; real cards have dozens.
const maxCardLines = 10000

// cardLine is one logical (unfolded) content line.
type cardLine struct {
	raw    []string // the physical lines as read; nil once the line is edited
	group  string   // "item1" in item1.TEL, upper-cased
	name   string   // property name, upper-cased; "" for a line that does not parse
	params vcard.Params
	prefix string // everything before the value's colon, as read
	value  string // the value as written (escaped)
	gone   bool
}

// cardDoc is a card as a list of lines between BEGIN and END (both kept).
type cardDoc struct {
	lines   []*cardLine
	version string // "3.0" or "4.0" (anything else reads as 3.0)
	labels  map[string]string
	slots   map[items.ContactField]*cardLine // see fields.go
}

// parseDoc reads the first card in data. Lines before BEGIN and after END
// are dropped (a .vcf with several cards is not what a CardDAV resource holds).
func parseDoc(data []byte) (*cardDoc, error) {
	var logical [][]string
	for _, pl := range strings.Split(string(data), "\n") {
		pl = strings.TrimSuffix(pl, "\r")
		if (strings.HasPrefix(pl, " ") || strings.HasPrefix(pl, "\t")) && len(logical) > 0 {
			// RFC 6350 3.2: a line starting with one space or tab continues the previous.
			logical[len(logical)-1] = append(logical[len(logical)-1], pl)
			continue
		}
		if pl == "" {
			continue
		}
		if len(logical) >= maxCardLines {
			return nil, fmt.Errorf("cardconv: card has more than %d lines", maxCardLines)
		}
		logical = append(logical, []string{pl})
	}
	d := &cardDoc{version: "3.0", labels: map[string]string{}}
	begun := false
	for _, raw := range logical {
		l := newLine(raw)
		if !begun {
			if l.name == "BEGIN" && strings.EqualFold(l.value, "VCARD") {
				begun = true
				d.lines = append(d.lines, l)
			}
			continue
		}
		d.lines = append(d.lines, l)
		if l.name == "END" && strings.EqualFold(l.value, "VCARD") {
			d.index()
			return d, nil
		}
	}
	return nil, ErrNotVCard
}

func newLine(raw []string) *cardLine {
	var b strings.Builder
	for i, p := range raw {
		if i > 0 {
			p = p[1:]
		}
		b.WriteString(p)
	}
	text := b.String()
	l := &cardLine{raw: raw}
	colon := valueColon(text)
	if colon < 0 {
		return l
	}
	l.prefix, l.value = text[:colon], text[colon+1:]
	head, params, hasParams := strings.Cut(l.prefix, ";")
	if g, n, ok := strings.Cut(head, "."); ok {
		l.group, head = strings.ToUpper(g), n
	}
	l.name = strings.ToUpper(head)
	if !hasParams {
		return l
	}
	// go-vcard parses the parameters (quoting, lists); the probe name keeps
	// BEGIN/END/VERSION from meaning anything to it.
	card, err := vcard.NewDecoder(strings.NewReader("BEGIN:VCARD\r\nX-PROBE;" + params + ":\r\nEND:VCARD\r\n")).Decode()
	if err == nil {
		if fs := card["X-PROBE"]; len(fs) == 1 {
			l.params = fs[0].Params
		}
	}
	return l
}

// valueColon finds the colon that ends the name and parameters: the first
// one outside a quoted parameter value (RFC 6350 3.3).
func valueColon(s string) int {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case ':':
			if !quoted {
				return i
			}
		}
	}
	return -1
}

func (d *cardDoc) index() {
	for _, l := range d.lines {
		switch l.name {
		case "VERSION":
			d.version = strings.TrimSpace(l.value)
		case "X-ABLABEL":
			if l.group != "" {
				d.labels[l.group] = unescapeText(l.value)
			}
		}
	}
}

func (d *cardDoc) v4() bool { return strings.HasPrefix(d.version, "4") }

// label is the Apple X-ABLabel of a grouped line, e.g. "_$!<Spouse>!$_".
func (d *cardDoc) label(l *cardLine) string {
	if l.group == "" {
		return ""
	}
	return d.labels[l.group]
}

// named returns the live lines with that property name, in card order.
func (d *cardDoc) named(name string) []*cardLine {
	var out []*cardLine
	for _, l := range d.lines {
		if l.name == name && !l.gone {
			out = append(out, l)
		}
	}
	return out
}

// add inserts a new line before END:VCARD.
func (d *cardDoc) add(prefix, value string) *cardLine {
	l := &cardLine{prefix: prefix, value: value}
	if n, _, _ := strings.Cut(prefix, ";"); n != "" {
		l.name = strings.ToUpper(n)
	}
	end := len(d.lines) - 1
	d.lines = append(d.lines[:end], l, d.lines[end])
	return l
}

func (l *cardLine) set(value string) {
	if l.value != value || l.raw == nil {
		l.value, l.raw = value, nil
	}
}

// remove deletes a line, and the Apple label of its group when nothing else
// in the group is left.
func (d *cardDoc) remove(l *cardLine) {
	l.gone = true
	if l.group == "" {
		return
	}
	var label *cardLine
	for _, o := range d.lines {
		if o.gone || o.group != l.group {
			continue
		}
		if o.name != "X-ABLABEL" {
			return
		}
		label = o
	}
	if label != nil {
		label.gone = true
	}
}

// bytes writes the card with CRLF line endings; untouched lines are written
// as they were read, edited and new ones folded at 75 octets (RFC 6350 3.2).
func (d *cardDoc) bytes() []byte {
	var b strings.Builder
	for _, l := range d.lines {
		if l.gone {
			continue
		}
		if l.raw != nil {
			for _, p := range l.raw {
				b.WriteString(p)
				b.WriteString("\r\n")
			}
			continue
		}
		fold(&b, l.prefix+":"+l.value)
	}
	return []byte(b.String())
}

func fold(b *strings.Builder, s string) {
	const limit = 75
	width := 0
	for _, r := range s {
		n := len(string(r))
		if width+n > limit {
			b.WriteString("\r\n ")
			width = 1
		}
		b.WriteRune(r)
		width += n
	}
	b.WriteString("\r\n")
}

// Escaping of text values (RFC 6350 3.4, RFC 2426 4): backslash, comma,
// semicolon and newline.
var textEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, ",", `\,`, ";", `\;`, "\r", "")

func escapeText(s string) string { return textEscaper.Replace(s) }

func unescapeText(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
			if s[i] == 'n' || s[i] == 'N' {
				b.WriteByte('\n')
			} else {
				b.WriteByte(s[i])
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// splitEscaped splits a value on sep where it is not escaped; the parts
// stay escaped.
func splitEscaped(s string, sep byte) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
