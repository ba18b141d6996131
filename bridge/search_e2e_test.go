package bridge_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/bridge/mailconv"
	"github.com/idlebridge/idlebridge/internal/bridgetest"
	"github.com/idlebridge/idlebridge/internal/testenv"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

// searchMail is one message of the search fixture.
type searchMail struct {
	mailbox, from, subject, body string
	day, hour                    int // March 2026, UTC
	extraHeader                  string
}

// searchFixture is what the Search tests find, spread over INBOX, Work
// and a subfolder of Work, none of it synced by the device beforehand.
var searchFixture = []searchMail{
	{"INBOX", "alice@example.test", "Budget review 1", "first numbers", 1, 10, ""},
	{"INBOX", "bob@example.test", "Budget review 2", "second numbers", 2, 10, ""},
	{"INBOX", "carol@example.test", "Lunch", "we talk about the budget later", 3, 10, ""},
	{"INBOX", "bob@example.test", "Budget review 4", "fourth numbers", 4, 10, ""},
	{"INBOX", "bob@example.test", "Budget review 5", "fifth numbers", 5, 10, "Message-ID: <budget5@example.test>\r\n"},
	{"INBOX", "dave@example.test", "Holiday", "beach", 6, 10, "Message-ID: <holiday@example.test>\r\n"},
	{"Work", "alice@example.test", "Budget in Work", "work numbers", 7, 10, ""},
	{"Work", "erin@example.test", "Other work", "nothing to see", 8, 10, ""},
	{"Work/Deep", "frank@example.test", "Budget deep down", "deep numbers", 9, 10, ""},
	{"INBOX", "me@example.test", "Re: Holiday", "sounds good", 10, 10, "Message-ID: <re-holiday@example.test>\r\nIn-Reply-To: <holiday@example.test>\r\nReferences: <holiday@example.test>\r\n"},
}

func (m searchMail) raw() []byte {
	hdr := m.extraHeader
	if !strings.Contains(hdr, "Message-ID") {
		hdr += fmt.Sprintf("Message-ID: <s%d-%d@example.test>\r\n", m.day, time.Now().UnixNano())
	}
	return []byte("From: " + m.from + "\r\nTo: me@example.test\r\nSubject: " + m.subject + "\r\n" +
		"Date: " + m.date().Format(time.RFC1123Z) + "\r\n" + hdr +
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + m.body + "\r\n")
}

func (m searchMail) date() time.Time { return time.Date(2026, 3, m.day, m.hour, 0, 0, 0, time.UTC) }

