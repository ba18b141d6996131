package imap

import (
	"context"
	"slices"
	"time"

	imapv2 "github.com/emersion/go-imap/v2"
)

// SearchUIDs returns the sorted UIDs of the selected mailbox, all of them
// or those with an internal date on or after since's day (SEARCH SINCE
// compares dates only). One command; with ESEARCH the answer is a compact
// range list instead of every number.
func (s *Session) SearchUIDs(ctx context.Context, since time.Time) ([]uint32, error) {
	if err := s.requireSelected("search"); err != nil {
		return nil, err
	}
	criteria := &imapv2.SearchCriteria{}
	if !since.IsZero() {
		criteria.Since = since
	} else {
		criteria.UID = []imapv2.UIDSet{{{Start: 1, Stop: 0}}}
	}
	var opts *imapv2.SearchOptions
	if s.caps.ESearch {
		opts = &imapv2.SearchOptions{ReturnAll: true}
	}
	var d *imapv2.SearchData
	err := s.do(ctx, "search", 1, func() error {
		var err error
		d, err = s.client.UIDSearch(criteria, opts).Wait()
		return err
	})
	if err != nil {
		return nil, err
	}
	uids := expandUIDs(d.All)
	slices.Sort(uids)
	return slices.Compact(uids), nil
}
