package imap

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	imapv2 "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Query is what SearchDated matches in the selected mailbox: every field
// that is set must match (AND). The server does the matching, so a server
// that indexes bodies (Dovecot's FTS plugins, for instance) answers Text
// from its index without this package doing anything different.
type Query struct {
	// Text terms must each appear somewhere in the header or body (TEXT).
	Text []string
	// Body terms must each appear in the body (BODY).
	Body []string
	// From, To and Subject terms must each appear in that header field.
	From, To, Subject []string
	// Since and Before bound the internal date by day (SINCE, BEFORE):
	// IMAP compares dates, not times, so callers wanting a precise bound
	// ask for the day around it and filter on DatedUID.InternalDate.
	Since, Before time.Time
	// Any: at least one of these must match as well (nested ORs). Empty
	// means no such condition.
	Any []Query
}

// ErrBadSearchTerm: a search term holds a line break or NUL, which no
// IMAP string can carry.
var ErrBadSearchTerm = errors.New("imap: search term with a line break or NUL")

// DatedUID is one match of SearchDated.
type DatedUID struct {
	UID          uint32
	InternalDate time.Time
}

// criteria converts q into go-imap's form; an empty query matches every
// message (SEARCH needs at least one key).
func (q Query) criteria() *imapv2.SearchCriteria {
	c := &imapv2.SearchCriteria{Since: q.Since, Before: q.Before}
	c.Text = slices.Clone(q.Text)
	c.Body = slices.Clone(q.Body)
	for _, f := range []struct {
		key   string
		terms []string
	}{{"From", q.From}, {"To", q.To}, {"Subject", q.Subject}} {
		for _, v := range f.terms {
			c.Header = append(c.Header, imapv2.SearchCriteriaHeaderField{Key: f.key, Value: v})
		}
	}
	if or := anyCriteria(q.Any); or != nil {
		c.And(or)
	}
	if isEmptyCriteria(c) {
		c.UID = []imapv2.UIDSet{{{Start: 1, Stop: 0}}}
	}
	return c
}

// anyCriteria folds alternatives into OR a (OR b c); nil when there are none.
func anyCriteria(alts []Query) *imapv2.SearchCriteria {
	switch len(alts) {
	case 0:
		return nil
	case 1:
		return alts[0].criteria()
	}
	return &imapv2.SearchCriteria{Or: [][2]imapv2.SearchCriteria{{*alts[0].criteria(), *anyCriteria(alts[1:])}}}
}

func isEmptyCriteria(c *imapv2.SearchCriteria) bool {
	return len(c.UID) == 0 && len(c.SeqNum) == 0 && c.Since.IsZero() && c.Before.IsZero() &&
		len(c.Header) == 0 && len(c.Body) == 0 && len(c.Text) == 0 && len(c.Or) == 0 && len(c.Not) == 0
}

// SearchDated returns the messages of the selected mailbox that match q,
// with their internal dates (for ordering and precise date bounds),
// sorted by UID. Two commands: UID SEARCH (with ESEARCH, RFC 4731, the
// answer is a compact range list rather than every number) and one UID
// FETCH of the matches' INTERNALDATE. SEARCHRES (RFC 5182) would let the
// FETCH name the saved result as "$" in the same round trip, but go-imap
// (v2 beta.8) cannot route the answers of a FETCH $ to the command, so it
// is not used.
func (s *Session) SearchDated(ctx context.Context, q Query) ([]DatedUID, error) {
	const op = "search"
	if err := s.requireSelected(op); err != nil {
		return nil, err
	}
	for _, terms := range [][]string{q.Text, q.Body, q.From, q.To, q.Subject} {
		for _, t := range terms {
			if strings.ContainsAny(t, "\r\n\x00") {
				return nil, ErrBadSearchTerm
			}
		}
	}
	var opts *imapv2.SearchOptions
	if s.caps.ESearch {
		opts = &imapv2.SearchOptions{ReturnAll: true}
	}
	var d *imapv2.SearchData
	err := s.do(ctx, op, 1, func() error {
		var err error
		d, err = s.client.UIDSearch(q.criteria(), opts).Wait()
		return err
	})
	if err != nil {
		return nil, err
	}
	uids := expandUIDs(d.All)
	if len(uids) == 0 {
		return nil, nil
	}
	var out []DatedUID
	err = s.fetchEach(ctx, "fetch dates", UIDs(uids...), &imapv2.FetchOptions{UID: true, InternalDate: true}, func(b *imapclient.FetchMessageBuffer) {
		out = append(out, DatedUID{UID: uint32(b.UID), InternalDate: b.InternalDate})
	})
	return dedupDated(out), err
}

// dedupDated drops repeated UIDs (a server may send a message twice when
// its flags change during the FETCH).
func dedupDated(in []DatedUID) []DatedUID {
	slices.SortFunc(in, func(a, b DatedUID) int { return cmpUID(a.UID, b.UID) })
	return slices.CompactFunc(in, func(a, b DatedUID) bool { return a.UID == b.UID })
}
