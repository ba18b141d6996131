package wbxml

import (
	"errors"
	"fmt"
	"strings"
)

// Encode writes root as an EAS WBXML document. It fails on a tag that no
// code page defines, on an element with both content and children, and on
// text containing a NUL byte (STR_I cannot carry it).
func Encode(root *Element) ([]byte, error) {
	if root == nil {
		return nil, errors.New("wbxml: encode: nil root")
	}
	e := encoder{buf: make([]byte, 0, 256)}
	// MS-ASWBXML 2.1.2: version 1.3, public id 1, UTF-8, no string table.
	e.buf = append(e.buf, wbxmlVersion, publicIDNone, charsetUTF8, 0x00)
	if err := e.element(root, 1); err != nil {
		return nil, err
	}
	return e.buf, nil
}

type encoder struct {
	buf  []byte
	page byte
}

// maxEncodeDepth stops runaway recursion on a cyclic tree.
const maxEncodeDepth = 1024

func (e *encoder) element(el *Element, depth int) error {
	if el == nil {
		return errors.New("wbxml: encode: nil element")
	}
	if depth > maxEncodeDepth {
		return fmt.Errorf("wbxml: encode: nesting deeper than %d (cycle?)", maxEncodeDepth)
	}
	v, ok := tab.tokens[tagKey{el.Space, el.Name}]
	if !ok {
		return fmt.Errorf("wbxml: encode: unknown tag %s:%s", el.Space, el.Name)
	}
	page, tok := byte(v>>8), byte(v)
	hasContent := el.IsOpaque || el.Text != ""
	if hasContent && len(el.Children) > 0 {
		return fmt.Errorf("wbxml: encode: <%s:%s> has both content and children", el.Space, el.Name)
	}
	if el.IsOpaque && el.Text != "" {
		return fmt.Errorf("wbxml: encode: <%s:%s> has both text and opaque data", el.Space, el.Name)
	}
	if page != e.page {
		e.buf = append(e.buf, tokSwitchPage, page)
		e.page = page
	}
	if !hasContent && len(el.Children) == 0 {
		e.buf = append(e.buf, tok)
		return nil
	}
	e.buf = append(e.buf, tok|flagContent)
	switch {
	case el.IsOpaque:
		e.buf = append(e.buf, tokOpaque)
		e.buf = appendMbUint32(e.buf, uint32(len(el.Opaque)))
		e.buf = append(e.buf, el.Opaque...)
	case el.Text != "":
		if strings.IndexByte(el.Text, 0) >= 0 {
			return fmt.Errorf("wbxml: encode: <%s:%s> text contains a NUL byte", el.Space, el.Name)
		}
		e.buf = append(e.buf, tokStrI)
		e.buf = append(e.buf, el.Text...)
		e.buf = append(e.buf, 0)
	default:
		for _, c := range el.Children {
			if err := e.element(c, depth+1); err != nil {
				return err
			}
		}
	}
	e.buf = append(e.buf, tokEnd)
	return nil
}

// appendMbUint32 writes v as a WBXML multi-byte integer.
func appendMbUint32(b []byte, v uint32) []byte {
	var tmp [5]byte
	i := len(tmp) - 1
	tmp[i] = byte(v & 0x7F)
	for v >>= 7; v != 0; v >>= 7 {
		i--
		tmp[i] = byte(v&0x7F) | 0x80
	}
	return append(b, tmp[i:]...)
}