// startSearchEnv appends the fixture (Work/Deep named with the server's
// delimiter) and returns the environment and the upstream session.
func startSearchEnv(t *testing.T) (*bridgetest.Env, *imap.Session) {
	t.Helper()
	ctx := context.Background()
	e := bridgetest.Start(t, bridgetest.Options{})
	up := e.IMAP(t)
	delim := "/"
	if fs, err := up.ListFolders(ctx); err == nil && len(fs) > 0 && fs[0].Delimiter != 0 {
		delim = string(fs[0].Delimiter)
	}
	for _, name := range []string{"Work", "Work" + delim + "Deep"} {
		if err := up.CreateFolder(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range searchFixture {
		raw := m.raw()
		box := strings.ReplaceAll(m.mailbox, "/", delim)
		if _, err := up.Append(ctx, box, nil, m.date(), bytes.NewReader(raw), int64(len(raw))); err != nil {
			t.Fatal(err)
		}
	}
	return e, up
}

// searchFolders runs FolderSync and returns the IDs of INBOX, Work, Work's
// subfolder and Trash.
func searchFolders(t *testing.T, dev *client.Client) (inbox, work, deep, trash string) {
	t.Helper()
	fs, err := dev.FolderSync(context.Background(), "0")
	if err != nil || fs.Status != "1" {
		t.Fatalf("FolderSync: %v %+v", err, fs)
	}
	for _, f := range fs.Add {
		switch {
		case f.Type == 2:
			inbox = f.ServerID
		case f.Type == 4:
			trash = f.ServerID
		case f.DisplayName == "Work" && f.ParentID == "0":
			work = f.ServerID
		case f.DisplayName == "Deep":
			deep = f.ServerID
		}
	}
	if inbox == "" || work == "" || deep == "" || trash == "" {
		t.Fatalf("folders: %+v", fs.Add)
	}
	return inbox, work, deep, trash
}

// searchRequest is a mailbox Search of the And terms with the options.
func searchRequest(and []*wbxml.Element, opts ...*wbxml.Element) *wbxml.Element {
	req := wbxml.New(wbxml.Search, "Search")
	st := req.Add(wbxml.Search, "Store")
	st.AddText(wbxml.Search, "Name", "Mailbox")
	a := st.Add(wbxml.Search, "Query").Add(wbxml.Search, "And")
	a.AddText(wbxml.AirSync, "Class", "Email")
	a.Append(and...)
	bp := wbxml.New(wbxml.AirSyncBase, "BodyPreference")
	bp.AddText(wbxml.AirSyncBase, "Type", "1")
	bp.AddText(wbxml.AirSyncBase, "TruncationSize", "200")
	st.Add(wbxml.Search, "Options").Append(append(opts, bp)...)
	return req
}

func el(space, name, text string) *wbxml.Element {
	return &wbxml.Element{Space: space, Name: name, Text: text}
}

func received(name string, t time.Time) *wbxml.Element {
	e := wbxml.New(wbxml.Search, name)
	e.Add(wbxml.Email, "DateReceived")
	e.AddText(wbxml.Search, "Value", t.UTC().Format("2006-01-02T15:04:05.000Z"))
	return e
}

// searchAnswer is a Store of a Search answer, read.
type searchAnswer struct {
	status, rangeText string
	total             string
	longIDs, subjects []string
	collections       []string
	results           []*wbxml.Element
}

func runSearch(t *testing.T, dev *client.Client, req *wbxml.Element) searchAnswer {
	t.Helper()
	r, err := dev.Do(context.Background(), "Search", req)
	if err != nil {
		t.Fatal(err)
	}
	if r.Doc.ChildText(wbxml.Search, "Status") != "1" {
		t.Fatalf("Search status: %s", r.Doc.XML())
	}
	st := r.Doc.Child(wbxml.Search, "Response").Child(wbxml.Search, "Store")
	a := searchAnswer{status: st.ChildText(wbxml.Search, "Status"), rangeText: st.ChildText(wbxml.Search, "Range"), total: st.ChildText(wbxml.Search, "Total")}
	for _, res := range st.All(wbxml.Search, "Result") {
		if len(res.Children) == 0 {
			continue
		}
		a.results = append(a.results, res)
		a.longIDs = append(a.longIDs, res.ChildText(wbxml.Search, "LongId"))
		a.collections = append(a.collections, res.ChildText(wbxml.AirSync, "CollectionId"))
		a.subjects = append(a.subjects, res.Child(wbxml.Search, "Properties").ChildText(wbxml.Email, "Subject"))
	}
	return a
}

func TestMailboxSearchThroughTheFront(t *testing.T) {
	sinkAddr, maildir := testenv.SMTP(t)
	_ = sinkAddr // bridgetest configures the user's SMTP from the same environment
	e, up := startSearchEnv(t)
	dev := e.Device(t, "searcher", "14.1")
	inbox, work, deep, trash := searchFolders(t, dev)
	ctx := context.Background()

	// Free text in one folder, newest first, Range 0-1 of 5 with Total 5
	// (the body match "Lunch" included).
	a := runSearch(t, dev, searchRequest([]*wbxml.Element{el(wbxml.AirSync, "CollectionId", inbox), el(wbxml.Search, "FreeText", "budget")},
		el(wbxml.Search, "Range", "0-1")))
	if a.status != "1" || a.total != "5" || a.rangeText != "0-1" || !slices.Equal(a.subjects, []string{"Budget review 5", "Budget review 4"}) {
		t.Fatalf("free text, range 0-1: %+v", a)
	}
	for i, id := range a.longIDs {
		if !strings.HasPrefix(id, inbox+":") || a.collections[i] != inbox {
			t.Errorf("result %d: LongId %q in %q", i, id, a.collections[i])
		}
	}
	body := a.results[0].Child(wbxml.Search, "Properties").Child(wbxml.AirSyncBase, "Body")
	if body.ChildText(wbxml.AirSyncBase, "Type") != "1" || !strings.Contains(body.ChildText(wbxml.AirSyncBase, "Data"), "fifth numbers") {
		t.Errorf("result body %s", body.XML())
	}
	budget5 := a.longIDs[0]
	// The next page.
	if a := runSearch(t, dev, searchRequest([]*wbxml.Element{el(wbxml.AirSync, "CollectionId", inbox), el(wbxml.Search, "FreeText", "budget")},
		el(wbxml.Search, "Range", "2-4"))); a.total != "5" || a.rangeText != "2-4" ||
		!slices.Equal(a.subjects, []string{"Lunch", "Budget review 2", "Budget review 1"}) {
		t.Errorf("range 2-4: %+v", a)
	}

	// A quoted phrase: "budget review" is not in the Lunch mail.
	if a := runSearch(t, dev, searchRequest([]*wbxml.Element{el(wbxml.AirSync, "CollectionId", inbox), el(wbxml.Search, "FreeText", `"budget review"`)})); a.total != "4" ||
		slices.Contains(a.subjects, "Lunch") {
		t.Errorf("phrase: %+v", a)
	}

	// From, over every folder (no CollectionId).
	eq := wbxml.New(wbxml.Search, "EqualTo")
	eq.Add(wbxml.Email, "From")
	eq.AddText(wbxml.Search, "Value", "alice@example.test")
	if a := runSearch(t, dev, searchRequest([]*wbxml.Element{eq})); a.total != "2" ||
		!slices.Equal(a.subjects, []string{"Budget in Work", "Budget review 1"}) || a.collections[0] != work {
		t.Errorf("from alice everywhere: %+v", a)
	}
	// The sender's address as free text finds the same.
	if a := runSearch(t, dev, searchRequest([]*wbxml.Element{el(wbxml.Search, "FreeText", "alice@example.test")})); a.total != "2" {
		t.Errorf("free text address: %+v", a)
	}

	// Date range, precise to the hour: 1 March 10:00 is before 12:00 the
	// same day, 4 March 10:00 is before 12:00 and so inside.
	if a := runSearch(t, dev, searchRequest([]*wbxml.Element{el(wbxml.AirSync, "CollectionId", inbox),
		received("GreaterThan", time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)),
		received("LessThan", time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC))})); a.total != "3" ||
		!slices.Equal(a.subjects, []string{"Budget review 4", "Lunch", "Budget review 2"}) {
		t.Errorf("date range: %+v", a)
	}

	// DeepTraversal: Work and its subfolder; without it, Work alone.
	if a := runSearch(t, dev, searchRequest([]*wbxml.Element{el(wbxml.AirSync, "CollectionId", work), el(wbxml.Search, "FreeText", "budget")},
		wbxml.New(wbxml.Search, "DeepTraversal"))); a.total != "2" ||
		!slices.Equal(a.subjects, []string{"Budget deep down", "Budget in Work"}) || a.collections[0] != deep {
		t.Errorf("deep traversal: %+v", a)
	}
	if a := runSearch(t, dev, searchRequest([]*wbxml.Element{el(wbxml.AirSync, "CollectionId", work), el(wbxml.Search, "FreeText", "budget")})); a.total != "1" {
		t.Errorf("Work alone: %+v", a)
	}
	// Everything: seven budget messages in three folders.
	if a := runSearch(t, dev, searchRequest([]*wbxml.Element{el(wbxml.Search, "FreeText", "budget")}, el(wbxml.Search, "RebuildResults", ""))); a.total != "7" || len(a.subjects) != 7 ||
		a.subjects[0] != "Budget deep down" || a.subjects[6] != "Budget review 1" {
		t.Errorf("all folders: %+v", a)
	}
	// A conversation: the Holiday mail and the reply that references it.
	conv := mailconv.ConversationID([]byte("Message-ID: <holiday@example.test>\r\nSubject: Holiday\r\n\r\n"))
	if a := runSearch(t, dev, searchRequest([]*wbxml.Element{{Space: wbxml.Search, Name: "ConversationId", Opaque: conv, IsOpaque: true}})); a.total != "2" ||
		!slices.Equal(a.subjects, []string{"Re: Holiday", "Holiday"}) {
		t.Errorf("conversation: %+v", a)
	}
	// Nothing found; an unknown folder.
	if a := runSearch(t, dev, searchRequest([]*wbxml.Element{el(wbxml.Search, "FreeText", "zebra-crossing")})); a.status != "1" || a.total != "0" || len(a.results) != 0 {
		t.Errorf("no match: %+v", a)
	}
	if a := runSearch(t, dev, searchRequest([]*wbxml.Element{el(wbxml.AirSync, "CollectionId", "999")})); a.status != "11" {
		t.Errorf("unknown folder: %+v", a)
	}

	// The LongId opens the result with ItemOperations ...
	fetch := wbxml.New(wbxml.ItemOperations, "ItemOperations")
	f := fetch.Add(wbxml.ItemOperations, "Fetch")
	f.AddText(wbxml.ItemOperations, "Store", "Mailbox")
	f.AddText(wbxml.Search, "LongId", budget5)
	fo := f.Add(wbxml.ItemOperations, "Options")
	fo.Add(wbxml.AirSyncBase, "BodyPreference").AddText(wbxml.AirSyncBase, "Type", "1")
	r, err := dev.Do(ctx, "ItemOperations", fetch)
	if err != nil {
		t.Fatal(err)
	}
	fr := r.Doc.Child(wbxml.ItemOperations, "Response").Child(wbxml.ItemOperations, "Fetch")
	if fr.ChildText(wbxml.ItemOperations, "Status") != "1" || fr.ChildText(wbxml.Search, "LongId") != budget5 ||
		fr.Child(wbxml.ItemOperations, "Properties").ChildText(wbxml.Email, "Subject") != "Budget review 5" {
		t.Fatalf("fetch by LongId: %s", r.Doc.XML())
	}

	// ... is the source of a SmartForward that reaches the sink with the
	// original inside ...
	marker := "fwd-" + time.Now().Format("150405.000000000")
	fwd := wbxml.New(wbxml.ComposeMail, "SmartForward")
	fwd.AddText(wbxml.ComposeMail, "ClientId", marker)
	fwd.Add(wbxml.ComposeMail, "Source").AddText(wbxml.ComposeMail, "LongId", budget5)
	fwd.AddOpaque(wbxml.ComposeMail, "Mime", []byte("From: "+e.User+"\r\nTo: zoe@example.test\r\nSubject: "+marker+"\r\n\r\nSee below.\r\n"))
	if r, err := dev.Do(ctx, "SmartForward", fwd); err != nil || len(r.Body) != 0 {
		t.Fatalf("SmartForward by LongId: %v %v", r, err)
	}
	sent := waitSink(t, maildir, marker)
	if !strings.Contains(sent, "fifth numbers") || !strings.Contains(sent, "See below.") {
		t.Errorf("forwarded message lacks the original or the note:\n%s", sent)
	}
	flags := upstreamFlags(t, up, "INBOX")
	forwarded := 0
	for _, fl := range flags {
		if slices.Contains(fl, "$Forwarded") {
			forwarded++
		}
	}
	if forwarded != 1 {
		t.Errorf("%d INBOX messages flagged $Forwarded, want 1: %v", forwarded, flags)
	}

	// ... and of a SmartReply, which answers it ($Answered) ...
	replyMarker := "re-" + time.Now().Format("150405.000000000")
	re := wbxml.New(wbxml.ComposeMail, "SmartReply")
	re.AddText(wbxml.ComposeMail, "ClientId", replyMarker)
	re.Add(wbxml.ComposeMail, "Source").AddText(wbxml.ComposeMail, "LongId", budget5)
	re.AddOpaque(wbxml.ComposeMail, "Mime", []byte("From: "+e.User+"\r\nTo: alice@example.test\r\nSubject: "+replyMarker+"\r\n\r\nThanks.\r\n"))
	if r, err := dev.Do(ctx, "SmartReply", re); err != nil || len(r.Body) != 0 {
		t.Fatalf("SmartReply by LongId: %v %v", r, err)
	}
	if sent := waitSink(t, maildir, replyMarker); !strings.Contains(sent, "Thanks.") || !strings.Contains(sent, "fifth numbers") {
		t.Errorf("reply lacks the note or the quoted original:\n%s", sent)
	}
	answered := 0
	for _, fl := range upstreamFlags(t, up, "INBOX") {
		if slices.Contains(fl, "\\Answered") {
			answered++
		}
	}
	if answered != 1 {
		t.Errorf("%d INBOX messages flagged \\Answered, want 1", answered)
	}

	// ... and MoveItems moves it, right after a Search left INBOX
	// opened read-only on the pooled connection.
	runSearch(t, dev, searchRequest([]*wbxml.Element{el(wbxml.AirSync, "CollectionId", inbox), el(wbxml.Search, "FreeText", "budget")}))
	mv := wbxml.New(wbxml.Move, "MoveItems")
	m := mv.Add(wbxml.Move, "Move")
	m.AddText(wbxml.Move, "SrcMsgId", budget5)
	m.AddText(wbxml.Move, "SrcFldId", inbox)
	m.AddText(wbxml.Move, "DstFldId", trash)
	if r, err := dev.Do(ctx, "MoveItems", mv); err != nil || r.Doc.Child(wbxml.Move, "Response").ChildText(wbxml.Move, "Status") != "3" {
		t.Fatalf("MoveItems by LongId: %v %v", r, err)
	}
	if a := runSearch(t, dev, searchRequest([]*wbxml.Element{el(wbxml.AirSync, "CollectionId", trash), el(wbxml.Search, "FreeText", "budget")})); a.total != "1" ||
		a.subjects[0] != "Budget review 5" {
		t.Errorf("after the move, Trash: %+v", a)
	}
}

