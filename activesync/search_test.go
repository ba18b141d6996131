package activesync_test

import (
	"context"
	"io"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// searchBackend records the queries it gets and answers with canned hits.
type searchBackend struct {
	*fakeBackend
	mu      sync.Mutex
	mailbox []*activesync.MailboxQuery
	gal     []*activesync.GALQuery
	total   int
	hits    []activesync.MailboxHit
	entries []activesync.GALEntry
	err     error
	fetched [][2]string // collectionID, serverID of FetchItem calls
}

func (b *searchBackend) EmptyFolder(context.Context, activesync.Account, string, string, bool) error {
	return nil
}

func (b *searchBackend) SearchMailbox(ctx context.Context, acct activesync.Account, deviceID string, q *activesync.MailboxQuery) (*activesync.MailboxResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.mailbox = append(b.mailbox, q)
	if b.err != nil {
		return nil, b.err
	}
	return &activesync.MailboxResult{Total: b.total, Hits: b.hits}, nil
}

func (b *searchBackend) SearchGAL(ctx context.Context, acct activesync.Account, deviceID string, q *activesync.GALQuery) (*activesync.GALResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.gal = append(b.gal, q)
	if b.err != nil {
		return nil, b.err
	}
	return &activesync.GALResult{Total: b.total, Entries: b.entries}, nil
}

func (b *searchBackend) FetchItem(ctx context.Context, acct activesync.Account, deviceID, collectionID, serverID string, opts activesync.SyncOptions) (*wbxml.Element, error) {
	b.mu.Lock()
	b.fetched = append(b.fetched, [2]string{collectionID, serverID})
	b.mu.Unlock()
	d := wbxml.New(wbxml.AirSync, "ApplicationData")
	d.AddText(wbxml.Email, "Subject", "fetched "+serverID)
	return d, nil
}

func (b *searchBackend) OpenAttachment(context.Context, activesync.Account, string, string) (string, int64, io.ReadCloser, error) {
	return "", 0, nil, activesync.CommandStatus(activesync.ItemOpsStatusNotFound, "none")
}

func emailData(subject string, attachment bool) *wbxml.Element {
	d := wbxml.New(wbxml.AirSync, "ApplicationData")
	d.AddText(wbxml.Email, "To", "me@example.test")
	d.AddText(wbxml.Email, "Cc", "cc@example.test")
	d.AddText(wbxml.Email, "From", "Ann <ann@example.test>")
	d.AddText(wbxml.Email, "Subject", subject)
	d.AddText(wbxml.Email, "DateReceived", "2026-03-05T10:00:00.000Z")
	d.AddText(wbxml.Email, "DisplayTo", "Me")
	d.AddText(wbxml.Email, "Importance", "1")
	d.AddText(wbxml.Email, "Read", "0")
	body := d.Add(wbxml.AirSyncBase, "Body")
	body.AddText(wbxml.AirSyncBase, "Type", "1")
	body.AddText(wbxml.AirSyncBase, "Data", "Hello\r\n  there, "+strings.Repeat("long text ", 40))
	if attachment {
		atts := d.Add(wbxml.AirSyncBase, "Attachments")
		atts.Add(wbxml.AirSyncBase, "Attachment").AddText(wbxml.AirSyncBase, "DisplayName", "a.pdf")
	}
	return d
}

func newSearchFront(t *testing.T, version string) (*searchBackend, *client.Client) {
	t.Helper()
	be := &searchBackend{fakeBackend: newFakeBackend()}
	ts := httptest.NewServer((&activesync.Server{Backend: be}).Handler())
	t.Cleanup(ts.Close)
	c := &client.Client{BaseURL: ts.URL, User: "alice@example.com", Password: "secret", DeviceID: "search" + strings.ReplaceAll(version, ".", ""), Version: version}
	if _, err := c.Provision(context.Background()); err != nil {
		t.Fatal(err)
	}
	return be, c
}

// mailboxSearch builds a Search of the Mailbox store with the given And
// children and options.
func mailboxSearch(and []*wbxml.Element, opts ...*wbxml.Element) *wbxml.Element {
	req := wbxml.New(wbxml.Search, "Search")
	st := req.Add(wbxml.Search, "Store")
	st.AddText(wbxml.Search, "Name", "Mailbox")
	st.Add(wbxml.Search, "Query").Add(wbxml.Search, "And").Append(and...)
	if len(opts) > 0 {
		st.Add(wbxml.Search, "Options").Append(opts...)
	}
	return req
}

func text(space, name, v string) *wbxml.Element {
	return &wbxml.Element{Space: space, Name: name, Text: v}
}

func dateBound(name, v string) *wbxml.Element {
	e := wbxml.New(wbxml.Search, name)
	e.Add(wbxml.Email, "DateReceived")
	e.AddText(wbxml.Search, "Value", v)
	return e
}

func storeOf(t *testing.T, r *client.Response) *wbxml.Element {
	t.Helper()
	if r.Doc == nil || r.Doc.ChildText(wbxml.Search, "Status") != "1" {
		t.Fatalf("Search status: %v", r.Doc)
	}
	return r.Doc.Child(wbxml.Search, "Response").Child(wbxml.Search, "Store")
}

func TestSearchMailboxRequestAndAnswer(t *testing.T) {
	be, c := newSearchFront(t, "14.1")
	be.total = 5
	be.hits = []activesync.MailboxHit{
		{LongID: "7:12", CollectionID: "7", ServerID: "7:12", Class: "Email", Data: emailData("Quarterly report", false)},
		{LongID: "9:3", CollectionID: "9", ServerID: "9:3", Class: "Email", Data: emailData("Report draft", true)},
	}
	bp := wbxml.New(wbxml.AirSyncBase, "BodyPreference")
	bp.AddText(wbxml.AirSyncBase, "Type", "2")
	bp.AddText(wbxml.AirSyncBase, "TruncationSize", "5120")
	req := mailboxSearch([]*wbxml.Element{
		text(wbxml.AirSync, "Class", "Email"),
		text(wbxml.AirSync, "CollectionId", "7"),
		text(wbxml.Search, "FreeText", "  quarterly   report "),
		dateBound("GreaterThan", "2026-03-01T00:00:00.000Z"),
		dateBound("LessThan", "2026-03-31T23:59:59.000Z"),
	},
		text(wbxml.Search, "Range", "0-1"),
		wbxml.New(wbxml.Search, "DeepTraversal"),
		wbxml.New(wbxml.Search, "RebuildResults"),
		bp,
		text(wbxml.AirSync, "MIMESupport", "2"),
		text(wbxml.RightsManagement, "RightsManagementSupport", "1"),
		text(wbxml.Search, "UserName", "ignored"),
	)
	r, err := c.Do(context.Background(), "Search", req)
	if err != nil {
		t.Fatal(err)
	}
	if len(be.mailbox) != 1 {
		t.Fatalf("backend asked %d times", len(be.mailbox))
	}
	q := be.mailbox[0]
	want := activesync.MailboxCriteria{
		FreeText:       []string{"quarterly", "report"},
		ReceivedAfter:  time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
		ReceivedBefore: time.Date(2026, 3, 31, 23, 59, 59, 0, time.UTC),
	}
	if !slices.Equal(q.Criteria.FreeText, want.FreeText) || !q.Criteria.ReceivedAfter.Equal(want.ReceivedAfter) || !q.Criteria.ReceivedBefore.Equal(want.ReceivedBefore) {
		t.Errorf("criteria %+v, want %+v", q.Criteria, want)
	}
	if !slices.Equal(q.CollectionIDs, []string{"7"}) || q.Class != "Email" || !q.DeepTraversal || !q.RebuildResults ||
		q.RangeStart != 0 || q.RangeEnd != 1 || q.Options.Version != activesync.V141 || q.Options.MIMESupport != 2 ||
		len(q.Options.BodyPrefs) != 1 || q.Options.BodyPrefs[0].Type != 2 || q.Options.BodyPrefs[0].TruncationSize != 5120 {
		t.Errorf("query %+v", q)
	}
	st := storeOf(t, r)
	if st.ChildText(wbxml.Search, "Status") != "1" || st.ChildText(wbxml.Search, "Range") != "0-1" || st.ChildText(wbxml.Search, "Total") != "5" {
		t.Fatalf("store %s", st.XML())
	}
	results := st.All(wbxml.Search, "Result")
	if len(results) != 2 {
		t.Fatalf("%d results", len(results))
	}
	first := results[0]
	if first.ChildText(wbxml.AirSync, "Class") != "Email" || first.ChildText(wbxml.Search, "LongId") != "7:12" ||
		first.ChildText(wbxml.AirSync, "CollectionId") != "7" ||
		first.Child(wbxml.Search, "Properties").ChildText(wbxml.Email, "Subject") != "Quarterly report" {
		t.Errorf("first result %s", first.XML())
	}
	// Children in the order of MS-ASCMD 2.2.3.155.3.
	var names []string
	for _, ch := range first.Children {
		names = append(names, ch.Name)
	}
	if !slices.Equal(names, []string{"Class", "LongId", "CollectionId", "Properties"}) {
		t.Errorf("result children %v", names)
	}
}

func TestSearchMailboxQueryShapes(t *testing.T) {
	be, c := newSearchFront(t, "16.1")
	ctx := context.Background()
	or := wbxml.New(wbxml.Search, "Or")
	or.Append(text(wbxml.Search, "FreeText", "alpha"), text(wbxml.Search, "FreeText", "beta"))
	eq := wbxml.New(wbxml.Search, "EqualTo")
	eq.Add(wbxml.Email, "From")
	eq.AddText(wbxml.Search, "Value", "ann@example.test")
	conv := &wbxml.Element{Space: wbxml.Search, Name: "ConversationId", Opaque: []byte("0123456789abcdef"), IsOpaque: true}
	if _, err := c.Do(ctx, "Search", mailboxSearch([]*wbxml.Element{or, eq, conv})); err != nil {
		t.Fatal(err)
	}
	q := be.mailbox[0]
	if len(q.Criteria.Any) != 2 || q.Criteria.Any[0].FreeText[0] != "alpha" || q.Criteria.Any[1].FreeText[0] != "beta" ||
		!slices.Equal(q.Criteria.From, []string{"ann@example.test"}) || string(q.Criteria.ConversationID) != "0123456789abcdef" {
		t.Errorf("criteria %+v", q.Criteria)
	}
	if q.RangeStart != 0 || q.RangeEnd != 99 || len(q.CollectionIDs) != 0 {
		t.Errorf("defaults: range %d-%d, folders %v", q.RangeStart, q.RangeEnd, q.CollectionIDs)
	}
	// A quoted phrase stays one term.
	if _, err := c.Do(ctx, "Search", mailboxSearch([]*wbxml.Element{text(wbxml.Search, "FreeText", `budget "quarterly  report" 2026`)})); err != nil {
		t.Fatal(err)
	}
	if got := be.mailbox[len(be.mailbox)-1].Criteria.FreeText; !slices.Equal(got, []string{"budget", "quarterly report", "2026"}) {
		t.Errorf("phrase split into %q", got)
	}
	be.mailbox = be.mailbox[:1]
	// A range wider than 100 is cut to 100.
	if _, err := c.Do(ctx, "Search", mailboxSearch(nil, text(wbxml.Search, "Range", "10-500"))); err != nil {
		t.Fatal(err)
	}
	if q := be.mailbox[1]; q.RangeStart != 10 || q.RangeEnd != 109 {
		t.Errorf("wide range read as %d-%d", q.RangeStart, q.RangeEnd)
	}

	statusCases := []struct {
		name string
		req  *wbxml.Element
		want int
	}{
		{"conversation id inside Or", mailboxSearch([]*wbxml.Element{wrap("Or", conv)}), activesync.SearchStatusTooComplex},
		{"bad range", mailboxSearch(nil, text(wbxml.Search, "Range", "5-2")), activesync.SearchStatusProtocolError},
		{"date without DateReceived", mailboxSearch([]*wbxml.Element{wrap("GreaterThan", text(wbxml.Search, "Value", "2026-01-01T00:00:00.000Z"))}), activesync.SearchStatusProtocolError},
		{"date not a date", mailboxSearch([]*wbxml.Element{dateBound("LessThan", "yesterday")}), activesync.SearchStatusProtocolError},
		{"two GreaterThan", mailboxSearch([]*wbxml.Element{dateBound("GreaterThan", "2026-01-01T00:00:00Z"), dateBound("GreaterThan", "2026-02-01T00:00:00Z")}), activesync.SearchStatusProtocolError},
		{"too deep", mailboxSearch([]*wbxml.Element{nest(12)}), activesync.SearchStatusTooComplex},
		{"document library", storeNamed("DocumentLibrary"), activesync.SearchStatusAccessBlocked},
		{"unknown store", storeNamed("Public Folders"), activesync.SearchStatusProtocolError},
	}
	asked := len(be.mailbox)
	for _, sc := range statusCases {
		r, err := c.Do(ctx, "Search", sc.req)
		if err != nil {
			t.Fatalf("%s: %v", sc.name, err)
		}
		if got := storeOf(t, r).ChildText(wbxml.Search, "Status"); got != itoa(sc.want) {
			t.Errorf("%s: store status %s, want %d", sc.name, got, sc.want)
		}
	}
	if len(be.mailbox) != asked {
		t.Errorf("refused queries reached the backend")
	}

	// The backend's own status reaches the Store; no results is an empty
	// Result with Total 0.
	be.err = activesync.CommandStatus(activesync.SearchStatusFolderSyncNeeded, "unknown folder")
	r, _ := c.Do(ctx, "Search", mailboxSearch([]*wbxml.Element{text(wbxml.AirSync, "CollectionId", "404")}))
	if got := storeOf(t, r).ChildText(wbxml.Search, "Status"); got != "11" {
		t.Errorf("unknown folder: store status %s", got)
	}
	be.err = nil
	r, _ = c.Do(ctx, "Search", mailboxSearch(nil))
	st := storeOf(t, r)
	if res := st.All(wbxml.Search, "Result"); len(res) != 1 || len(res[0].Children) != 0 || st.ChildText(wbxml.Search, "Total") != "0" || st.Has(wbxml.Search, "Range") {
		t.Errorf("no results: %s", st.XML())
	}
	// No Store at all.
	r, err := c.Do(ctx, "Search", wbxml.New(wbxml.Search, "Search"))
	if err != nil || r.Doc.ChildText(wbxml.Search, "Status") != itoa(activesync.SearchStatusProtocolError) {
		t.Errorf("search without store: %v %v", r.Doc, err)
	}
}

func wrap(name string, children ...*wbxml.Element) *wbxml.Element {
	return wbxml.New(wbxml.Search, name).Append(children...)
}

func nest(n int) *wbxml.Element {
	e := text(wbxml.Search, "FreeText", "deep")
	for range n {
		e = wrap("And", e)
	}
	return e
}

func storeNamed(name string) *wbxml.Element {
	req := wbxml.New(wbxml.Search, "Search")
	st := req.Add(wbxml.Search, "Store")
	st.AddText(wbxml.Search, "Name", name)
	st.AddText(wbxml.Search, "Query", "x")
	return req
}

func itoa(n int) string { return strconv.Itoa(n) }

func galSearch(query string, opts ...*wbxml.Element) *wbxml.Element {
	req := wbxml.New(wbxml.Search, "Search")
	st := req.Add(wbxml.Search, "Store")
	st.AddText(wbxml.Search, "Name", "GAL")
	st.AddText(wbxml.Search, "Query", query)
	if len(opts) > 0 {
		st.Add(wbxml.Search, "Options").Append(opts...)
	}
	return req
}

func TestSearchGAL(t *testing.T) {
	be, c := newSearchFront(t, "14.1")
	ctx := context.Background()
	be.total = 3
	be.entries = []activesync.GALEntry{
		{DisplayName: "Ann Example", EmailAddress: "ann@example.test", FirstName: "Ann", Picture: &activesync.GALPicture{Status: activesync.PictureStatusOK, Data: []byte{0xff, 0xd8, 0x00}}},
		{DisplayName: "Annika", EmailAddress: "annika@example.test", Picture: &activesync.GALPicture{Status: activesync.PictureStatusNoPhoto}},
		{DisplayName: "Third one beyond the range"},
	}
	// iOS: an empty <Picture/>, no CollectionId.
	r, err := c.Do(ctx, "Search", galSearch("ann", text(wbxml.Search, "Range", "0-1"), wbxml.New(wbxml.Search, "Picture")))
	if err != nil {
		t.Fatal(err)
	}
	q := be.gal[0]
	if q.Text != "ann" || !q.Picture || q.MaxPictureSize != 0 || q.MaxPictures != 0 || q.RangeStart != 0 || q.RangeEnd != 1 {
		t.Errorf("GAL query %+v", q)
	}
	st := storeOf(t, r)
	res := st.All(wbxml.Search, "Result")
	if len(res) != 2 || st.ChildText(wbxml.Search, "Range") != "0-1" || st.ChildText(wbxml.Search, "Total") != "3" {
		t.Fatalf("GAL store %s", st.XML())
	}
	p := res[0].Child(wbxml.Search, "Properties")
	pic := p.Child(wbxml.GAL, "Picture")
	if p.ChildText(wbxml.GAL, "DisplayName") != "Ann Example" || p.ChildText(wbxml.GAL, "EmailAddress") != "ann@example.test" ||
		pic.ChildText(wbxml.GAL, "Status") != "1" || string(pic.Child(wbxml.GAL, "Data").Opaque) != "\xff\xd8\x00" || p.Has(wbxml.GAL, "Phone") {
		t.Errorf("first entry %s", p.XML())
	}
	if got := res[1].Child(wbxml.Search, "Properties").Child(wbxml.GAL, "Picture"); got.ChildText(wbxml.GAL, "Status") != "173" || got.Has(wbxml.GAL, "Data") {
		t.Errorf("second entry's picture %s", got.XML())
	}
	// MaxSize and MaxPictures reach the directory.
	pc := wbxml.New(wbxml.Search, "Picture")
	pc.AddText(wbxml.Search, "MaxSize", "40000")
	pc.AddText(wbxml.Search, "MaxPictures", "3")
	if _, err := c.Do(ctx, "Search", galSearch("bob", pc)); err != nil {
		t.Fatal(err)
	}
	if q := be.gal[1]; q.MaxPictureSize != 40000 || q.MaxPictures != 3 || q.RangeEnd != 99 {
		t.Errorf("GAL query %+v", q)
	}
	// An empty query is refused before the directory.
	r, _ = c.Do(ctx, "Search", galSearch(" "))
	if got := storeOf(t, r).ChildText(wbxml.Search, "Status"); got != "2" || len(be.gal) != 2 {
		t.Errorf("empty GAL query: status %s, %d queries", got, len(be.gal))
	}
}

// At 12.1 the GAL answer has no pictures (gal:Picture is 14.1+).
func TestSearchGALNoPictureBefore141(t *testing.T) {
	be, c := newSearchFront(t, "12.1")
	if _, err := c.Do(context.Background(), "Search", galSearch("ann", wbxml.New(wbxml.Search, "Picture"))); err != nil {
		t.Fatal(err)
	}
	if be.gal[0].Picture {
		t.Error("12.1 asked the directory for pictures")
	}
}

func TestFindMailboxAndGAL(t *testing.T) {
	be, c := newSearchFront(t, "16.1")
	ctx := context.Background()
	be.total = 7
	be.hits = []activesync.MailboxHit{{LongID: "7:12", CollectionID: "7", ServerID: "7:12", Class: "Email", Data: emailData("Quarterly report", true)}}
	req := wbxml.New(wbxml.Find, "Find")
	req.AddText(wbxml.Find, "SearchId", "9f3c4a52-0c1e-4d8e-9a55-1f6c1b2d3e4f")
	crit := req.Add(wbxml.Find, "ExecuteSearch").Add(wbxml.Find, "MailBoxSearchCriterion")
	query := crit.Add(wbxml.Find, "Query")
	query.AddText(wbxml.AirSync, "Class", "Email")
	query.AddText(wbxml.AirSync, "CollectionId", "7")
	query.AddText(wbxml.Find, "FreeText", "quarterly report")
	opts := crit.Add(wbxml.Find, "Options")
	opts.AddText(wbxml.Find, "Range", "0-4")
	opts.Add(wbxml.Find, "DeepTraversal")
	r, err := c.Do(ctx, "Find", req)
	if err != nil {
		t.Fatal(err)
	}
	q := be.mailbox[0]
	if !slices.Equal(q.Criteria.FreeText, []string{"quarterly", "report"}) || !slices.Equal(q.CollectionIDs, []string{"7"}) ||
		!q.DeepTraversal || q.RangeEnd != 4 || len(q.Options.BodyPrefs) != 1 || q.Options.BodyPrefs[0].Type != 1 {
		t.Errorf("Find query %+v", q)
	}
	if r.Doc.ChildText(wbxml.Find, "Status") != "1" {
		t.Fatalf("Find %s", r.Doc.XML())
	}
	resp := r.Doc.Child(wbxml.Find, "Response")
	if resp.ChildText(wbxml.ItemOperations, "Store") != "Mailbox" || resp.ChildText(wbxml.Find, "Status") != "1" ||
		resp.ChildText(wbxml.Find, "Range") != "0-0" || resp.ChildText(wbxml.Find, "Total") != "7" {
		t.Fatalf("Find response %s", resp.XML())
	}
	res := resp.Child(wbxml.Find, "Result")
	p := res.Child(wbxml.Find, "Properties")
	if res.ChildText(wbxml.AirSync, "ServerId") != "7:12" || res.ChildText(wbxml.AirSync, "CollectionId") != "7" ||
		p.ChildText(wbxml.Email, "Subject") != "Quarterly report" || p.ChildText(wbxml.Find, "DisplayCc") != "cc@example.test" ||
		p.ChildText(wbxml.Find, "HasAttachments") != "1" || p.ChildText(wbxml.Email, "From") != "Ann <ann@example.test>" ||
		p.Has(wbxml.AirSyncBase, "Body") {
		t.Errorf("Find result %s", res.XML())
	}
	preview := p.ChildText(wbxml.Find, "Preview")
	if !strings.HasPrefix(preview, "Hello there, long text") || len([]rune(preview)) != 255 || strings.ContainsAny(preview, "\r\n") {
		t.Errorf("preview %q (%d)", preview, len([]rune(preview)))
	}

	be.entries = []activesync.GALEntry{{DisplayName: "Ann Example", EmailAddress: "ann@example.test"}}
	be.total = 1
	greq := wbxml.New(wbxml.Find, "Find")
	greq.AddText(wbxml.Find, "SearchId", "9f3c4a52-0c1e-4d8e-9a55-1f6c1b2d3e40")
	g := greq.Add(wbxml.Find, "ExecuteSearch").Add(wbxml.Find, "GalSearchCriterion")
	g.AddText(wbxml.Find, "Query", "ann")
	gopts := g.Add(wbxml.Find, "Options")
	gopts.AddText(wbxml.Find, "Range", "0-9")
	gopts.Add(wbxml.Find, "Picture").AddText(wbxml.Find, "MaxPictures", "2")
	r, err = c.Do(ctx, "Find", greq)
	if err != nil {
		t.Fatal(err)
	}
	if q := be.gal[0]; q.Text != "ann" || !q.Picture || q.MaxPictures != 2 || q.RangeEnd != 9 {
		t.Errorf("GAL Find query %+v", q)
	}
	gresp := r.Doc.Child(wbxml.Find, "Response")
	if gresp.ChildText(wbxml.ItemOperations, "Store") != "GAL" ||
		gresp.Child(wbxml.Find, "Result").Child(wbxml.Find, "Properties").ChildText(wbxml.GAL, "EmailAddress") != "ann@example.test" {
		t.Errorf("GAL Find %s", r.Doc.XML())
	}

	// Without a criterion: Find status 2; the backend's FolderSync status: 3.
	bad := wbxml.New(wbxml.Find, "Find")
	bad.Add(wbxml.Find, "ExecuteSearch")
	if r, _ := c.Do(ctx, "Find", bad); r.Doc.ChildText(wbxml.Find, "Status") != "2" {
		t.Errorf("Find without criterion: %s", r.Doc.XML())
	}
	be.err = activesync.CommandStatus(activesync.SearchStatusFolderSyncNeeded, "unknown folder")
	if r, _ := c.Do(ctx, "Find", req); r.Doc.ChildText(wbxml.Find, "Status") != "3" {
		t.Errorf("Find of an unknown folder: %s", r.Doc.XML())
	}
}

// A Search result is fetched by its LongId alone.
func TestItemOperationsFetchByLongId(t *testing.T) {
	be, c := newSearchFront(t, "14.1")
	req := wbxml.New(wbxml.ItemOperations, "ItemOperations")
	f := req.Add(wbxml.ItemOperations, "Fetch")
	f.AddText(wbxml.ItemOperations, "Store", "Mailbox")
	f.AddText(wbxml.Search, "LongId", "7:12")
	r, err := c.Do(context.Background(), "ItemOperations", req)
	if err != nil {
		t.Fatal(err)
	}
	if len(be.fetched) != 1 || be.fetched[0] != [2]string{"", "7:12"} {
		t.Fatalf("FetchItem calls %v", be.fetched)
	}
	fe := r.Doc.Child(wbxml.ItemOperations, "Response").Child(wbxml.ItemOperations, "Fetch")
	if fe.ChildText(wbxml.ItemOperations, "Status") != "1" || fe.ChildText(wbxml.Search, "LongId") != "7:12" ||
		fe.Child(wbxml.ItemOperations, "Properties").ChildText(wbxml.Email, "Subject") != "fetched 7:12" {
		t.Errorf("fetch by LongId %s", fe.XML())
	}
}
