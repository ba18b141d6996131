package activesync

import (
	"strings"
	"testing"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// The outline shows protocol bookkeeping and nothing a user wrote.
func TestOutlineRedacts(t *testing.T) {
	doc := wbxml.New(wbxml.AirSync, "Sync")
	col := doc.Add(wbxml.AirSync, "Collections").Add(wbxml.AirSync, "Collection")
	col.AddText(wbxml.AirSync, "SyncKey", "42")
	col.AddText(wbxml.AirSync, "CollectionId", "7")
	col.AddText(wbxml.AirSync, "Status", "1")
	add := col.Add(wbxml.AirSync, "Commands").Add(wbxml.AirSync, "Add")
	add.AddText(wbxml.AirSync, "ServerId", "7:1042")
	ad := add.Add(wbxml.AirSync, "ApplicationData")
	ad.AddText(wbxml.Email, "Subject", "secret subject")
	ad.AddText(wbxml.Email, "From", "alice@example.com")
	fc := wbxml.New(wbxml.FolderHierarchy, "FolderCreate")
	fc.AddText(wbxml.FolderHierarchy, "DisplayName", "Private Folder")
	fc.AddText(wbxml.FolderHierarchy, "Type", strings.Repeat("9", 200)) // too long to show
	search := wbxml.New(wbxml.Search, "Search")
	st := search.Add(wbxml.Search, "Store")
	st.AddText(wbxml.Search, "Name", "Mailbox")
	st.Add(wbxml.Search, "Query").Add(wbxml.Search, "And").AddText(wbxml.Search, "FreeText", "divorce lawyer")
	res := st.Add(wbxml.Search, "Result")
	res.AddText(wbxml.Search, "LongId", "7:1042")
	res.Add(wbxml.Search, "Properties").AddText(wbxml.Email, "Subject", "secret subject")
	gal := wbxml.New(wbxml.Search, "Search").Add(wbxml.Search, "Store")
	gal.AddText(wbxml.Search, "Name", "GAL")
	gal.AddText(wbxml.Search, "Query", "colleague name")
	for _, tc := range []struct {
		doc     *wbxml.Element
		want    []string
		mustNot []string
	}{
		{doc, []string{`SyncKey="42"`, `CollectionId="7"`, `Status="1"`, `ServerId="7:1042"`, "ApplicationData["}, []string{"secret", "alice", "Subject"}},
		{fc, []string{"DisplayName[14B]", "Type[200B]"}, []string{"Private", "999"}},
		{search, []string{`Name="Mailbox"`, "FreeText[14B]", `LongId="7:1042"`, "Properties["}, []string{"divorce", "secret"}},
		{gal, []string{`Name="GAL"`, "Query[14B]"}, []string{"colleague"}},
	} {
		got := outline(tc.doc)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("outline %s lacks %s", got, w)
			}
		}
		for _, n := range tc.mustNot {
			if strings.Contains(got, n) {
				t.Errorf("outline %s shows %s", got, n)
			}
		}
	}
	big := wbxml.New(wbxml.AirSync, "Sync")
	for i := 0; i < 5000; i++ {
		big.AddText(wbxml.AirSync, "ServerId", "7:1")
	}
	if n := len(outline(big)); n > maxTraceLen+8 {
		t.Errorf("outline of a huge document is %d bytes", n)
	}
}