// waitSink returns the sink's message whose Subject is subject.
func waitSink(t *testing.T, maildir, subject string) string {
	t.Helper()
	for range 50 {
		files, _ := filepath.Glob(filepath.Join(maildir, "new", "*"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err == nil && strings.Contains(string(b), "Subject: "+subject) {
				return string(b)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no message %q in the sink", subject)
	return ""
}

// Find (16.1) runs the same mailbox search and answers with ServerIds and
// the Find properties.
func TestFindThroughTheFront(t *testing.T) {
	e, _ := startSearchEnv(t)
	dev := e.Device(t, "finder", "16.1")
	inbox, _, _, _ := searchFolders(t, dev)
	req := wbxml.New(wbxml.Find, "Find")
	req.AddText(wbxml.Find, "SearchId", "6d1c8a0e-3b9f-4c41-9d25-7a6e5b4c3d21")
	crit := req.Add(wbxml.Find, "ExecuteSearch").Add(wbxml.Find, "MailBoxSearchCriterion")
	q := crit.Add(wbxml.Find, "Query")
	q.AddText(wbxml.AirSync, "Class", "Email")
	q.AddText(wbxml.AirSync, "CollectionId", inbox)
	q.AddText(wbxml.Find, "FreeText", "budget")
	crit.Add(wbxml.Find, "Options").AddText(wbxml.Find, "Range", "0-1")
	r, err := dev.Do(context.Background(), "Find", req)
	if err != nil {
		t.Fatal(err)
	}
	resp := r.Doc.Child(wbxml.Find, "Response")
	if r.Doc.ChildText(wbxml.Find, "Status") != "1" || resp.ChildText(wbxml.Find, "Status") != "1" ||
		resp.ChildText(wbxml.Find, "Total") != "5" || resp.ChildText(wbxml.Find, "Range") != "0-1" {
		t.Fatalf("Find: %s", r.Doc.XML())
	}
	results := resp.All(wbxml.Find, "Result")
	if len(results) != 2 {
		t.Fatalf("%d results", len(results))
	}
	p := results[0].Child(wbxml.Find, "Properties")
	if !strings.HasPrefix(results[0].ChildText(wbxml.AirSync, "ServerId"), inbox+":") ||
		p.ChildText(wbxml.Email, "Subject") != "Budget review 5" || p.ChildText(wbxml.Find, "Preview") != "fifth numbers" ||
		p.ChildText(wbxml.Find, "HasAttachments") != "0" || !strings.Contains(p.ChildText(wbxml.Email, "From"), "bob@example.test") ||
		p.ChildText(wbxml.Email, "DateReceived") == "" {
		t.Errorf("first Find result %s", results[0].XML())
	}
	// The ServerId is an ordinary item ID: Fetch it from its collection.
	fetch := wbxml.New(wbxml.ItemOperations, "ItemOperations")
	f := fetch.Add(wbxml.ItemOperations, "Fetch")
	f.AddText(wbxml.ItemOperations, "Store", "Mailbox")
	f.AddText(wbxml.AirSync, "CollectionId", inbox)
	f.AddText(wbxml.AirSync, "ServerId", results[1].ChildText(wbxml.AirSync, "ServerId"))
	fr, err := dev.Do(context.Background(), "ItemOperations", fetch)
	if err != nil || fr.Doc.Child(wbxml.ItemOperations, "Response").Child(wbxml.ItemOperations, "Fetch").
		Child(wbxml.ItemOperations, "Properties").ChildText(wbxml.Email, "Subject") != "Budget review 4" {
		t.Errorf("fetch of a Find result: %v %v", fr, err)
	}
}
