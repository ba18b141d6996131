package mail

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/foldermap"
	"github.com/idlebridge/idlebridge/bridge/login"
	"github.com/idlebridge/idlebridge/bridge/mailconv"
	"github.com/idlebridge/idlebridge/bridge/mailid"
	"github.com/idlebridge/idlebridge/bridge/outage"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

// Mailbox Search and Find over IMAP SEARCH (MS-ASCMD 2.2.1.16, 2.2.1.2).
//
// A result's LongId is its Sync ServerId, "<folderID>:<UID>": stable for
// as long as the message stays in its folder, no longer than the 256
// characters a device keeps, and it resolves with no state wherever an
// item ID does — ItemOperations Fetch (FetchItem), SmartReply/
// SmartForward (Sender.fetchOriginal) and MoveItems (SrcMsgId).
//
// Result sets are not cached: every Search runs the query again, so
// RebuildResults changes nothing and a device paging through ranges sees
// the mailbox as it is at each request.

var _ activesync.MailboxSearcher = (*Engine)(nil)

// SearchDefaultBody is the plain-text body a result carries when the
// device asked for no body preference.
const SearchDefaultBody = 5120

// searchCandidate is one match before the range is cut.
type searchCandidate struct {
	folder  *searchFolder
	uid     uint32
	date    time.Time
	ordinal int // the folder's position, for a stable order on equal dates
}

// searchFolder is one mailbox a query covers.
type searchFolder struct {
	id, mailbox string
}

// SearchMailbox implements activesync.MailboxSearcher: the query runs in
// each covered folder (UID SEARCH and the matches' dates), the matches of
// all folders are ordered newest first, the range is cut, and only the
// messages in the range are fetched and converted as Sync converts them.
func (m *Engine) SearchMailbox(ctx context.Context, a activesync.Account, deviceID string, q *activesync.MailboxQuery) (*activesync.MailboxResult, error) {
	acct, err := login.Of(a)
	if err != nil {
		return nil, err
	}
	res := &activesync.MailboxResult{}
	if q.Class != "" && !strings.EqualFold(q.Class, "Email") {
		return res, nil // only mail lives in IMAP folders
	}
	user := acct.Address()
	log := m.log.With("user", user, "device", deviceID)
	fm, err := m.loadFolderMap(ctx, user)
	if err != nil {
		return nil, outage.Store(err)
	}
	mailIDs := make([]string, 0, len(q.CollectionIDs))
	for _, id := range q.CollectionIDs {
		_, mail := fm.ByID[id]
		_, other := fm.Refs[id]
		switch {
		case mail:
			mailIDs = append(mailIDs, id)
		case !other:
			return nil, activesync.CommandStatus(activesync.SearchStatusFolderSyncNeeded, "unknown folder "+id)
		}
	}
	if len(q.CollectionIDs) > 0 && len(mailIDs) == 0 {
		return res, nil // only calendar, contacts or tasks folders: no mail in them
	}
	q = &activesync.MailboxQuery{CollectionIDs: mailIDs, DeepTraversal: q.DeepTraversal, Class: q.Class,
		Criteria: q.Criteria, RangeStart: q.RangeStart, RangeEnd: q.RangeEnd, RebuildResults: q.RebuildResults, Options: q.Options}
	iq := imapQuery(q.Criteria)
	o := q.Options
	if o.Version == 0 {
		o.Version = activesync.V141 // callers outside the front: the richest answer
	}
	if len(o.BodyPrefs) == 0 && o.MIMESupport != 2 {
		// No body asked for: a result list needs a glimpse, not up to 100
		// whole messages.
		o.BodyPrefs = []activesync.BodyPreference{{Type: 1, TruncationSize: SearchDefaultBody}}
	}
	opts := convOptions(o.Version, o)
	var commands int64
	err = m.withSession(ctx, acct, "Search", func(s *imap.Session) error {
		start := s.Stats().Commands
		defer func() { commands = s.Stats().Commands - start }()
		folders, err := m.searchScope(ctx, s, fm, q)
		if err != nil {
			return err
		}
		cands, err := m.searchCandidates(ctx, s, folders, iq, q.Criteria)
		if err != nil {
			return err
		}
		if q.Criteria.ConversationID != nil {
			if cands, err = m.inConversation(ctx, s, cands, q.Criteria.ConversationID); err != nil {
				return err
			}
		}
		res.Total = len(cands)
		if q.RangeStart >= len(cands) {
			return nil
		}
		window := cands[q.RangeStart:min(q.RangeEnd+1, len(cands))]
		res.Hits, err = m.searchHits(ctx, s, window, opts)
		return err
	})
	if errors.Is(err, imap.ErrBadSearchTerm) {
		return nil, activesync.CommandStatus(activesync.SearchStatusProtocolError, "search term cannot be sent to IMAP")
	}
	if err != nil {
		log.Warn("mailbox search failed", "err", err)
		return nil, err
	}
	log.Debug("mailbox search", "folders", len(q.CollectionIDs), "deep", q.DeepTraversal,
		"total", res.Total, "returned", len(res.Hits), "imap_commands", commands)
	return res, nil
}

