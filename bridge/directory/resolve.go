package directory

import (
	"context"
	"errors"
	"net/mail"
	"strings"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/upstream/dav"
)

// ResolveRecipients implements activesync.RecipientResolver: each To is
// an address (looked up exactly among the emails of the GAL and the user's
// contacts) or a name (searched as in SearchGAL). Candidates are merged by
// address, a GAL entry winning over a contact; a name that exactly equals
// one candidate's display name resolves to it.
func (s *Service) ResolveRecipients(ctx context.Context, acct activesync.Account, deviceID string, q *activesync.RecipientQuery) ([]activesync.RecipientResult, error) {
	u, err := s.user(ctx, acct)
	if err != nil {
		return nil, err
	}
	books, err := s.resolveBooks(ctx, u)
	if err != nil {
		return nil, s.resolveError(u, deviceID, err)
	}
	out := make([]activesync.RecipientResult, len(q.To))
	for i, to := range q.To {
		cands, err := s.candidates(ctx, u, books, to)
		if err != nil {
			return nil, s.resolveError(u, deviceID, err)
		}
		res := &out[i]
		switch {
		case len(cands) == 0:
			res.Status = activesync.RecipientStatusUnresolved
			continue
		case len(cands) == 1:
			res.Status = activesync.RecipientStatusResolved
		default:
			res.Status = activesync.RecipientStatusAmbiguous
			res.Total = len(cands)
			if len(cands) > q.MaxAmbiguous {
				// No more than the front shows is worth a photo.
				cands = cands[:max(q.MaxAmbiguous, 0)]
			}
		}
		s.fill(ctx, u, q, res, cands)
	}
	return out, nil
}

// resolveBooks: the GAL first, then the user's own books.
func (s *Service) resolveBooks(ctx context.Context, u *User) ([]book, error) {
	var books []book
	if u.GAL.Configured() {
		books = append(books, book{href: u.GAL.AddressBook, class: classGAL})
	}
	own, err := s.contactBooks(ctx, u)
	if err != nil {
		if len(books) == 0 {
			return nil, err
		}
		s.log.Warn("directory: the user's address books are not searched", "user", u.Key, "error", err)
	}
	return append(books, own...), nil
}

// candidate is one recipient the To may mean.
type candidate struct {
	rec  *record // nil for the user's own address, found in no book
	name string
	addr string
	self bool
}

func (s *Service) candidates(ctx context.Context, u *User, books []book, to string) ([]candidate, error) {
	if addr, ok := parseAddress(to); ok {
		for _, own := range u.Addresses {
			if strings.EqualFold(own, addr) {
				return []candidate{{name: u.DisplayName, addr: strings.ToLower(own), self: true}}, nil
			}
		}
		recs, err := s.find(ctx, u, books, addr)
		if err != nil {
			return nil, err
		}
		for _, class := range []bookClass{classGAL, classContacts} {
			for _, r := range recs {
				if r.class == class && r.hasEmail(addr) {
					return []candidate{{rec: r, name: r.entry.DisplayName, addr: addr}}, nil
				}
			}
		}
		return nil, nil
	}
	recs, err := s.find(ctx, u, books, to)
	if err != nil {
		return nil, err
	}
	// GAL first, then by display order; one candidate per address.
	var cands []candidate
	seen := map[string]int{}
	for _, class := range []bookClass{classGAL, classContacts} {
		for _, r := range recs {
			addr := strings.ToLower(r.entry.EmailAddress)
			if r.class != class || addr == "" {
				continue // a card without an address is no recipient
			}
			if _, dup := seen[addr]; dup {
				continue
			}
			seen[addr] = len(cands)
			cands = append(cands, candidate{rec: r, name: r.entry.DisplayName, addr: addr})
		}
	}
	if len(cands) > 1 {
		exact := -1
		for i, c := range cands {
			if strings.EqualFold(strings.TrimSpace(c.name), strings.TrimSpace(to)) {
				if exact >= 0 {
					exact = -1
					break
				}
				exact = i
			}
		}
		if exact >= 0 {
			return cands[exact : exact+1], nil
		}
	}
	return cands, nil
}

// parseAddress takes "a@b", "<a@b>" and "Name <a@b>".
func parseAddress(to string) (string, bool) {
	if !strings.Contains(to, "@") {
		return "", false
	}
	a, err := mail.ParseAddress(to)
	if err != nil {
		return "", false
	}
	return strings.ToLower(a.Address), true
}

// fill turns candidates into Recipients with what was asked.
func (s *Service) fill(ctx context.Context, u *User, q *activesync.RecipientQuery, res *activesync.RecipientResult, cands []candidate) {
	var recs []*record
	var at []int
	for i, c := range cands {
		rc := activesync.Recipient{Type: activesync.RecipientTypeGAL, DisplayName: c.name, EmailAddress: c.addr}
		if rc.DisplayName == "" {
			rc.DisplayName = c.addr
		}
		if c.rec != nil {
			if c.rec.class == classContacts {
				rc.Type = activesync.RecipientTypeContact
			}
			if q.Certificates != activesync.CertificatesNotWanted {
				rc.Certificates = c.rec.certs
			}
			recs, at = append(recs, c.rec), append(at, i)
		}
		if q.Availability && res.Status == activesync.RecipientStatusResolved {
			rc.Availability = s.availability(ctx, u, c, q.Start, q.End)
		}
		res.Recipients = append(res.Recipients, rc)
	}
	if q.Picture {
		for i := range res.Recipients {
			res.Recipients[i].Picture = &activesync.GALPicture{Status: activesync.PictureStatusNoPhoto}
		}
		pics := s.pictures(ctx, u, recs, q.MaxPictureSize, q.MaxPictures)
		for j, i := range at {
			res.Recipients[i].Picture = pics[j]
		}
	}
}

