package engine

import "strings"

// Kind is the item class of a collection.
type Kind string

// The kinds. A kind picks the Source that serves a collection.
const (
	KindMail     Kind = "mail"     // an IMAP mailbox
	KindCalendar Kind = "calendar" // the VEVENT side of a CalDAV calendar
	KindTasks    Kind = "tasks"    // the VTODO side of a CalDAV calendar
	KindContacts Kind = "contacts" // a CardDAV address book (or all of them, merged)
)

// Ref is what a collection ID names upstream: a mailbox name for mail, a
// collection href for DAV.
type Ref struct {
	Kind Kind
	Path string
}

// refMark starts an encoded non-mail Ref. IMAP mailbox names never hold
// control characters (servers refuse them, RFC 3501's quoted strings
// cannot carry them), so a bare value is always a mailbox: folder maps
// written before kinds existed read unchanged.
const refMark = "\x01"

// EncodeRef is how the folder map stores a Ref.
func EncodeRef(r Ref) string {
	if r.Kind == KindMail || r.Kind == "" {
		return r.Path
	}
	return refMark + string(r.Kind) + refMark + r.Path
}

// DecodeRef is the inverse of EncodeRef; a bare value is a mailbox.
func DecodeRef(v string) Ref {
	if !strings.HasPrefix(v, refMark) {
		return Ref{Kind: KindMail, Path: v}
	}
	kind, path, ok := strings.Cut(v[len(refMark):], refMark)
	if !ok {
		return Ref{Kind: KindMail, Path: v}
	}
	return Ref{Kind: Kind(kind), Path: path}
}
