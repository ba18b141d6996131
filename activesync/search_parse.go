package activesync

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// Decoding of Search (MS-ASCMD 2.2.1.16) and Find (2.2.1.2) requests. The
// decoders never fail on what they do not know in another namespace, but
// a query they cannot read is a searchError with the Store status to
// answer, never a panic.

// Search limits. MS-ASCMD 2.2.3.143.3: a mailbox or GAL Search returns at
// most 100 results, 0-99 by default.
const (
	searchDefaultEnd = 99
	searchMaxResults = 100
	// maxQueryDepth and maxQueryTerms bound what a device can make the
	// server evaluate; deeper or larger queries are SearchTooComplex.
	maxQueryDepth = 6
	maxQueryTerms = 32
	// maxTermLen bounds one search term (a pasted essay is not a query).
	maxTermLen = 256
)

// searchError is a request the front answers with a Store (or Find
// Response) status rather than results.
type searchError struct {
	status int
	msg    string
}

func (e *searchError) Error() string { return "search: " + e.msg }

func badQuery(format string, args ...any) *searchError {
	return &searchError{status: SearchStatusProtocolError, msg: fmt.Sprintf(format, args...)}
}

func tooComplex(msg string) *searchError {
	return &searchError{status: SearchStatusTooComplex, msg: msg}
}

// parseRange reads "m-n" (zero-based, inclusive). An empty range is the
// default 0-99; a range wider than 100 results is cut to 100 (the
// specification's maximum) rather than refused, as a device asking for
// more than the server gives still gets a useful answer with the Total.
func parseRange(s string) (start, end int, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, searchDefaultEnd, nil
	}
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, badQuery("range %q is not m-n", s)
	}
	start, err1 := strconv.Atoi(a)
	end, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || start < 0 || end < start || end > 1<<20 {
		return 0, 0, badQuery("range %q is not m-n", s)
	}
	if end-start+1 > searchMaxResults {
		end = start + searchMaxResults - 1
	}
	return start, end, nil
}

