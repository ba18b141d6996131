package imap

import (
	"context"
	"fmt"
	"slices"
	"time"

	imapv2 "github.com/emersion/go-imap/v2"
)

// SearchUIDRange returns the sorted UIDs between from and to (inclusive)
// of the selected mailbox, all of them or only those with an internal date
// on or after since's day. It is SearchUIDs restricted to a UID range, for
// "which of the new messages are in the filter window": the answer then
// lists only the new arrivals instead of every message of the window.
// One command; to must not be below from.
func (s *Session) SearchUIDRange(ctx context.Context, from, to uint32, since time.Time) ([]uint32, error) {
	const op = "search range"
	if err := s.requireSelected(op); err != nil {
		return nil, err
	}
	if from == 0 || to < from {
		return nil, fmt.Errorf("imap %s: bad UID range %d:%d", op, from, to)
	}
	criteria := &imapv2.SearchCriteria{
		UID: []imapv2.UIDSet{{{Start: imapv2.UID(from), Stop: imapv2.UID(to)}}},
	}
	if !since.IsZero() {
		criteria.Since = since
	}
	var opts *imapv2.SearchOptions
	if s.caps.ESearch {
		opts = &imapv2.SearchOptions{ReturnAll: true}
	}
	var d *imapv2.SearchData
	err := s.do(ctx, op, 1, func() error {
		var err error
		d, err = s.client.UIDSearch(criteria, opts).Wait()
		return err
	})
	if err != nil {
		return nil, err
	}
	// Clipped to the range asked for, so a sloppy server cannot make the
	// caller act on UIDs it did not ask about.
	uids := slices.DeleteFunc(expandUIDs(d.All), func(u uint32) bool { return u < from || u > to })
	slices.Sort(uids)
	return slices.Compact(uids), nil
}
