package directory

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"strings"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/accounts"
	"github.com/idlebridge/idlebridge/bridge/cardconv"
	"github.com/idlebridge/idlebridge/upstream/dav"
)

// serverLimit is how many cards a server-side query asks for; a GAL
// Search shows at most 100 (MS-ASCMD 2.2.3.145 Range), the rest only
// counts towards the total.
const serverLimit = 1000

// Properties a server-side query matches, and the smaller set for servers
// that cannot text-match structured values (Radicale 3.1.8 answers 500).
var (
	queryProps      = []string{"FN", "N", "EMAIL", "NICKNAME", "ORG"}
	queryPropsPlain = []string{"FN", "EMAIL", "NICKNAME"}
)

// SearchGAL implements activesync.GALSearcher.
func (s *Service) SearchGAL(ctx context.Context, acct activesync.Account, deviceID string, q *activesync.GALQuery) (*activesync.GALResult, error) {
	u, err := s.user(ctx, acct)
	if err != nil {
		return nil, err
	}
	books, err := s.galBooks(ctx, u)
	if err != nil {
		return nil, s.searchError(u, deviceID, "list address books", err)
	}
	recs, err := s.find(ctx, u, books, q.Text)
	if err != nil {
		return nil, s.searchError(u, deviceID, "search", err)
	}
	res := &activesync.GALResult{Total: len(recs)}
	lo, hi := max(q.RangeStart, 0), min(q.RangeEnd, len(recs)-1)
	if lo > hi {
		return res, nil
	}
	page := recs[lo : hi+1]
	for _, r := range page {
		res.Entries = append(res.Entries, r.entry)
	}
	if q.Picture {
		pics := s.pictures(ctx, u, page, q.MaxPictureSize, q.MaxPictures)
		for i := range res.Entries {
			res.Entries[i].Picture = pics[i]
		}
	}
	s.log.Debug("directory: GAL search", "user", u.Key, "device", deviceID, "books", len(books), "total", res.Total, "returned", len(res.Entries))
	return res, nil
}

// find returns the records of the books matching the query, in display
// order. A contact book that fails is logged and left out; the GAL book
// failing fails the search.
func (s *Service) find(ctx context.Context, u *User, books []book, text string) ([]*record, error) {
	ts := terms(text)
	if len(ts) == 0 || u.CardDAV == nil {
		return nil, nil
	}
	var out []*record
	var firstErr error
	ok := 0
	for _, b := range books {
		recs, err := s.findIn(ctx, u, b, text, ts)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			s.log.Warn("directory: address book not searched", "user", u.Key, "book", b.href, "error", err)
			if b.class == classGAL {
				return nil, err
			}
			continue
		}
		ok++
		out = append(out, recs...)
	}
	if ok == 0 && firstErr != nil {
		return nil, firstErr
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].sortKey < out[j].sortKey })
	return out, nil
}

// findIn searches one book the way the mode says (see the package doc).
func (s *Service) findIn(ctx context.Context, u *User, b book, text string, ts []string) ([]*record, error) {
	x := s.indexFor(u, b)
	mode := searchMode(u)
	local := func() ([]*record, error) {
		if err := x.refresh(ctx, u.CardDAV, s.opts.Fresh, s.opts.MaxCards, s.log); err != nil {
			return nil, err
		}
		return x.search(ts), nil
	}
	switch mode {
	case accounts.GALSearchLocal:
		recs, err := local()
		if !errors.Is(err, errTooLarge) {
			return recs, err
		}
		return s.serverQuery(ctx, u, b, ts, true)
	case accounts.GALSearchServer:
		return s.serverQuery(ctx, u, b, ts, true)
	}
	if x.warm() {
		recs, err := local()
		if err == nil {
			return recs, nil
		}
		s.log.Warn("directory: local copy not refreshed; asking the server", "user", u.Key, "book", b.href, "error", err)
	}
	// Cold: the server answers this search (a server that cannot match
	// the structured N and ORG is asked on the rest), and the local copy
	// is built behind it, so later searches match every field. Only a
	// server that cannot query at all makes the user wait for the copy.
	recs, err := s.serverQuery(ctx, u, b, ts, true)
	if err == nil {
		s.warmBehind(u, x)
		return recs, nil
	}
	if !serverCannotMatch(err) {
		return nil, err
	}
	s.log.Info("directory: server cannot text-match; searching a local copy", "user", u.Key, "book", b.href, "error", err)
	return local()
}

