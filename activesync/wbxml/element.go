package wbxml

// Element is one node of a decoded EAS document. An element carries either
// children, or text (STR_I), or opaque bytes (OPAQUE), or nothing.
type Element struct {
	Space    string // code-page namespace, e.g. "AirSync", "FolderHierarchy", "Provision"
	Name     string // tag name as in MS-ASWBXML, e.g. "SyncKey"
	Children []*Element
	Text     string // STR_I content
	Opaque   []byte // OPAQUE content
	IsOpaque bool
}

// New returns an empty element.
func New(space, name string) *Element { return &Element{Space: space, Name: name} }

// Add appends an empty child and returns the child.
func (e *Element) Add(space, name string) *Element {
	c := &Element{Space: space, Name: name}
	e.Children = append(e.Children, c)
	return c
}

// AddText appends a child holding text and returns the child.
func (e *Element) AddText(space, name, text string) *Element {
	c := &Element{Space: space, Name: name, Text: text}
	e.Children = append(e.Children, c)
	return c
}

// AddOpaque appends a child holding opaque data and returns the child.
func (e *Element) AddOpaque(space, name string, data []byte) *Element {
	c := &Element{Space: space, Name: name, Opaque: data, IsOpaque: true}
	e.Children = append(e.Children, c)
	return c
}

// Append appends existing elements and returns e.
func (e *Element) Append(children ...*Element) *Element {
	e.Children = append(e.Children, children...)
	return e
}

// Child returns the first child with that namespace and name, or nil.
func (e *Element) Child(space, name string) *Element {
	if e == nil {
		return nil
	}
	for _, c := range e.Children {
		if c.Name == name && c.Space == space {
			return c
		}
	}
	return nil
}

// All returns every child with that namespace and name.
func (e *Element) All(space, name string) []*Element {
	if e == nil {
		return nil
	}
	var out []*Element
	for _, c := range e.Children {
		if c.Name == name && c.Space == space {
			out = append(out, c)
		}
	}
	return out
}

// ChildText returns the Content of the first matching child, "" if none.
func (e *Element) ChildText(space, name string) string { return e.Child(space, name).Content() }

// Has reports whether a matching child exists.
func (e *Element) Has(space, name string) bool { return e.Child(space, name) != nil }

// Content returns the text, or the opaque bytes as a string.
func (e *Element) Content() string {
	if e == nil {
		return ""
	}
	if e.IsOpaque {
		return string(e.Opaque)
	}
	return e.Text
}

// Is reports whether e has that namespace and name.
func (e *Element) Is(space, name string) bool {
	return e != nil && e.Name == name && e.Space == space
}

// Equal reports whether two trees are the same: names, text, opaque bytes and
// children in order. An opaque element with no bytes equals one whose Opaque
// is nil.
func (e *Element) Equal(o *Element) bool {
	if e == nil || o == nil {
		return e == o
	}
	if e.Space != o.Space || e.Name != o.Name || e.Text != o.Text || e.IsOpaque != o.IsOpaque ||
		string(e.Opaque) != string(o.Opaque) || len(e.Children) != len(o.Children) {
		return false
	}
	for i := range e.Children {
		if !e.Children[i].Equal(o.Children[i]) {
			return false
		}
	}
	return true
}