// availability is the recipient's free/busy: the user's own from a
// free-busy-query on each of their calendars; someone else's from the
// free/busy file their card publishes (FBURL), fetched with the user's
// credentials only when it is on the user's own DAV server. Nobody
// else's calendars are visible to the bridge (RFC 6638 scheduling is not
// used), so anyone else is "not available".
func (s *Service) availability(ctx context.Context, u *User, c candidate, start, end time.Time) *activesync.Availability {
	na := &activesync.Availability{Status: activesync.AvailabilityStatusNotAvailable}
	if !c.self {
		return s.publishedAvailability(ctx, u, c, start, end)
	}
	if u.CalDAV == nil {
		return na
	}
	d, err := u.CalDAV.Discover(ctx)
	if err != nil || d.CalendarHome == "" {
		s.log.Warn("directory: no calendars for availability", "user", u.Key, "error", err)
		return retryOr(err, na)
	}
	cals, err := u.CalDAV.Calendars(ctx, d.CalendarHome)
	if err != nil {
		s.log.Warn("directory: calendars not listed for availability", "user", u.Key, "error", err)
		return retryOr(err, na)
	}
	var periods []busy
	answered := 0
	for _, cal := range cals {
		if !cal.Supports("VEVENT") {
			continue
		}
		data, err := u.CalDAV.FreeBusy(ctx, cal.Href, start, end)
		if err != nil {
			if errors.Is(err, dav.ErrNoFreeBusy) || errors.Is(err, dav.ErrForbidden) || errors.Is(err, dav.ErrNotFound) {
				s.log.Debug("directory: calendar gives no free/busy", "user", u.Key, "calendar", cal.Href, "error", err)
				continue
			}
			s.log.Warn("directory: free/busy failed", "user", u.Key, "calendar", cal.Href, "error", err)
			return retryOr(err, na)
		}
		p, err := parseFreeBusy(data)
		if err != nil {
			s.log.Warn("directory: free/busy unreadable", "user", u.Key, "calendar", cal.Href, "error", err)
			continue
		}
		periods = append(periods, p...)
		answered++
	}
	if answered == 0 {
		return na
	}
	return &activesync.Availability{Status: activesync.AvailabilityStatusOK, MergedFreeBusy: mergedFreeBusy(periods, start, end)}
}

// publishedAvailability reads a recipient's FBURL (RFC 6350 6.9.1): a
// VFREEBUSY file (RFC 5545 3.6.4) served, as Nextcloud, SOGo and DAViCal
// do, beside the calendars. It is asked through the user's CalDAV client
// (else the CardDAV one) and only on that client's server: the user's
// password goes nowhere else, and an FBURL elsewhere is not available.
func (s *Service) publishedAvailability(ctx context.Context, u *User, c candidate, start, end time.Time) *activesync.Availability {
	na := &activesync.Availability{Status: activesync.AvailabilityStatusNotAvailable}
	if c.rec == nil || c.rec.fbURL == "" {
		return na
	}
	for _, cl := range []*dav.Client{u.CalDAV, u.CardDAV} {
		if cl == nil || !cl.SameOrigin(c.rec.fbURL) {
			continue
		}
		data, err := cl.PublishedFreeBusy(ctx, c.rec.fbURL)
		if err != nil {
			if errors.Is(err, dav.ErrNoFreeBusy) || errors.Is(err, dav.ErrForbidden) || errors.Is(err, dav.ErrNotFound) {
				s.log.Debug("directory: published free/busy not there", "user", u.Key, "recipient", c.addr, "error", err)
				return na
			}
			s.log.Warn("directory: published free/busy failed", "user", u.Key, "recipient", c.addr, "error", err)
			return retryOr(err, na)
		}
		p, err := parseFreeBusy(data)
		if err != nil {
			s.log.Warn("directory: published free/busy unreadable", "user", u.Key, "recipient", c.addr, "error", err)
			return na
		}
		return &activesync.Availability{Status: activesync.AvailabilityStatusOK, MergedFreeBusy: mergedFreeBusy(p, start, end)}
	}
	s.log.Debug("directory: free/busy published on another server; not fetched", "user", u.Key, "recipient", c.addr)
	return na
}

// retryOr: a transient failure (transport, 5xx, timeout) is worth asking
// again (Status 162); anything else is not.
func retryOr(err error, na *activesync.Availability) *activesync.Availability {
	if err == nil {
		return na
	}
	var se *dav.StatusError
	if errors.As(err, &se) && se.Code < 500 && se.Code != 429 {
		return na
	}
	return &activesync.Availability{Status: activesync.AvailabilityStatusRetry}
}

func (s *Service) resolveError(u *User, deviceID string, err error) error {
	s.log.Warn("directory: ResolveRecipients failed", "user", u.Key, "device", deviceID, "error", err)
	return &activesync.Error{Status: activesync.ResolveStatusServerError, Command: true, Msg: "recipients not resolved", Err: err}
}
