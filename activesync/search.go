package activesync

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

func searcher(b Backend) bool {
	_, mailbox := b.(MailboxSearcher)
	_, gal := b.(GALSearcher)
	return mailbox || gal
}

// storeUnsupported answers a Store the bridge does not offer: the
// document library (UNC and SharePoint shares have no counterpart in
// front of an IMAP provider), or a mailbox/GAL store whose back end is
// not configured. Status 13 tells the device that access to this store is
// blocked, which it shows as such instead of retrying (3 would ask for a
// retry, 2 would blame the device's request).
const storeUnsupported = SearchStatusAccessBlocked

// handleSearch answers Search (MS-ASCMD 2.2.1.16) for the stores Mailbox
// and GAL. Each Store of the request gets a Store in the answer with its
// own status; the Search status is 1 whenever the request could be read.
func handleSearch(ctx context.Context, c *call) (*wbxml.Element, error) {
	resp := wbxml.New(wbxml.Search, "Search")
	stores := c.req.All(wbxml.Search, "Store")
	if len(stores) == 0 {
		resp.AddText(wbxml.Search, "Status", strconv.Itoa(SearchStatusProtocolError))
		c.log.Info("search without a store")
		return resp, nil
	}
	resp.AddText(wbxml.Search, "Status", strconv.Itoa(SearchStatusOK))
	out := resp.Add(wbxml.Search, "Response")
	for _, st := range stores {
		el, err := searchStore(ctx, c, st)
		if err != nil {
			return nil, err
		}
		out.Append(el)
	}
	return resp, nil
}

// searchStore answers one Store.
func searchStore(ctx context.Context, c *call, st *wbxml.Element) (*wbxml.Element, error) {
	out := wbxml.New(wbxml.Search, "Store")
	name := strings.TrimSpace(st.ChildText(wbxml.Search, "Name"))
	var err error
	switch {
	case strings.EqualFold(name, "Mailbox"):
		err = searchMailboxStore(ctx, c, st, out)
	case strings.EqualFold(name, "GAL"):
		err = searchGALStore(ctx, c, st, out)
	case strings.EqualFold(name, "DocumentLibrary"):
		err = &searchError{status: storeUnsupported, msg: "no document library"}
	default:
		err = badQuery("unknown store %q", name)
	}
	if err == nil {
		return out, nil
	}
	status, ok := searchStatusOf(err)
	if !ok {
		return nil, err
	}
	c.log.Info("search refused", "store", name, "status", status, "reason", err.Error())
	return storeStatusOnly(status), nil
}

// searchStatusOf is the Store status of a parse error or a back end's
// CommandStatus.
func searchStatusOf(err error) (int, bool) {
	var se *searchError
	if errors.As(err, &se) {
		return se.status, true
	}
	return commandStatusOf(err)
}

func storeStatusOnly(status int) *wbxml.Element {
	out := wbxml.New(wbxml.Search, "Store")
	out.AddText(wbxml.Search, "Status", strconv.Itoa(status))
	return out
}

// searchMailboxStore runs a mailbox query and writes its Store.
func searchMailboxStore(ctx context.Context, c *call, st *wbxml.Element, out *wbxml.Element) error {
	be, ok := c.s.Backend.(MailboxSearcher)
	if !ok {
		return &searchError{status: storeUnsupported, msg: "no mailbox search back end"}
	}
	q := &MailboxQuery{}
	if err := parseSearchOptions(st.Child(wbxml.Search, "Options"), c.ver, q); err != nil {
		return err
	}
	if err := parseMailboxQuery(st.Child(wbxml.Search, "Query"), q); err != nil {
		return err
	}
	res, err := be.SearchMailbox(ctx, c.acct, c.q.DeviceID, q)
	if err != nil {
		return err
	}
	out.AddText(wbxml.Search, "Status", strconv.Itoa(SearchStatusOK))
	for _, h := range res.Hits {
		r := out.Add(wbxml.Search, "Result")
		r.AddText(wbxml.AirSync, "Class", classOr(h.Class))
		r.AddText(wbxml.Search, "LongId", h.LongID)
		r.AddText(wbxml.AirSync, "CollectionId", h.CollectionID)
		props := r.Add(wbxml.Search, "Properties")
		if h.Data != nil {
			props.Append(h.Data.Children...)
		}
	}
	writeRangeTotal(out, wbxml.Search, q.RangeStart, len(res.Hits), res.Total)
	c.log.Info("mailbox searched", "folders", len(q.CollectionIDs), "deep", q.DeepTraversal,
		"results", len(res.Hits), "total", res.Total)
	return nil
}

