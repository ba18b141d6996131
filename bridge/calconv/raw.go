package calconv

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// rawComp is a component of a stored object as its unfolded content lines,
// in order. The merge patches this tree rather than go-ical's, whose
// encoder sorts properties and parameters and re-quotes values: every line
// the patch does not touch is written back byte for byte (after unfolding,
// research note P5).
type rawComp struct {
	name    string
	entries []rawEntry
}

// rawEntry is one property line or one child component.
type rawEntry struct {
	line  string // the whole unfolded line, "" for a child
	name  string // upper-case property name
	child *rawComp
}

// parseRaw splits an iCalendar object into components. It is strict about
// nesting only; property syntax is left to go-ical, which has read the same
// bytes first.
func parseRaw(data []byte) (*rawComp, error) {
	data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	var lines []string
	for _, l := range strings.Split(string(data), "\n") {
		// RFC 5545 3.1: a line starting with a space or tab continues the last.
		if len(l) > 0 && (l[0] == ' ' || l[0] == '\t') && len(lines) > 0 {
			lines[len(lines)-1] += l[1:]
			continue
		}
		if strings.TrimSpace(l) != "" {
			lines = append(lines, strings.TrimRight(l, "\r"))
		}
	}
	var stack []*rawComp
	var root *rawComp
	for _, l := range lines {
		name := propName(l)
		_, value, _ := strings.Cut(l, ":")
		switch name {
		case "BEGIN":
			c := &rawComp{name: strings.ToUpper(value)}
			if len(stack) > 0 {
				top := stack[len(stack)-1]
				top.entries = append(top.entries, rawEntry{child: c})
			} else if root != nil {
				return nil, fmt.Errorf("calconv: more than one top-level component")
			} else {
				root = c
			}
			stack = append(stack, c)
		case "END":
			if len(stack) == 0 || stack[len(stack)-1].name != strings.ToUpper(value) {
				return nil, fmt.Errorf("calconv: END:%s does not close a component", value)
			}
			stack = stack[:len(stack)-1]
		default:
			if len(stack) == 0 {
				return nil, fmt.Errorf("calconv: property outside a component")
			}
			top := stack[len(stack)-1]
			top.entries = append(top.entries, rawEntry{line: l, name: name})
		}
	}
	if root == nil || len(stack) != 0 {
		return nil, fmt.Errorf("calconv: unterminated iCalendar object")
	}
	return root, nil
}

// propName is the upper-cased name of a content line.
func propName(line string) string {
	i := strings.IndexAny(line, ";:")
	if i < 0 {
		i = len(line)
	}
	return strings.ToUpper(line[:i])
}

// encode writes the tree with CRLF line ends, folded at 75 octets without
// splitting a UTF-8 sequence (RFC 5545 3.1).
func (c *rawComp) encode(b *bytes.Buffer) {
	writeFolded(b, "BEGIN:"+c.name)
	for _, e := range c.entries {
		if e.child != nil {
			e.child.encode(b)
		} else {
			writeFolded(b, e.line)
		}
	}
	writeFolded(b, "END:"+c.name)
}

func writeFolded(b *bytes.Buffer, line string) {
	limit := 75
	for len(line) > limit {
		n := limit
		for n > 0 && !utf8.RuneStart(line[n]) {
			n--
		}
		b.WriteString(line[:n])
		b.WriteString("\r\n ")
		line = line[n:]
		limit = 74 // the leading space counts
	}
	b.WriteString(line)
	b.WriteString("\r\n")
}

// children returns the child components of that name.
func (c *rawComp) children(name string) []*rawComp {
	var out []*rawComp
	for _, e := range c.entries {
		if e.child != nil && e.child.name == name {
			out = append(out, e.child)
		}
	}
	return out
}

// has reports whether a property of that name is present.
func (c *rawComp) has(name string) bool {
	for _, e := range c.entries {
		if e.child == nil && e.name == name {
			return true
		}
	}
	return false
}

// line returns the first line of that property, "" if none.
func (c *rawComp) line(name string) string {
	for _, e := range c.entries {
		if e.child == nil && e.name == name {
			return e.line
		}
	}
	return ""
}

// set replaces the first line of the property in place and drops the
// others of that name, or adds it after the last property.
func (c *rawComp) set(name, line string) {
	out := c.entries[:0:0]
	done := false
	for _, e := range c.entries {
		if e.child == nil && e.name == name {
			if !done {
				out = append(out, rawEntry{line: line, name: name})
				done = true
			}
			continue
		}
		out = append(out, e)
	}
	c.entries = out
	if !done {
		c.insert(rawEntry{line: line, name: name})
	}
}

// add appends one more line of a multi-valued property.
func (c *rawComp) add(name, line string) { c.insert(rawEntry{line: line, name: name}) }

// insert puts a property after the last property line, before children.
func (c *rawComp) insert(e rawEntry) {
	i := len(c.entries)
	for i > 0 && c.entries[i-1].child != nil {
		i--
	}
	c.entries = append(c.entries[:i], append([]rawEntry{e}, c.entries[i:]...)...)
}

// del removes every line of the property.
func (c *rawComp) del(name string) {
	out := c.entries[:0:0]
	for _, e := range c.entries {
		if e.child == nil && e.name == name {
			continue
		}
		out = append(out, e)
	}
	c.entries = out
}

// delChild removes one child component.
func (c *rawComp) delChild(child *rawComp) {
	out := c.entries[:0:0]
	for _, e := range c.entries {
		if e.child != child {
			out = append(out, e)
		}
	}
	c.entries = out
}

// addChild appends a child component at the end.
func (c *rawComp) addChild(child *rawComp) { c.entries = append(c.entries, rawEntry{child: child}) }

// paramsOf returns the ";…" parameter part of a line, "" when none.
func paramsOf(line string) string {
	i := strings.IndexAny(line, ";:")
	if i < 0 || line[i] == ':' {
		return ""
	}
	// The value starts at the first ':' outside a quoted parameter value.
	inQuote := false
	for j := i; j < len(line); j++ {
		switch line[j] {
		case '"':
			inQuote = !inQuote
		case ':':
			if !inQuote {
				return line[i:j]
			}
		}
	}
	return line[i:]
}

// escapeText escapes a TEXT value (RFC 5545 3.3.11).
func escapeText(s string) string {
	r := strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\r\n", `\n`, "\n", `\n`, "\r", `\n`)
	return r.Replace(s)
}
