package mailconv

import (
	"html"
	"regexp"
	"strings"

	xhtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// htmlToText renders HTML as readable plain text for devices that asked for
// Type 1 when the message has only HTML: block elements start new lines,
// links keep their target as "text <url>", entities are decoded, and
// script/style/head content is dropped. Tag soup is fine: the tokenizer
// never fails, it only stops at the end of input.
func htmlToText(src string) string {
	z := xhtml.NewTokenizer(strings.NewReader(src))
	var w textWriter
	skip := 0          // depth inside script/style/head/title
	pre := 0           // depth inside <pre>
	var href []string  // stack of open <a> targets
	var linkText []int // w.b length when each <a> opened
	for {
		tt := z.Next()
		switch tt {
		case xhtml.ErrorToken:
			return w.String()
		case xhtml.TextToken:
			if skip > 0 {
				continue
			}
			w.text(string(z.Text()), pre > 0)
		case xhtml.StartTagToken, xhtml.SelfClosingTagToken, xhtml.EndTagToken:
			name, hasAttr := z.TagName()
			a := atom.Lookup(name)
			end := tt == xhtml.EndTagToken
			switch a {
			case atom.Script, atom.Style, atom.Head, atom.Title, atom.Noscript, atom.Template:
				if tt == xhtml.SelfClosingTagToken {
					continue
				}
				if end {
					if skip > 0 {
						skip--
					}
				} else {
					skip++
				}
				continue
			}
			if skip > 0 {
				continue
			}
			switch a {
			case atom.Br:
				w.newline()
			case atom.P, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.Blockquote, atom.Table, atom.Ul, atom.Ol:
				w.paragraph()
			case atom.Div, atom.Tr, atom.Section, atom.Article, atom.Header, atom.Footer,
				atom.Dl, atom.Dt, atom.Dd, atom.Address, atom.Center, atom.Form, atom.Caption:
				w.newline()
			case atom.Hr:
				w.newline()
				w.raw("----------")
				w.newline()
			case atom.Li:
				if !end {
					w.newline()
					w.raw("- ")
				}
			case atom.Td, atom.Th:
				if !end {
					w.space()
				}
			case atom.Pre:
				w.newline()
				if end {
					if pre > 0 {
						pre--
					}
				} else if tt == xhtml.StartTagToken {
					pre++
				}
			case atom.Img:
				if alt := attr(z, hasAttr, "alt"); strings.TrimSpace(alt) != "" && !end {
					w.text("["+strings.TrimSpace(alt)+"]", false)
				}
			case atom.A:
				if tt == xhtml.StartTagToken {
					href = append(href, attr(z, hasAttr, "href"))
					linkText = append(linkText, w.b.Len())
				} else if end && len(href) > 0 {
					target := href[len(href)-1]
					start := linkText[len(linkText)-1]
					href, linkText = href[:len(href)-1], linkText[:len(linkText)-1]
					w.link(target, start)
				}
			}
		}
	}
}

// attr returns the value of attribute key of the current tag.
func attr(z *xhtml.Tokenizer, hasAttr bool, key string) string {
	for hasAttr {
		var k, v []byte
		k, v, hasAttr = z.TagAttr()
		if string(k) == key {
			return string(v)
		}
	}
	return ""
}

// textWriter accumulates rendered text, collapsing whitespace the way a
// browser would and limiting blank lines to one.
type textWriter struct {
	b            strings.Builder
	newlines     int  // trailing newlines written
	pendingSpace bool // a collapsed space is pending
}

func (w *textWriter) raw(s string) {
	if w.pendingSpace && w.newlines == 0 && w.b.Len() > 0 {
		w.b.WriteByte(' ')
	}
	w.pendingSpace = false
	w.b.WriteString(s)
	if s != "" {
		w.newlines = 0
	}
}

func (w *textWriter) text(s string, pre bool) {
	if pre {
		for _, line := range strings.SplitAfter(s, "\n") {
			w.raw(strings.TrimSuffix(line, "\n"))
			if strings.HasSuffix(line, "\n") {
				w.newline()
			}
		}
		return
	}
	for i, f := range strings.Fields(s) {
		if i > 0 || startsWithSpace(s) {
			w.pendingSpace = true
		}
		w.raw(f)
	}
	if endsWithSpace(s) {
		w.pendingSpace = true
	}
}

func (w *textWriter) newline() {
	w.pendingSpace = false
	if w.b.Len() == 0 || w.newlines >= 2 {
		return
	}
	w.b.WriteByte('\n')
	w.newlines++
}

func (w *textWriter) paragraph() {
	w.newline()
	w.newline()
}

func (w *textWriter) space() { w.pendingSpace = true }

// link appends " <url>" after the link text unless the text already is the
// URL (or the target is a fragment or script).
func (w *textWriter) link(target string, start int) {
	target = strings.TrimSpace(target)
	lower := strings.ToLower(target)
	if target == "" || strings.HasPrefix(target, "#") || strings.HasPrefix(lower, "javascript:") {
		return
	}
	text := strings.TrimSpace(w.b.String()[min(start, w.b.Len()):])
	shown := strings.TrimPrefix(lower, "mailto:")
	if strings.EqualFold(text, target) || strings.EqualFold(text, shown) {
		return
	}
	if text == "" {
		w.text(target, false)
		return
	}
	w.pendingSpace = true
	w.raw("<" + target + ">")
}

func (w *textWriter) String() string {
	lines := strings.Split(w.b.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

func startsWithSpace(s string) bool { return s != "" && strings.TrimLeft(s[:1], " \t\r\n\f") == "" }
func endsWithSpace(s string) bool {
	return s != "" && strings.TrimRight(s[len(s)-1:], " \t\r\n\f") == ""
}

// plainToHTML wraps plain text into minimal HTML for a device that accepts
// only HTML bodies.
func plainToHTML(s string) string {
	return "<html><head><meta charset=\"utf-8\"></head><body><div style=\"white-space:pre-wrap\">" +
		html.EscapeString(s) + "</div></body></html>"
}

// metaCharset finds a charset declared inside the HTML itself.
var metaCharset = regexp.MustCompile(`(?i)<meta[^>]*charset\s*=\s*["']?\s*([a-z0-9_.:-]+)`)

// htmlDeclaredCharset returns the charset an HTML document declares in a
// <meta> tag within its first 4 KB, "" if none.
func htmlDeclaredCharset(b []byte) string {
	if len(b) > 4096 {
		b = b[:4096]
	}
	if m := metaCharset.FindSubmatch(b); m != nil {
		return string(m[1])
	}
	return ""
}

// rewriteMetaCharset makes <meta> charset declarations say utf-8, because
// the text has been converted and a stale declaration would make the device
// decode it a second time.
func rewriteMetaCharset(s string) string {
	head := s
	if len(head) > 4096 {
		head = head[:4096]
	}
	loc := metaCharset.FindStringSubmatchIndex(head)
	if loc == nil {
		return s
	}
	return s[:loc[2]] + "utf-8" + s[loc[3]:]
}