func classOr(class string) string {
	if class == "" {
		return "Email"
	}
	return class
}

// writeRangeTotal ends a Store (or Find Response): an empty Result when
// nothing is returned (MS-ASCMD 2.2.3.155.3), the Range of what is, and
// the Total that matched.
func writeRangeTotal(out *wbxml.Element, space string, start, n, total int) {
	if n == 0 {
		if space == wbxml.Search {
			out.Add(space, "Result")
		}
	} else {
		out.AddText(space, "Range", strconv.Itoa(start)+"-"+strconv.Itoa(start+n-1))
	}
	out.AddText(space, "Total", strconv.Itoa(total))
}

// searchGALStore runs a GAL query and writes its Store.
func searchGALStore(ctx context.Context, c *call, st *wbxml.Element, out *wbxml.Element) error {
	be, ok := c.s.Backend.(GALSearcher)
	if !ok {
		return &searchError{status: storeUnsupported, msg: "no directory back end"}
	}
	q, err := parseGALQuery(st)
	if err != nil {
		return err
	}
	if c.ver < V141 {
		q.Picture = false // gal:Picture is 14.1 and later (MS-ASCMD 2.2.3.135.3)
	}
	res, err := be.SearchGAL(ctx, c.acct, c.q.DeviceID, q)
	if err != nil {
		return err
	}
	entries := clipEntries(res.Entries, q)
	out.AddText(wbxml.Search, "Status", strconv.Itoa(SearchStatusOK))
	for i := range entries {
		r := out.Add(wbxml.Search, "Result")
		writeGALProperties(r.Add(wbxml.Search, "Properties"), &entries[i])
	}
	writeRangeTotal(out, wbxml.Search, q.RangeStart, len(entries), max(res.Total, len(entries)))
	c.log.Info("directory searched", "results", len(entries), "total", res.Total, "pictures", q.Picture)
	return nil
}

// clipEntries keeps at most the asked range's worth of entries, whatever
// the back end returned.
func clipEntries(entries []GALEntry, q *GALQuery) []GALEntry {
	if n := q.RangeEnd - q.RangeStart + 1; len(entries) > n {
		return entries[:n]
	}
	return entries
}

// writeGALProperties writes an entry's gal: properties in the code page's
// order, leaving out empty ones.
func writeGALProperties(props *wbxml.Element, e *GALEntry) {
	for _, f := range []struct{ name, value string }{
		{"DisplayName", e.DisplayName}, {"Phone", e.Phone}, {"Office", e.Office},
		{"Title", e.Title}, {"Company", e.Company}, {"Alias", e.Alias},
		{"FirstName", e.FirstName}, {"LastName", e.LastName}, {"HomePhone", e.HomePhone},
		{"MobilePhone", e.MobilePhone}, {"EmailAddress", e.EmailAddress},
	} {
		if f.value != "" {
			props.AddText(wbxml.GAL, f.name, f.value)
		}
	}
	if p := e.Picture; p != nil {
		pic := props.Add(wbxml.GAL, "Picture")
		status := p.Status
		if status == 0 {
			status = PictureStatusNoPhoto
		}
		pic.AddText(wbxml.GAL, "Status", strconv.Itoa(status))
		if status == PictureStatusOK && len(p.Data) > 0 {
			pic.AddOpaque(wbxml.GAL, "Data", p.Data)
		}
	}
}