// searchScope lists the folders a query covers: the named ones, with
// DeepTraversal their subfolders too, or every selectable folder the
// device knows when none is named. Only the named folders without
// DeepTraversal cost no LIST.
func (m *Engine) searchScope(ctx context.Context, s *imap.Session, fm *foldermap.Map, q *activesync.MailboxQuery) ([]*searchFolder, error) {
	if len(q.CollectionIDs) > 0 && !q.DeepTraversal {
		out := make([]*searchFolder, 0, len(q.CollectionIDs))
		seen := map[string]bool{}
		for _, id := range q.CollectionIDs {
			if !seen[id] {
				seen[id] = true
				out = append(out, &searchFolder{id: id, mailbox: fm.ByID[id]})
			}
		}
		return out, nil
	}
	listed, err := s.ListFolders(ctx)
	if err != nil {
		return nil, err
	}
	roots := make([]string, 0, len(q.CollectionIDs))
	for _, id := range q.CollectionIDs {
		roots = append(roots, fm.ByID[id])
	}
	var out []*searchFolder
	for _, f := range listed {
		id, ok := fm.ByName[f.Name]
		if !ok || f.NoSelect {
			continue // not known to the device (no FolderSync yet), or a container
		}
		if len(roots) > 0 && !slices.ContainsFunc(roots, func(r string) bool { return underOrAt(f, r) }) {
			continue
		}
		out = append(out, &searchFolder{id: id, mailbox: f.Name})
	}
	slices.SortFunc(out, func(a, b *searchFolder) int {
		if idLess(a.id, b.id) {
			return -1
		}
		if idLess(b.id, a.id) {
			return 1
		}
		return 0
	})
	return out, nil
}

// underOrAt reports whether f is the mailbox root or below it.
func underOrAt(f imap.Folder, root string) bool {
	if f.Name == root {
		return true
	}
	return f.Delimiter != 0 && strings.HasPrefix(f.Name, root+string(f.Delimiter))
}

// imapQuery maps the device's criteria onto an IMAP query. Dates are
// widened to whole days around the bound (SEARCH compares dates only, in
// the server's idea of each message's time zone); the caller filters the
// top-level bounds precisely on the internal dates.
func imapQuery(c activesync.MailboxCriteria) imap.Query {
	q := imap.Query{Text: c.FreeText, From: c.From, To: c.To, Subject: c.Subject}
	if !c.ReceivedAfter.IsZero() {
		q.Since = c.ReceivedAfter.UTC().Truncate(24*time.Hour).AddDate(0, 0, -1)
	}
	if !c.ReceivedBefore.IsZero() {
		q.Before = c.ReceivedBefore.UTC().Truncate(24*time.Hour).AddDate(0, 0, 2)
	}
	for _, alt := range c.Any {
		q.Any = append(q.Any, imapQuery(alt))
	}
	return q
}

