package imap

import (
	"strings"
	"time"

	imapv2 "github.com/emersion/go-imap/v2"
)

// Address is one mailbox of an envelope address list. Group markers of
// RFC 2822 group syntax are dropped; the group's members are kept.
type Address struct {
	Name  string // display name, RFC 2047-decoded
	Email string // local@domain
}

// Envelope is the server-parsed header summary of a message (RFC 3501
// 7.4.2), with encoded words already decoded.
type Envelope struct {
	Date      time.Time
	Subject   string
	From      []Address
	Sender    []Address
	ReplyTo   []Address
	To        []Address
	Cc        []Address
	Bcc       []Address
	InReplyTo []string
	MessageID string
}

func envelopeFrom(e *imapv2.Envelope) *Envelope {
	if e == nil {
		return nil
	}
	return &Envelope{
		Date:      e.Date,
		Subject:   e.Subject,
		From:      addressesFrom(e.From),
		Sender:    addressesFrom(e.Sender),
		ReplyTo:   addressesFrom(e.ReplyTo),
		To:        addressesFrom(e.To),
		Cc:        addressesFrom(e.Cc),
		Bcc:       addressesFrom(e.Bcc),
		InReplyTo: e.InReplyTo,
		MessageID: e.MessageID,
	}
}

func addressesFrom(list []imapv2.Address) []Address {
	var out []Address
	for i := range list {
		a := &list[i]
		if a.IsGroupStart() || a.IsGroupEnd() {
			continue
		}
		email := a.Addr()
		if email == "" {
			email = a.Mailbox // unqualified local part
		}
		out = append(out, Address{Name: a.Name, Email: email})
	}
	return out
}

// BodyPart is one node of a message's MIME tree (FETCH BODYSTRUCTURE).
type BodyPart struct {
	// Path is the IMAP part number for FetchSection: [] for the whole
	// message when it is multipart, [1] for a single-part message, [2 1]
	// for the first child of part 2. Parts inside a message/rfc822 part
	// continue its numbering.
	Path        []int
	Type        string // lower case, e.g. "text"
	Subtype     string // lower case, e.g. "plain"
	Params      map[string]string
	ID          string // Content-ID
	Description string
	Encoding    string // Content-Transfer-Encoding, lower case
	Size        uint32 // encoded size in octets
	Lines       int64  // text/* and message/rfc822 only

	Disposition       string // lower case: "inline", "attachment" or ""
	DispositionParams map[string]string
	Filename          string // decoded, from disposition or Content-Type name
	Language          []string
	Location          string

	Children []*BodyPart // multipart parts, or the body of message/rfc822
	Envelope *Envelope   // message/rfc822 only
}

// MIMEType is "type/subtype".
func (p *BodyPart) MIMEType() string { return p.Type + "/" + p.Subtype }

// Walk calls f for p and every part below it, depth first.
func (p *BodyPart) Walk(f func(*BodyPart)) {
	f(p)
	for _, c := range p.Children {
		c.Walk(f)
	}
}

// bodyFrom converts go-imap's tree. A top-level single part is part 1.
func bodyFrom(bs imapv2.BodyStructure) *BodyPart {
	if bs == nil {
		return nil
	}
	if _, ok := bs.(*imapv2.BodyStructureSinglePart); ok {
		return convertPart(bs, []int{1})
	}
	return convertPart(bs, nil)
}

func convertPart(bs imapv2.BodyStructure, path []int) *BodyPart {
	switch bs := bs.(type) {
	case *imapv2.BodyStructureMultiPart:
		p := &BodyPart{Path: path, Type: "multipart", Subtype: strings.ToLower(bs.Subtype)}
		if ext := bs.Extended; ext != nil {
			p.Params = ext.Params
			p.Language, p.Location = ext.Language, ext.Location
			setDisposition(p, ext.Disposition)
		}
		for i, c := range bs.Children {
			p.Children = append(p.Children, convertPart(c, childPath(path, i+1)))
		}
		return p
	case *imapv2.BodyStructureSinglePart:
		p := &BodyPart{
			Path:        path,
			Type:        strings.ToLower(bs.Type),
			Subtype:     strings.ToLower(bs.Subtype),
			Params:      bs.Params,
			ID:          bs.ID,
			Description: bs.Description,
			Encoding:    strings.ToLower(bs.Encoding),
			Size:        bs.Size,
			Filename:    bs.Filename(),
		}
		if bs.Text != nil {
			p.Lines = bs.Text.NumLines
		}
		if ext := bs.Extended; ext != nil {
			p.Language, p.Location = ext.Language, ext.Location
			setDisposition(p, ext.Disposition)
		}
		if m := bs.MessageRFC822; m != nil {
			p.Lines = m.NumLines
			p.Envelope = envelopeFrom(m.Envelope)
			switch inner := m.BodyStructure.(type) {
			case *imapv2.BodyStructureMultiPart:
				// The encapsulated multipart's children are path.1, path.2...
				c := convertPart(inner, path)
				p.Children = c.Children
			case *imapv2.BodyStructureSinglePart:
				p.Children = []*BodyPart{convertPart(inner, childPath(path, 1))}
			}
		}
		return p
	default:
		return nil
	}
}

func setDisposition(p *BodyPart, d *imapv2.BodyStructureDisposition) {
	if d == nil {
		return
	}
	p.Disposition = strings.ToLower(d.Value)
	p.DispositionParams = d.Params
}

func childPath(path []int, n int) []int {
	out := make([]int, len(path), len(path)+1)
	copy(out, path)
	return append(out, n)
}
