package wbxml

import (
	"bytes"
	"fmt"
)

// WBXML global tokens (WAP-192-WBXML 7.1) and the tag flags.
const (
	tokSwitchPage = 0x00
	tokEnd        = 0x01
	tokStrI       = 0x03
	tokOpaque     = 0xC3
	flagContent   = 0x40
	flagAttrs     = 0x80
)

// Header values MS-ASWBXML 2.1.2 fixes: WBXML 1.3, unknown public
// identifier, UTF-8, empty string table.
const (
	wbxmlVersion = 0x03
	publicIDNone = 0x01
	charsetUTF8  = 106
)

// Limits bounds what one Decode call accepts. A zero field takes the value
// of DefaultLimits.
type Limits struct {
	MaxSize     int // bytes of input
	MaxDepth    int // nesting of elements (the root is depth 1)
	MaxElements int // elements in the document
}

// DefaultLimits are generous for any real EAS request; the HTTP layer bounds
// the body size more tightly. Treat it as a constant.
var DefaultLimits = Limits{MaxSize: 64 << 20, MaxDepth: 64, MaxElements: 1 << 20}

func (l Limits) orDefault() Limits {
	if l.MaxSize <= 0 {
		l.MaxSize = DefaultLimits.MaxSize
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultLimits.MaxDepth
	}
	if l.MaxElements <= 0 {
		l.MaxElements = DefaultLimits.MaxElements
	}
	return l
}

// wholeStringMax is the largest input converted to one string whose
// substrings are the texts. A larger one is mostly opaque data (a SendMail
// with attachments): a copy of all of it, kept alive by a ClientId, would
// double what the request holds, so its texts are copied one by one.
const wholeStringMax = 64 << 10

// decoder walks the input with an index; elements are carved out of slabs
// to keep allocations per element low.
type decoder struct {
	data  []byte
	str   string // string(data), made on the first STR_I
	pos   int
	page  byte
	lim   Limits
	count int
	slab  []Element
}

// Decode parses one EAS WBXML document. Errors are *SyntaxError or wrap
// ErrLimit. Opaque data is copied, so data may be reused afterwards.
func Decode(data []byte, lim Limits) (*Element, error) {
	lim = lim.orDefault()
	if len(data) > lim.MaxSize {
		return nil, &limitError{offset: 0, what: "input size", max: lim.MaxSize}
	}
	d := decoder{data: data, lim: lim}
	if err := d.header(); err != nil {
		return nil, err
	}
	root, err := d.body()
	if err != nil {
		return nil, err
	}
	return root, nil
}

func (d *decoder) syntax(off int, format string, args ...any) error {
	return &SyntaxError{Offset: off, Msg: fmt.Sprintf(format, args...)}
}

func (d *decoder) header() error {
	if len(d.data) < 4 {
		return d.syntax(len(d.data), "truncated header")
	}
	if v := d.data[0]; v != wbxmlVersion {
		return d.syntax(0, "unsupported WBXML version 0x%02x (want 0x03)", v)
	}
	d.pos = 1
	pub, err := d.mbUint32()
	if err != nil {
		return err
	}
	if pub != publicIDNone {
		return d.syntax(1, "unsupported public identifier %d (want 1)", pub)
	}
	at := d.pos
	cs, err := d.mbUint32()
	if err != nil {
		return err
	}
	if cs != charsetUTF8 {
		return d.syntax(at, "unsupported charset %d (want 106, UTF-8)", cs)
	}
	at = d.pos
	st, err := d.mbUint32()
	if err != nil {
		return err
	}
	if st != 0 {
		// MS-ASWBXML 2.1.1: EAS does not use string tables.
		return d.syntax(at, "string table of %d bytes not supported by EAS", st)
	}
	return nil
}

// mbUint32 reads a WBXML multi-byte integer: at most 5 bytes, 7 bits each,
// high bit set on all but the last, value within 32 bits.
func (d *decoder) mbUint32() (uint32, error) {
	start := d.pos
	var v uint64
	for i := 0; i < 5; i++ {
		if d.pos >= len(d.data) {
			return 0, d.syntax(d.pos, "truncated multi-byte integer")
		}
		b := d.data[d.pos]
		d.pos++
		v = v<<7 | uint64(b&0x7F)
		if b&0x80 == 0 {
			if v > 0xFFFFFFFF {
				return 0, d.syntax(start, "multi-byte integer overflows 32 bits")
			}
			return uint32(v), nil
		}
	}
	return 0, d.syntax(start, "multi-byte integer longer than 5 bytes")
}

// newElement takes an element from the current slab.
func (d *decoder) newElement(space, name string) (*Element, error) {
	d.count++
	if d.count > d.lim.MaxElements {
		return nil, &limitError{offset: d.pos - 1, what: "element count", max: d.lim.MaxElements}
	}
	if len(d.slab) == 0 {
		n := 32
		if rest := d.lim.MaxElements - d.count + 1; rest < n {
			n = rest
		}
		d.slab = make([]Element, n)
	}
	e := &d.slab[0]
	d.slab = d.slab[1:]
	e.Space, e.Name = space, name
	return e, nil
}

