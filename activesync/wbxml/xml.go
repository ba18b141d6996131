package wbxml

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// opaqueInXML lists the elements whose XML text is base64 of OPAQUE bytes:
// exactly the ones libwbxml 0.11.8 encodes as OPAQUE from XML (found by
// running xml2wbxml over every tag). ParseXML base64-decodes their text so
// that our encoding of a parsed document matches libwbxml's byte for byte.
// Other elements that EAS senders may put in OPAQUE (AirSyncBase Data,
// ItemOperations Data) stay text here, as libwbxml keeps them.
var opaqueInXML = map[tagKey]bool{
	{ComposeMail, "Mime"}:              true,
	{AirSyncBase, "Content"}:           true,
	{Email2, "ConversationId"}:         true,
	{Email2, "ConversationIndex"}:      true,
	{ItemOperations, "ConversationId"}: true,
	{Search, "ConversationId"}:         true,
	{ResolveRecipients, "Data"}:        true,
	{GAL, "Data"}:                      true,
}

// XML renders the tree as indented XML in the shape wbxml2xml prints: each
// element whose namespace differs from its parent's declares it as a
// default namespace "Space:". Opaque content is printed as base64. Meant for
// traces, debugging and tests; never include it in logs of message bodies.
func (e *Element) XML() string {
	if e == nil {
		return ""
	}
	var b strings.Builder
	e.writeXML(&b, "", 0)
	return b.String()
}

func (e *Element) writeXML(b *strings.Builder, parentSpace string, depth int) {
	for i := 0; i < depth; i++ {
		b.WriteString("  ")
	}
	b.WriteByte('<')
	b.WriteString(e.Name)
	if e.Space != parentSpace {
		b.WriteString(` xmlns="`)
		b.WriteString(e.Space)
		b.WriteString(`:"`)
	}
	switch {
	case e.IsOpaque && len(e.Opaque) > 0:
		b.WriteByte('>')
		b.WriteString(base64.StdEncoding.EncodeToString(e.Opaque))
	case e.Text != "":
		b.WriteByte('>')
		_ = xml.EscapeText(stringWriter{b}, []byte(e.Text))
	case len(e.Children) > 0:
		b.WriteString(">\n")
		for _, c := range e.Children {
			c.writeXML(b, e.Space, depth+1)
		}
		for i := 0; i < depth; i++ {
			b.WriteString("  ")
		}
	default:
		b.WriteString("/>\n")
		return
	}
	b.WriteString("</")
	b.WriteString(e.Name)
	b.WriteString(">\n")
}

type stringWriter struct{ b *strings.Builder }

func (w stringWriter) Write(p []byte) (int, error) { return w.b.Write(p) }

// ParseXML reads an EAS document written as XML, either as wbxml2xml prints
// it (xmlns="AirSync:" on each element that changes namespace, libwbxml's
// older tag spellings accepted) or in the MS-ASCMD example style (a default
// namespace plus prefixes such as xmlns:email="Email"). Namespace URIs may
// end in ":" or not. Text of the elements in opaqueInXML is base64 and
// becomes Opaque. Whitespace-only text is ignored.
func ParseXML(r io.Reader) (*Element, error) {
	d := xml.NewDecoder(r)
	d.Strict = true
	var root *Element
	var stack []*Element
	var text [][]byte // character data of each open element
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("wbxml: parse xml: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			for _, a := range t.Attr {
				if a.Name.Space != "xmlns" && !(a.Name.Space == "" && a.Name.Local == "xmlns") {
					return nil, fmt.Errorf("wbxml: parse xml: attribute %s on <%s> not allowed", a.Name.Local, t.Name.Local)
				}
			}
			space, name, err := resolveXMLName(t.Name)
			if err != nil {
				return nil, err
			}
			el := &Element{Space: space, Name: name}
			if len(stack) == 0 {
				if root != nil {
					return nil, errors.New("wbxml: parse xml: more than one root element")
				}
				root = el
			} else {
				parent := stack[len(stack)-1]
				if len(bytes.TrimSpace(text[len(text)-1])) != 0 {
					return nil, fmt.Errorf("wbxml: parse xml: <%s> mixes text and elements", parent.Name)
				}
				parent.Children = append(parent.Children, el)
			}
			stack = append(stack, el)
			text = append(text, nil)
		case xml.CharData:
			if len(stack) > 0 {
				text[len(text)-1] = append(text[len(text)-1], t...)
			} else if strings.TrimSpace(string(t)) != "" {
				return nil, errors.New("wbxml: parse xml: text outside the root element")
			}
		case xml.EndElement:
			el := stack[len(stack)-1]
			s := string(text[len(text)-1])
			stack, text = stack[:len(stack)-1], text[:len(text)-1]
			if strings.TrimSpace(s) == "" {
				continue
			}
			if len(el.Children) > 0 {
				return nil, fmt.Errorf("wbxml: parse xml: <%s> mixes text and elements", el.Name)
			}
			if opaqueInXML[tagKey{el.Space, el.Name}] {
				raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
				if err != nil {
					return nil, fmt.Errorf("wbxml: parse xml: <%s:%s> is opaque and needs base64: %w", el.Space, el.Name, err)
				}
				el.Opaque, el.IsOpaque = raw, true
				continue
			}
			el.Text = s
		}
	}
	if root == nil {
		return nil, errors.New("wbxml: parse xml: no root element")
	}
	return root, nil
}

// resolveXMLName maps an XML name to a known namespace and tag name.
func resolveXMLName(n xml.Name) (space, name string, err error) {
	space = strings.TrimSuffix(n.Space, ":")
	if space == "" {
		return "", "", fmt.Errorf("wbxml: parse xml: <%s> has no namespace", n.Local)
	}
	if strings.EqualFold(space, GAL) {
		space = GAL // libwbxml writes "Gal:"
	}
	if _, ok := tab.pages[space]; !ok {
		return "", "", fmt.Errorf("wbxml: parse xml: unknown namespace %q on <%s>", n.Space, n.Local)
	}
	if _, ok := tab.tokens[tagKey{space, n.Local}]; ok {
		return space, n.Local, nil
	}
	if canon, ok := libwbxmlAliases[tagKey{space, n.Local}]; ok {
		return space, canon, nil
	}
	return "", "", fmt.Errorf("wbxml: parse xml: unknown tag %s:%s", space, n.Local)
}
