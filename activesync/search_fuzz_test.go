package activesync

import (
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// searchSeeds are encoded Search and Find requests of the shapes devices
// send.
func searchSeeds(t testing.TB) [][]byte {
	mail := wbxml.New(wbxml.Search, "Search")
	st := mail.Add(wbxml.Search, "Store")
	st.AddText(wbxml.Search, "Name", "Mailbox")
	and := st.Add(wbxml.Search, "Query").Add(wbxml.Search, "And")
	and.AddText(wbxml.AirSync, "Class", "Email")
	and.AddText(wbxml.AirSync, "CollectionId", "7")
	and.AddText(wbxml.Search, "FreeText", "quarterly report")
	gt := and.Add(wbxml.Search, "GreaterThan")
	gt.Add(wbxml.Email, "DateReceived")
	gt.AddText(wbxml.Search, "Value", "2026-03-01T00:00:00.000Z")
	or := and.Add(wbxml.Search, "Or")
	or.AddText(wbxml.Search, "FreeText", "a")
	eq := or.Add(wbxml.Search, "EqualTo")
	eq.Add(wbxml.Email, "From")
	eq.AddText(wbxml.Search, "Value", "ann")
	and.AddOpaque(wbxml.Search, "ConversationId", []byte("0123456789abcdef"))
	o := st.Add(wbxml.Search, "Options")
	o.AddText(wbxml.Search, "Range", "0-9")
	o.Add(wbxml.Search, "DeepTraversal")
	o.Add(wbxml.Search, "RebuildResults")
	o.Add(wbxml.AirSyncBase, "BodyPreference").AddText(wbxml.AirSyncBase, "Type", "2")

	gal := wbxml.New(wbxml.Search, "Search")
	gs := gal.Add(wbxml.Search, "Store")
	gs.AddText(wbxml.Search, "Name", "GAL")
	gs.AddText(wbxml.Search, "Query", "ann")
	gp := gs.Add(wbxml.Search, "Options")
	gp.AddText(wbxml.Search, "Range", "0-4")
	gp.Add(wbxml.Search, "Picture").AddText(wbxml.Search, "MaxSize", "4000")

	find := wbxml.New(wbxml.Find, "Find")
	find.AddText(wbxml.Find, "SearchId", "9f3c4a52-0c1e-4d8e-9a55-1f6c1b2d3e4f")
	crit := find.Add(wbxml.Find, "ExecuteSearch").Add(wbxml.Find, "MailBoxSearchCriterion")
	crit.Add(wbxml.Find, "Query").AddText(wbxml.Find, "FreeText", "x")
	crit.Add(wbxml.Find, "Options").AddText(wbxml.Find, "Range", "0-99")

	var out [][]byte
	for _, doc := range []*wbxml.Element{mail, gal, find} {
		b, err := wbxml.Encode(doc)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// FuzzSearchRequest feeds arbitrary WBXML to the Search and Find request
// decoders: whatever the input, they answer a query or a searchError,
// never panic, and keep their bounds.
func FuzzSearchRequest(f *testing.F) {
	for _, s := range searchSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := wbxml.Decode(data, wbxml.Limits{MaxSize: 1 << 16, MaxDepth: 32, MaxElements: 4096})
		if err != nil {
			return
		}
		for _, st := range doc.All(wbxml.Search, "Store") {
			q := &MailboxQuery{}
			if err := parseSearchOptions(st.Child(wbxml.Search, "Options"), V161, q); err == nil {
				if q.RangeStart < 0 || q.RangeEnd < q.RangeStart || q.RangeEnd-q.RangeStart >= searchMaxResults {
					t.Fatalf("range %d-%d", q.RangeStart, q.RangeEnd)
				}
			}
			if err := parseMailboxQuery(st.Child(wbxml.Search, "Query"), q); err == nil {
				checkCriteria(t, &q.Criteria, 0)
			} else if _, ok := searchStatusOf(err); !ok {
				t.Fatalf("parse error without a status: %v", err)
			}
			if g, err := parseGALQuery(st); err == nil && (g.Text == "" || g.RangeEnd < g.RangeStart) {
				t.Fatalf("GAL query %+v", g)
			}
		}
		var crits []*wbxml.Element
		if exec := doc.Child(wbxml.Find, "ExecuteSearch"); exec != nil {
			crits = exec.Children
		}
		for _, crit := range crits {
			_, _, _ = parseFindRange(crit.Child(wbxml.Find, "Options"))
			_, _ = freeTextWords(crit.Child(wbxml.Find, "Query").ChildText(wbxml.Find, "FreeText"))
		}
	})
}

func checkCriteria(t *testing.T, c *MailboxCriteria, depth int) {
	if depth > maxQueryDepth+1 {
		t.Fatalf("criteria nested %d deep", depth)
	}
	for _, w := range c.FreeText {
		if w == "" || len(w) > maxTermLen {
			t.Fatalf("free text term %q", w)
		}
	}
	for i := range c.Any {
		checkCriteria(t, &c.Any[i], depth+1)
	}
}

// FuzzSearchValues feeds arbitrary text to the value decoders a Search
// query reaches: FreeText, Range and the date Value.
func FuzzSearchValues(f *testing.F) {
	f.Add(`budget "quarterly  report" 2026`, "0-99", "2026-03-01T00:00:00.000Z")
	f.Add(`"unclosed phrase`, "5-2", "20260301T000000Z")
	f.Add("", "", "2026-03-01T00:00:00+02:00")
	f.Fuzz(func(t *testing.T, text, rng, date string) {
		if words, err := freeTextWords(text); err == nil {
			for _, w := range words {
				if w == "" || len(w) > maxTermLen || w != strings.TrimSpace(w) {
					t.Fatalf("term %q from %q", w, text)
				}
			}
		} else if _, ok := searchStatusOf(err); !ok {
			t.Fatalf("free text error without a status: %v", err)
		}
		if a, b, err := parseRange(rng); err == nil && (a < 0 || b < a || b-a >= searchMaxResults) {
			t.Fatalf("range %q read as %d-%d", rng, a, b)
		}
		if d, ok := parseSearchDate(date); ok && d.Location() != time.UTC {
			t.Fatalf("date %q not in UTC", date)
		}
	})
}