// frame is an open element whose END has not been read yet.
type frame struct {
	el      *Element
	hasText bool // STR_I seen
	// pieces collects a text sent as several STR_I: appending each piece
	// to el.Text would copy the text so far every time, quadratic in the
	// number of pieces (issue 17: 640 000 one-byte pieces kept a core busy
	// for a minute). The text is made once, at the element's END.
	pieces []byte
}

func (d *decoder) body() (*Element, error) {
	var root *Element
	stack := make([]frame, 0, 16)
	for {
		if d.pos >= len(d.data) {
			if root != nil && len(stack) == 0 {
				return root, nil
			}
			return nil, d.syntax(d.pos, "unexpected end of input")
		}
		at := d.pos
		b := d.data[d.pos]
		d.pos++
		switch b {
		case tokSwitchPage:
			if d.pos >= len(d.data) {
				return nil, d.syntax(at, "truncated SWITCH_PAGE")
			}
			p := d.data[d.pos]
			d.pos++
			if int(p) >= len(codePages) {
				return nil, d.syntax(at, "unknown code page %d", p)
			}
			d.page = p
			continue
		case tokEnd:
			if len(stack) == 0 {
				return nil, d.syntax(at, "END without open element")
			}
			if top := &stack[len(stack)-1]; top.pieces != nil {
				top.el.Text = string(top.pieces)
			}
			stack = stack[:len(stack)-1]
			continue
		case tokStrI:
			if len(stack) == 0 {
				return nil, d.syntax(at, "string outside an element")
			}
			top := &stack[len(stack)-1]
			n := bytes.IndexByte(d.data[d.pos:], 0)
			if n < 0 {
				return nil, d.syntax(at, "unterminated inline string")
			}
			end := d.pos + n
			if len(top.el.Children) > 0 || top.el.IsOpaque {
				return nil, d.syntax(at, "mixed content in <%s:%s>", top.el.Space, top.el.Name)
			}
			if d.str == "" && len(d.data) <= wholeStringMax {
				// One conversion for the whole input; texts are substrings
				// of it, which saves an allocation per element (the tree
				// keeps the input's bytes alive as long as it lives).
				d.str = string(d.data)
			}
			if top.hasText {
				if top.pieces == nil {
					top.pieces = append([]byte(top.el.Text), d.data[d.pos:end]...)
				} else {
					top.pieces = append(top.pieces, d.data[d.pos:end]...)
				}
			} else if d.str != "" {
				top.el.Text = d.str[d.pos:end]
			} else {
				top.el.Text = string(d.data[d.pos:end])
			}
			top.hasText = true
			d.pos = end + 1
			continue
		case tokOpaque:
			if len(stack) == 0 {
				return nil, d.syntax(at, "opaque data outside an element")
			}
			top := &stack[len(stack)-1]
			n, err := d.mbUint32()
			if err != nil {
				return nil, err
			}
			if uint64(n) > uint64(len(d.data)-d.pos) {
				return nil, d.syntax(at, "opaque length %d beyond end of input", n)
			}
			if len(top.el.Children) > 0 || top.hasText {
				return nil, d.syntax(at, "mixed content in <%s:%s>", top.el.Space, top.el.Name)
			}
			top.el.Opaque = append(top.el.Opaque, d.data[d.pos:d.pos+int(n)]...)
			if top.el.Opaque == nil {
				top.el.Opaque = []byte{}
			}
			top.el.IsOpaque = true
			d.pos += int(n)
			continue
		}
		if b&flagAttrs != 0 && b&0x3F >= 0x05 {
			return nil, d.syntax(at, "attributes are not supported by EAS (token 0x%02x)", b)
		}
		if b&0x3F < 0x05 {
			return nil, d.syntax(at, "unsupported global token 0x%02x", b)
		}
		// A tag.
		if root != nil && len(stack) == 0 {
			return nil, d.syntax(at, "content after the root element")
		}
		tok := b & 0x3F
		name := tab.names[d.page][tok]
		if name == "" {
			return nil, d.syntax(at, "unknown tag token 0x%02x on code page %d", tok, d.page)
		}
		el, err := d.newElement(codePages[d.page].space, name)
		if err != nil {
			return nil, err
		}
		if len(stack) == 0 {
			root = el
		} else {
			top := &stack[len(stack)-1]
			if top.hasText || top.el.IsOpaque {
				return nil, d.syntax(at, "mixed content in <%s:%s>", top.el.Space, top.el.Name)
			}
			top.el.Children = append(top.el.Children, el)
		}
		if b&flagContent != 0 {
			if len(stack)+1 > d.lim.MaxDepth {
				return nil, &limitError{offset: at, what: "nesting depth", max: d.lim.MaxDepth}
			}
			stack = append(stack, frame{el: el})
		}
	}
}
