package activesync

import (
	"context"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// findPreviewChars is the length of Find's Preview (MS-ASCMD 2.2.3.137:
// up to 255 characters of the text body).
const findPreviewChars = 255

// handleFind answers Find (MS-ASCMD 2.2.1.2, protocol 16.1): one mailbox
// or GAL query per request, run by the same back ends as Search. Mail
// results carry the Find properties (2.2.3.139.1) derived from the item
// the back end converts, which is asked for with a short plain-text body
// so the Preview costs no whole body.
func handleFind(ctx context.Context, c *call) (*wbxml.Element, error) {
	resp := wbxml.New(wbxml.Find, "Find")
	exec := c.req.Child(wbxml.Find, "ExecuteSearch")
	var (
		out *wbxml.Element
		err error
	)
	switch {
	case exec.Has(wbxml.Find, "MailBoxSearchCriterion"):
		out, err = findMailbox(ctx, c, exec.Child(wbxml.Find, "MailBoxSearchCriterion"))
	case exec.Has(wbxml.Find, "GalSearchCriterion"): // the code page's spelling (MS-ASWBXML 2.1.2.1.26)
		out, err = findGAL(ctx, c, exec.Child(wbxml.Find, "GalSearchCriterion"))
	default:
		err = badQuery("Find without a search criterion")
	}
	if err != nil {
		status, ok := searchStatusOf(err)
		if !ok {
			return nil, err
		}
		c.log.Info("find refused", "status", status, "reason", err.Error())
		resp.AddText(wbxml.Find, "Status", strconv.Itoa(findStatus(status)))
		return resp, nil
	}
	resp.AddText(wbxml.Find, "Status", strconv.Itoa(FindStatusOK))
	resp.Append(out)
	return resp, nil
}

// findStatus maps a Search store status onto Find's smaller table.
func findStatus(searchStatus int) int {
	switch searchStatus {
	case SearchStatusOK:
		return FindStatusOK
	case SearchStatusFolderSyncNeeded:
		return FindStatusFolderSyncNeeded
	default:
		return FindStatusInvalidRequest
	}
}

// findResponse starts Find's Response for a store.
func findResponse(store string) *wbxml.Element {
	out := wbxml.New(wbxml.Find, "Response")
	out.AddText(wbxml.ItemOperations, "Store", store)
	out.AddText(wbxml.Find, "Status", strconv.Itoa(FindStatusOK))
	return out
}

// parseFindRange reads Find's Options Range (same form as Search's).
func parseFindRange(opts *wbxml.Element) (int, int, error) {
	return parseRange(opts.ChildText(wbxml.Find, "Range"))
}

func findMailbox(ctx context.Context, c *call, crit *wbxml.Element) (*wbxml.Element, error) {
	be, ok := c.s.Backend.(MailboxSearcher)
	if !ok {
		return nil, &searchError{status: storeUnsupported, msg: "no mailbox search back end"}
	}
	query := crit.Child(wbxml.Find, "Query")
	if query == nil {
		return nil, badQuery("Find without a Query")
	}
	q := &MailboxQuery{Options: SyncOptions{
		Version: c.ver, MIMETruncation: -1, Conflict: 1,
		BodyPrefs: []BodyPreference{{Type: 1, TruncationSize: 4 * findPreviewChars}},
	}}
	for _, ch := range query.Children {
		switch {
		case ch.Is(wbxml.AirSync, "Class"):
			q.Class = strings.TrimSpace(ch.Content())
		case ch.Is(wbxml.AirSync, "CollectionId"):
			if id := strings.TrimSpace(ch.Content()); id != "" {
				q.CollectionIDs = append(q.CollectionIDs, id)
			}
		case ch.Is(wbxml.Find, "FreeText"):
			words, err := freeTextWords(ch.Content())
			if err != nil {
				return nil, err
			}
			q.Criteria.FreeText = append(q.Criteria.FreeText, words...)
		}
	}
	if len(q.Criteria.FreeText) > maxQueryTerms {
		return nil, tooComplex("too many words")
	}
	opts := crit.Child(wbxml.Find, "Options")
	var err error
	if q.RangeStart, q.RangeEnd, err = parseFindRange(opts); err != nil {
		return nil, err
	}
	q.DeepTraversal = opts.Has(wbxml.Find, "DeepTraversal")
	res, err := be.SearchMailbox(ctx, c.acct, c.q.DeviceID, q)
	if err != nil {
		return nil, err
	}
	out := findResponse("Mailbox")
	for _, h := range res.Hits {
		r := out.Add(wbxml.Find, "Result")
		r.AddText(wbxml.AirSync, "Class", classOr(h.Class))
		r.AddText(wbxml.AirSync, "ServerId", h.ServerID)
		r.AddText(wbxml.AirSync, "CollectionId", h.CollectionID)
		writeFindMailProperties(r.Add(wbxml.Find, "Properties"), h.Data)
	}
	writeRangeTotal(out, wbxml.Find, q.RangeStart, len(res.Hits), res.Total)
	c.log.Info("mailbox found", "folders", len(q.CollectionIDs), "deep", q.DeepTraversal,
		"results", len(res.Hits), "total", res.Total)
	return out, nil
}

// writeFindMailProperties derives Find's properties from an Email item's
// ApplicationData, in the order of MS-ASCMD 2.2.3.139.1.
func writeFindMailProperties(props *wbxml.Element, data *wbxml.Element) {
	if data == nil {
		return
	}
	copyText := func(space, name, outSpace, outName string) {
		if v := data.Child(space, name); v != nil {
			props.AddText(outSpace, outName, v.Content())
		}
	}
	copyText(wbxml.Email, "Subject", wbxml.Email, "Subject")
	copyText(wbxml.Email, "DateReceived", wbxml.Email, "DateReceived")
	copyText(wbxml.Email, "DisplayTo", wbxml.Email, "DisplayTo")
	copyText(wbxml.Email, "Cc", wbxml.Find, "DisplayCc")
	copyText(wbxml.Email2, "Bcc", wbxml.Find, "DisplayBcc")
	copyText(wbxml.Email, "Importance", wbxml.Email, "Importance")
	copyText(wbxml.Email, "Read", wbxml.Email, "Read")
	copyText(wbxml.Email2, "IsDraft", wbxml.Email2, "IsDraft")
	if p := previewOf(data); p != "" {
		props.AddText(wbxml.Find, "Preview", p)
	}
	has := "0"
	if len(data.Child(wbxml.AirSyncBase, "Attachments").All(wbxml.AirSyncBase, "Attachment")) > 0 {
		has = "1"
	}
	props.AddText(wbxml.Find, "HasAttachments", has)
	copyText(wbxml.Email, "From", wbxml.Email, "From")
}

// previewOf is the item's body preview, or the start of its plain-text
// body, on one line and at most findPreviewChars characters.
func previewOf(data *wbxml.Element) string {
	body := data.Child(wbxml.AirSyncBase, "Body")
	text := body.ChildText(wbxml.AirSyncBase, "Preview")
	if text == "" && body.ChildText(wbxml.AirSyncBase, "Type") == "1" {
		text = body.ChildText(wbxml.AirSyncBase, "Data")
	}
	text = strings.Join(strings.Fields(text), " ")
	if utf8.RuneCountInString(text) <= findPreviewChars {
		return text
	}
	n := 0
	for i := range text {
		if n == findPreviewChars {
			return text[:i]
		}
		n++
	}
	return text
}

func findGAL(ctx context.Context, c *call, crit *wbxml.Element) (*wbxml.Element, error) {
	be, ok := c.s.Backend.(GALSearcher)
	if !ok {
		return nil, &searchError{status: storeUnsupported, msg: "no directory back end"}
	}
	text := strings.TrimSpace(crit.ChildText(wbxml.Find, "Query"))
	if text == "" || len(text) > maxTermLen {
		return nil, badQuery("GAL Find without usable query text")
	}
	q := &GALQuery{Text: text}
	opts := crit.Child(wbxml.Find, "Options")
	var err error
	if q.RangeStart, q.RangeEnd, err = parseFindRange(opts); err != nil {
		return nil, err
	}
	if pic := opts.Child(wbxml.Find, "Picture"); pic != nil {
		q.Picture = true
		q.MaxPictureSize = atoiBounded(pic.ChildText(wbxml.Find, "MaxSize"))
		q.MaxPictures = atoiBounded(pic.ChildText(wbxml.Find, "MaxPictures"))
	}
	res, err := be.SearchGAL(ctx, c.acct, c.q.DeviceID, q)
	if err != nil {
		return nil, err
	}
	entries := clipEntries(res.Entries, q)
	out := findResponse("GAL")
	for i := range entries {
		r := out.Add(wbxml.Find, "Result")
		writeGALProperties(r.Add(wbxml.Find, "Properties"), &entries[i])
	}
	writeRangeTotal(out, wbxml.Find, q.RangeStart, len(entries), max(res.Total, len(entries)))
	c.log.Info("directory found", "results", len(entries), "total", res.Total, "pictures", q.Picture)
	return out, nil
}