// serverQuery asks the server for the cards holding the longest term and
// keeps those that hold every term. With plain, a server that refuses the
// structured properties is asked again without them.
func (s *Service) serverQuery(ctx context.Context, u *User, b book, ts []string, plain bool) ([]*record, error) {
	longest := ts[0]
	for _, t := range ts[1:] {
		if len(t) > len(longest) {
			longest = t
		}
	}
	objs, _, err := u.CardDAV.QueryCards(ctx, b.href, longest, queryProps, serverLimit)
	if plain && serverCannotMatch(err) {
		objs, _, err = u.CardDAV.QueryCards(ctx, b.href, longest, queryPropsPlain, serverLimit)
	}
	if err != nil {
		return nil, err
	}
	var out []*record
	for _, o := range objs {
		r, err := parseRecord(o.Href, b.class, o.Data)
		if err != nil {
			s.log.Warn("directory: card skipped", "user", u.Key, "book", b.href, "href", o.Href, "error", err)
			continue
		}
		if r.matches(ts) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].sortKey < out[j].sortKey })
	return out, nil
}

// serverCannotMatch tells a server that does not do the query (a status
// about the request, or no multistatus) from one that is down or refuses
// the user.
func serverCannotMatch(err error) bool {
	if errors.Is(err, dav.ErrNotDAV) {
		return true
	}
	var se *dav.StatusError
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code {
	case http.StatusBadRequest, http.StatusForbidden, http.StatusMethodNotAllowed, http.StatusUnsupportedMediaType,
		http.StatusUnprocessableEntity, http.StatusInternalServerError, http.StatusNotImplemented:
		return true
	}
	return false
}

// pictures fetches the photos of the records shown, at most maxPictures of
// them (0: no bound), each re-encoded under maxSize bytes (0: the 48 KB
// contact limit): one multiget per book.
func (s *Service) pictures(ctx context.Context, u *User, recs []*record, maxSize, maxPictures int) []*activesync.GALPicture {
	out := make([]*activesync.GALPicture, len(recs))
	want := map[string][]int{} // book → indexes into recs
	var books []string
	n := 0
	for i, r := range recs {
		switch {
		case !r.hasPhoto:
			out[i] = &activesync.GALPicture{Status: activesync.PictureStatusNoPhoto}
		case maxPictures > 0 && n >= maxPictures:
			out[i] = &activesync.GALPicture{Status: activesync.PictureStatusMaxPictures}
		default:
			n++
			b := bookOf(r.href)
			if _, ok := want[b]; !ok {
				books = append(books, b)
			}
			want[b] = append(want[b], i)
		}
	}
	for _, b := range books {
		idx := want[b]
		hrefs := make([]string, len(idx))
		for j, i := range idx {
			hrefs[j] = recs[i].href
		}
		objs, _, err := u.CardDAV.MultiGet(ctx, b, dav.KindAddressBook, hrefs)
		if err != nil {
			s.log.Warn("directory: photos not fetched", "user", u.Key, "book", b, "error", err)
		}
		data := map[string][]byte{}
		for _, o := range objs {
			data[o.Href] = o.Data
		}
		for _, i := range idx {
			pic, has := cardconv.Photo(data[recs[i].href], maxSize)
			switch {
			case pic != nil:
				out[i] = &activesync.GALPicture{Status: activesync.PictureStatusOK, Data: pic}
			case has:
				out[i] = &activesync.GALPicture{Status: activesync.PictureStatusTooLarge}
			default:
				out[i] = &activesync.GALPicture{Status: activesync.PictureStatusNoPhoto}
			}
		}
	}
	return out
}

// bookOf is the collection an object href lies in.
func bookOf(href string) string {
	if i := strings.LastIndex(strings.TrimSuffix(href, "/"), "/"); i >= 0 {
		return href[:i+1]
	}
	return href
}

// searchError turns an upstream failure into a Search status, logged with
// the user and device.
func (s *Service) searchError(u *User, deviceID, op string, err error) error {
	status := activesync.SearchStatusServerError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		status = activesync.SearchStatusTimedOut
	case errors.Is(err, dav.ErrForbidden), errors.Is(err, dav.ErrUnauthorized):
		status = activesync.SearchStatusAccessDenied
	case errors.Is(err, dav.ErrUnavailable), errors.Is(err, dav.ErrRateLimited):
		status = activesync.SearchStatusConnectionFailed
	default:
		var se *dav.StatusError
		if !errors.As(err, &se) {
			status = activesync.SearchStatusConnectionFailed // transport: the server could not be reached
		}
	}
	s.log.Warn("directory: GAL "+op+" failed", "user", u.Key, "device", deviceID, "status", status, "error", err)
	return &activesync.Error{Status: activesync.Status(status), Command: true, Msg: "GAL " + op + " failed", Err: err}
}