// searchCandidates runs the query in every folder and returns the matches
// within the precise date bounds, newest first. A folder that cannot be
// selected (deleted meanwhile, no permission) is skipped and logged.
func (m *Engine) searchCandidates(ctx context.Context, s *imap.Session, folders []*searchFolder, q imap.Query, c activesync.MailboxCriteria) ([]searchCandidate, error) {
	var out []searchCandidate
	for i, f := range folders {
		st, err := s.Select(ctx, f.mailbox, true)
		if err != nil {
			if isServerNo(err) {
				m.log.Info("search: folder skipped", "folder", f.id, "err", err)
				continue
			}
			return nil, err
		}
		if st.Messages == 0 {
			continue // nothing to search: no SEARCH sent
		}
		matches, err := s.SearchDated(ctx, q)
		if err != nil {
			if isServerNo(err) {
				// The server refused this query (a charset it lacks, a
				// criterion it does not offer): the device is told so.
				return nil, activesync.CommandStatus(activesync.SearchStatusTooComplex, "the provider refused the search")
			}
			return nil, err
		}
		for _, d := range matches {
			if !c.ReceivedAfter.IsZero() && !d.InternalDate.After(c.ReceivedAfter) {
				continue
			}
			if !c.ReceivedBefore.IsZero() && !d.InternalDate.Before(c.ReceivedBefore) {
				continue
			}
			out = append(out, searchCandidate{folder: f, uid: d.UID, date: d.InternalDate, ordinal: i})
		}
	}
	slices.SortFunc(out, func(a, b searchCandidate) int {
		if c := b.date.Compare(a.date); c != 0 {
			return c
		}
		if c := cmp.Compare(a.ordinal, b.ordinal); c != 0 {
			return c
		}
		return cmp.Compare(b.uid, a.uid)
	})
	return out, nil
}

// searchHits fetches and converts the messages of the range, one folder
// at a time, and returns them in the range's order. A message expunged
// since the search is left out.
func (m *Engine) searchHits(ctx context.Context, s *imap.Session, window []searchCandidate, opts mailconv.Options) ([]activesync.MailboxHit, error) {
	byFolder := map[*searchFolder][]uint32{}
	var order []*searchFolder
	for _, c := range window {
		if _, ok := byFolder[c.folder]; !ok {
			order = append(order, c.folder)
		}
		byFolder[c.folder] = append(byFolder[c.folder], c.uid)
	}
	converted := map[string]activesync.MailboxHit{}
	for _, f := range order {
		if s.Selected() != f.mailbox {
			if _, err := s.Select(ctx, f.mailbox, true); err != nil {
				if isServerNo(err) {
					continue
				}
				return nil, err
			}
		}
		fr, err := m.fetchItems(ctx, s, f.id, byFolder[f], opts, 0, true)
		if err != nil {
			return nil, err
		}
		for _, it := range fr.items {
			converted[it.id] = activesync.MailboxHit{LongID: it.id, CollectionID: f.id, ServerID: it.id, Class: "Email", Data: it.data}
		}
	}
	hits := make([]activesync.MailboxHit, 0, len(window))
	for _, c := range window {
		if h, ok := converted[mailid.Item(c.folder.id, c.uid)]; ok {
			hits = append(hits, h)
		}
	}
	return hits, nil
}

// inConversation keeps the candidates whose Email2:ConversationId is
// conv. The id is derived from headers (mailconv.ConversationID), not
// stored, so the conversation headers of the candidates are fetched, one
// command per folder; the rest of the query narrows them first.
func (m *Engine) inConversation(ctx context.Context, s *imap.Session, cands []searchCandidate, conv []byte) ([]searchCandidate, error) {
	byFolder := map[*searchFolder][]uint32{}
	for _, c := range cands {
		byFolder[c.folder] = append(byFolder[c.folder], c.uid)
	}
	keep := map[string]bool{}
	for f, uids := range byFolder {
		if s.Selected() != f.mailbox {
			if _, err := s.Select(ctx, f.mailbox, true); err != nil {
				if isServerNo(err) {
					continue
				}
				return nil, err
			}
		}
		headers, err := s.FetchHeaderFields(ctx, imap.UIDs(uids...), mailconv.ConversationHeaders)
		if err != nil {
			return nil, err
		}
		for uid, h := range headers {
			if bytes.Equal(mailconv.ConversationID(h), conv) {
				keep[mailid.Item(f.id, uid)] = true
			}
		}
	}
	return slices.DeleteFunc(cands, func(c searchCandidate) bool { return !keep[mailid.Item(c.folder.id, c.uid)] }), nil
}
