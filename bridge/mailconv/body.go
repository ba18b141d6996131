package mailconv

import (
	"strings"

	"github.com/idlebridge/idlebridge/activesync/items"
)

// bodyRequest is one body format we may answer with, normalised from a
// BodyPreference or from the 12.1 MIMESupport/MIMETruncation pair.
type bodyRequest struct {
	typ       int
	limit     int64 // bytes; -1 = no truncation
	allOrNone bool
	preview   int
}

// bodySource renders the message in each body type on demand, once.
type bodySource struct {
	raw      []byte
	meta     Meta
	c        *content
	plain    *string
	html     *string
	mimeData *string
}

func (s *bodySource) plainText() string {
	if s.plain == nil {
		t := s.c.plainText()
		s.plain = &t
	}
	return *s.plain
}

func (s *bodySource) render(typ int) string {
	switch typ {
	case BodyHTML:
		if s.html == nil {
			t := s.c.htmlText()
			s.html = &t
		}
		return *s.html
	case BodyMIME:
		if s.mimeData == nil {
			// STR_I cannot carry NUL; every other byte is kept for the
			// device's MIME parser (see package doc).
			t := strings.ReplaceAll(string(s.raw), "\x00", "")
			s.mimeData = &t
		}
		return *s.mimeData
	default:
		return s.plainText()
	}
}

// fullSize estimates the size of the complete data of a body type when raw
// is only a prefix of the message.
func (s *bodySource) fullSize(typ int, have int) int64 {
	n := int64(have)
	if !s.meta.Truncated {
		return n
	}
	if typ == BodyMIME && s.meta.Size > n {
		return s.meta.Size
	}
	if missing := s.meta.Size - int64(len(s.raw)); missing > 0 {
		return n + missing
	}
	return n
}

// bodyRequests turns Options into the ordered list of formats to try.
func bodyRequests(opts Options, smime bool) []bodyRequest {
	legacyMIME := func() bodyRequest {
		r := bodyRequest{typ: BodyMIME, limit: -1}
		// MIMETruncation is a 12.x element; 14+ clients truncate through
		// BodyPreference, so a zero value there must not mean "truncate all".
		if size, ok := mimeTruncationSize(opts.MIMETruncation); ok && opts.Version < 140 {
			r.limit = size
		}
		return r
	}
	var reqs []bodyRequest
	for _, p := range opts.BodyPrefs {
		limit := int64(-1)
		if p.TruncationSize > 0 {
			limit = p.TruncationSize
		}
		reqs = append(reqs, bodyRequest{typ: p.Type, limit: limit, allOrNone: p.AllOrNone && limit >= 0, preview: p.Preview})
	}
	// MS-ASCMD 2.2.3.110.3: MIMESupport 1 = S/MIME messages as MIME, 2 = all.
	// An S/MIME message is unreadable in any other form, so MIME goes first.
	if smime && opts.MIMESupport >= 1 {
		for i, r := range reqs {
			if r.typ == BodyMIME {
				return append([]bodyRequest{r}, append(reqs[:i:i], reqs[i+1:]...)...)
			}
		}
		return append([]bodyRequest{legacyMIME()}, reqs...)
	}
	if len(reqs) == 0 && opts.MIMESupport == 2 {
		return []bodyRequest{legacyMIME()} // 12.1 client without BodyPreference
	}
	if !smime && opts.MIMESupport == 1 {
		kept := reqs[:0:0]
		for _, r := range reqs {
			if r.typ != BodyMIME {
				kept = append(kept, r)
			}
		}
		reqs = kept
	}
	return reqs
}

// chooseBody builds AirSyncBase:Body (MS-ASAIRS 2.2.2.9) following the
// selection rules of MS-ASAIRS 3.2.5.1: the first preference the message
// satisfies in the device's order; a preference with AllOrNone whose data
// exceeds its TruncationSize yields to the next one.
func chooseBody(src *bodySource, reqs []bodyRequest, version int) *items.EmailBody {
	native := func(r bodyRequest) bool {
		switch r.typ {
		case BodyPlain, BodyRTF, BodyMIME:
			return true
		case BodyHTML:
			return src.c.html != nil
		}
		return false
	}
	converted := func(r bodyRequest) bool { return r.typ == BodyHTML }
	var skipped *bodyRequest // last AllOrNone preference that was too large
	for _, accept := range []func(bodyRequest) bool{native, converted} {
		for i := range reqs {
			r := reqs[i]
			if !accept(r) {
				continue
			}
			data := src.render(r.typ)
			if r.allOrNone && int64(len(data)) > r.limit {
				skipped = &reqs[i]
				continue
			}
			return bodyElement(src, r, data, false, version)
		}
	}
	if skipped != nil {
		return bodyElement(src, *skipped, src.render(skipped.typ), true, version)
	}
	// Nothing requested that we can serve (or no BodyPreference at all):
	// whole plain text.
	return bodyElement(src, bodyRequest{typ: BodyPlain, limit: -1}, src.render(BodyPlain), false, version)
}

// bodyElement builds the Body for data in request r; omit sends no Data
// (AllOrNone not satisfiable).
func bodyElement(src *bodySource, r bodyRequest, data string, omit bool, version int) *items.EmailBody {
	typ := r.typ
	if typ == BodyRTF {
		typ = BodyPlain // we have no RTF; MS-ASAIRS lets the server answer with another type
	}
	b := &items.EmailBody{Type: typ, EstimatedDataSize: src.fullSize(r.typ, len(data)), Truncated: src.meta.Truncated}
	if !omit && r.limit >= 0 && int64(len(data)) > r.limit {
		data = truncateUTF8(data, int(min(r.limit, int64(len(data)))))
		b.Truncated = true
	}
	if omit {
		b.Truncated = true
	} else {
		b.Data = &data
	}
	if version >= 140 && r.preview > 0 {
		b.Preview = preview(src.plainText(), r.preview)
	}
	return b
}