// parseSearchDate reads the Value of GreaterThan/LessThan: an MS-ASDTYPE
// dateTime (2026-03-01T00:00:00.000Z), also without milliseconds or Z, or
// the Compact DateTime form some clients send.
func parseSearchDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s != "" && s[len(s)-1] != 'Z' && !strings.ContainsAny(s[max(len(s)-6, 0):], "+-") {
		s += "Z"
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z07:00", "20060102T150405Z", "2006-01-02Z"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// queryParser reads a mailbox query tree into a MailboxQuery.
type queryParser struct {
	q     *MailboxQuery
	terms int
}

// parseMailboxQuery reads the Query of a mailbox Search. The specification
// puts an And under Query; a Query holding the terms directly is read as
// that And, which is what lenient clients send.
func parseMailboxQuery(query *wbxml.Element, q *MailboxQuery) error {
	if query == nil {
		return badQuery("mailbox search without a Query")
	}
	p := &queryParser{q: q}
	return p.and(query, &q.Criteria, 0)
}

// and reads the children of an And (or of the Query) into c.
func (p *queryParser) and(e *wbxml.Element, c *MailboxCriteria, depth int) error {
	if depth > maxQueryDepth {
		return tooComplex("query nested too deep")
	}
	var sawGreater, sawLess bool
	for _, ch := range e.Children {
		p.terms++
		if p.terms > maxQueryTerms {
			return tooComplex("too many query terms")
		}
		switch {
		case ch.Is(wbxml.AirSync, "Class"):
			if cl := strings.TrimSpace(ch.Content()); cl != "" {
				p.q.Class = cl
			}
		case ch.Is(wbxml.AirSync, "CollectionId"):
			if depth > 0 && c != &p.q.Criteria {
				return tooComplex("CollectionId inside Or")
			}
			if id := strings.TrimSpace(ch.Content()); id != "" {
				p.q.CollectionIDs = append(p.q.CollectionIDs, id)
			}
		case ch.Is(wbxml.Search, "FreeText"):
			words, err := freeTextWords(ch.Content())
			if err != nil {
				return err
			}
			c.FreeText = append(c.FreeText, words...)
		case ch.Is(wbxml.Search, "And"):
			if err := p.and(ch, c, depth+1); err != nil {
				return err
			}
		case ch.Is(wbxml.Search, "Or"):
			alts, err := p.or(ch, depth+1)
			if err != nil {
				return err
			}
			c.Any = append(c.Any, alts...)
		case ch.Is(wbxml.Search, "GreaterThan"), ch.Is(wbxml.Search, "LessThan"):
			greater := ch.Name == "GreaterThan"
			if (greater && sawGreater) || (!greater && sawLess) {
				return badQuery("more than one %s", ch.Name)
			}
			t, err := dateComparison(ch)
			if err != nil {
				return err
			}
			if greater {
				sawGreater, c.ReceivedAfter = true, t
			} else {
				sawLess, c.ReceivedBefore = true, t
			}
		case ch.Is(wbxml.Search, "EqualTo"):
			if err := equalTo(ch, c); err != nil {
				return err
			}
		case ch.Is(wbxml.Search, "ConversationId"):
			if c != &p.q.Criteria || c.ConversationID != nil {
				// MS-ASCMD 2.2.3.35.2: only as a child of the And.
				return tooComplex("ConversationId outside the top And")
			}
			c.ConversationID = conversationIDBytes(ch)
		case ch.Space == wbxml.Search:
			return badQuery("unexpected %s in a mailbox query", ch.Name)
		}
	}
	return nil
}

// or reads the alternatives of an Or: each child is one alternative.
func (p *queryParser) or(e *wbxml.Element, depth int) ([]MailboxCriteria, error) {
	if depth > maxQueryDepth {
		return nil, tooComplex("query nested too deep")
	}
	var alts []MailboxCriteria
	for _, ch := range e.Children {
		var alt MailboxCriteria
		wrap := &wbxml.Element{Space: wbxml.Search, Name: "And", Children: []*wbxml.Element{ch}}
		if ch.Is(wbxml.Search, "And") {
			wrap = ch
		}
		if ch.Is(wbxml.AirSync, "Class") || ch.Is(wbxml.AirSync, "CollectionId") {
			// Not a condition on messages: read at the top.
			if err := p.and(&wbxml.Element{Children: []*wbxml.Element{ch}}, &p.q.Criteria, 0); err != nil {
				return nil, err
			}
			continue
		}
		if err := p.and(wrap, &alt, depth+1); err != nil {
			return nil, err
		}
		if !alt.empty() {
			alts = append(alts, alt)
		}
	}
	return alts, nil
}

func (c *MailboxCriteria) empty() bool {
	return len(c.FreeText) == 0 && len(c.From) == 0 && len(c.To) == 0 && len(c.Subject) == 0 &&
		c.ReceivedAfter.IsZero() && c.ReceivedBefore.IsZero() && c.ConversationID == nil && len(c.Any) == 0
}

// freeTextWords splits the search box's text into words, each of which
// must match (the way Exchange's keyword query treats them); a "quoted
// phrase" stays one term.
func freeTextWords(s string) ([]string, error) {
	var words []string
	for i, part := range strings.Split(s, `"`) {
		if i%2 == 1 { // inside quotes
			if p := strings.Join(strings.Fields(part), " "); p != "" {
				words = append(words, p)
			}
			continue
		}
		words = append(words, strings.Fields(part)...)
	}
	for _, w := range words {
		if len(w) > maxTermLen {
			return nil, badQuery("search term of %d bytes", len(w))
		}
	}
	if len(words) > maxQueryTerms {
		return nil, tooComplex("too many words")
	}
	return words, nil
}

// dateComparison reads GreaterThan/LessThan: email:DateReceived, then
// Value (MS-ASCMD 2.2.3.86, 2.2.3.96).
func dateComparison(e *wbxml.Element) (time.Time, error) {
	if !e.Has(wbxml.Email, "DateReceived") {
		return time.Time{}, badQuery("%s without email:DateReceived", e.Name)
	}
	v := e.Child(wbxml.Search, "Value")
	if v == nil {
		return time.Time{}, badQuery("%s without a Value", e.Name)
	}
	t, ok := parseSearchDate(v.Content())
	if !ok {
		return time.Time{}, badQuery("%s Value is not a date", e.Name)
	}
	return t, nil
}

// equalTo reads EqualTo on email:From, email:To or email:Subject with a
// Value. The specification defines EqualTo for the document library's
// LinkId only; mailbox clients that send it on a field mean "contains".
func equalTo(e *wbxml.Element, c *MailboxCriteria) error {
	v := strings.TrimSpace(e.ChildText(wbxml.Search, "Value"))
	if v == "" || len(v) > maxTermLen {
		return badQuery("EqualTo without a usable Value")
	}
	switch {
	case e.Has(wbxml.Email, "From"):
		c.From = append(c.From, v)
	case e.Has(wbxml.Email, "To"):
		c.To = append(c.To, v)
	case e.Has(wbxml.Email, "Subject"):
		c.Subject = append(c.Subject, v)
	default:
		return tooComplex("EqualTo on a property the mailbox search does not offer")
	}
	return nil
}

// conversationIDBytes reads Search:ConversationId. Sync sends the id as
// 16 opaque bytes; a device hands it back either as those bytes or as
// text (hex or base64 of them, or a GUID). Whatever does not decode to
// 16 bytes is kept as given and simply matches nothing.
func conversationIDBytes(e *wbxml.Element) []byte {
	if e.IsOpaque {
		return append([]byte{}, e.Opaque...)
	}
	s := strings.TrimSpace(e.Text)
	if b, err := hex.DecodeString(strings.Trim(strings.ReplaceAll(s, "-", ""), "{}")); err == nil && len(b) == 16 {
		return b
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == 16 {
		return b
	}
	return []byte(s)
}

// parseSearchOptions reads the Options of a mailbox Search into q.
func parseSearchOptions(o *wbxml.Element, ver Version, q *MailboxQuery) error {
	q.Options = SyncOptions{Version: ver, MIMETruncation: -1, Conflict: 1}
	q.RangeStart, q.RangeEnd = 0, searchDefaultEnd
	if o == nil {
		return nil
	}
	var err error
	if q.RangeStart, q.RangeEnd, err = parseRange(o.ChildText(wbxml.Search, "Range")); err != nil {
		return err
	}
	q.DeepTraversal = o.Has(wbxml.Search, "DeepTraversal")
	q.RebuildResults = o.Has(wbxml.Search, "RebuildResults")
	opts := parseOptions(o) // BodyPreference, MIMESupport, MIMETruncation
	opts.Version = ver
	opts.Class = ""
	q.Options = opts
	// RightsManagementSupport, UserName and Password (document library
	// credentials) are read and ignored: the bridge has no rights
	// management and no document library.
	return nil
}

// parseGALQuery reads a GAL Search's Query and Options.
func parseGALQuery(store *wbxml.Element) (*GALQuery, error) {
	q := &GALQuery{RangeEnd: searchDefaultEnd}
	text := strings.TrimSpace(store.ChildText(wbxml.Search, "Query"))
	if text == "" {
		return nil, badQuery("GAL search without query text")
	}
	if len(text) > maxTermLen {
		return nil, badQuery("GAL query of %d bytes", len(text))
	}
	q.Text = text
	o := store.Child(wbxml.Search, "Options")
	if o == nil {
		return q, nil
	}
	var err error
	if q.RangeStart, q.RangeEnd, err = parseRange(o.ChildText(wbxml.Search, "Range")); err != nil {
		return nil, err
	}
	if pic := o.Child(wbxml.Search, "Picture"); pic != nil {
		// iOS sends an empty <Picture/>: pictures wanted, no bounds.
		q.Picture = true
		q.MaxPictureSize = atoiBounded(pic.ChildText(wbxml.Search, "MaxSize"))
		q.MaxPictures = atoiBounded(pic.ChildText(wbxml.Search, "MaxPictures"))
	}
	return q, nil
}

// atoiBounded reads a non-negative count; anything else is 0 (no bound).
func atoiBounded(s string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return 0
	}
	return min(n, 1<<30)
}
