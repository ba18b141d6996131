package davsync

import (
	"strings"
	"testing"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/activesync/items"
	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/internal/testenv"
	"github.com/idlebridge/idlebridge/upstream/dav"
)

func TestNewVersionChoice(t *testing.T) {
	for _, tc := range []struct {
		offered, held, want string
	}{
		{"", "", "3.0"},           // says nothing, holds nothing: RFC 6352 5.1
		{"", "4.0", "4.0"},        // what the cards are
		{"3.0,4.0", "4.0", "4.0"}, // takes both, holds 4.0
		{"3.0,4.0", "3.0", "3.0"}, // takes both, holds 3.0
		{"3.0,4.0", "", "3.0"},    // empty, takes both: the server's first
		{"4.0,3.0", "", "4.0"},    // empty, the server's first
		{"4.0,3.0", "3.0", "3.0"}, // the cards' version before the server's order
		{"4.0", "", "4.0"},        // takes only 4.0
		{"4.0", "3.0", "4.0"},     // holds 3.0 cards, but takes no more of them
		{"3.0", "4.0", "3.0"},     // holds 4.0 cards from another client, takes only 3.0
		{"2.1", "", "3.0"},        // nothing this bridge writes: the fallback
		{"x,4.0,", "3.0", "4.0"},  // unknown offers and empty items dropped
		{"3.0,4.0", "2.1", "3.0"}, // an unknown tally is ignored
		{"", "9.9", "3.0"},        // garbage in the Meta
	} {
		if got := newVersion(contacts{}, map[string]string{metaOffered: tc.offered, metaHeld: tc.held}); got != tc.want {
			t.Errorf("offered %q held %q: %q, want %q", tc.offered, tc.held, got, tc.want)
		}
	}
}

func TestTally(t *testing.T) {
	v3 := []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nEND:VCARD\r\n")
	v4 := []byte("BEGIN:VCARD\r\nVERSION:4.0\r\nEND:VCARD\r\n")
	for _, tc := range []struct {
		cards [][]byte
		prev  string
		want  string
		n     int
	}{
		{nil, "", "", 0},
		{[][]byte{[]byte("junk")}, "4.0", "", 0},
		{[][]byte{v4, v4, v3}, "", "4.0", 3},
		{[][]byte{v4, v3}, "", "3.0", 2},    // a tie: the class's first
		{[][]byte{v4, v3}, "4.0", "4.0", 2}, // a tie keeps what was stored
		{[][]byte{v3, v3, v4, []byte("junk")}, "4.0", "3.0", 3},
	} {
		got, n := tally(contacts{}, tc.cards, tc.prev)
		if got != tc.want || n != tc.n {
			t.Errorf("tally of %d cards (prev %q): %q/%d, want %q/%d", len(tc.cards), tc.prev, got, n, tc.want, tc.n)
		}
	}
}

// A listing that has no tally yet (kept by a bridge from before, or only
// small fetches so far) is sampled once by the first Add, against the test
// Radicale: that Add is written in the book's version (4.0 here), the
// tally is stored, and the next Add asks the server one request less.
func TestAddSamplesABookWithoutTally(t *testing.T) {
	e := newEnvClass(t, Options{}, testenv.UniqueUser(t), ContactsClass)
	book := e.home + "contacts/"
	if err := e.other.MakeAddressBook(e.ctx, book, "Contacts"); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b"} {
		card := "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:" + n + "\r\nFN:" + n + "\r\nEND:VCARD\r\n"
		if _, err := e.other.Create(e.ctx, book+n+".vcf", dav.ContentVCard, []byte(card)); err != nil {
			t.Fatal(err)
		}
	}
	f := folderFor(engine.Ref{Kind: engine.KindContacts, Path: book})
	s := e.syncer(f, 161, 0)
	if got := s.all(10); len(got) != 2 {
		t.Fatalf("initial sync: %d items", len(got))
	}
	l, err := loadListing(e.ctx, e.store, e.p.User.Address, f.id)
	if err != nil || l.meta[metaHeld] != "4.0" {
		t.Fatalf("the fetch did not record the book's version: %q (%v)", l.meta[metaHeld], err)
	}
	// Forget the tally, as a listing from before has none.
	if _, _, err := updateListing(e.ctx, e.store, e.p.User.Address, f.id, func(*listing) (*edit, error) {
		ed := newEdit()
		ed.meta[metaHeld] = ""
		return ed, nil
	}); err != nil {
		t.Fatal(err)
	}
	add := func(cid, name string) (int64, string) {
		t.Helper()
		c := &items.Contact{}
		c.Set(items.ContactFirstName, name)
		e.wire.reset()
		res := s.run([]activesync.SyncCommand{{Kind: "Add", ClientID: cid, Data: c.Encode(161)}}, 10)
		reqs := e.wire.requests.Load()
		if len(res.Responses) != 1 || res.Responses[0].Status != activesync.SyncStatusOK {
			t.Fatalf("Add %s: %+v", name, res.Responses)
		}
		list, _, err := e.other.List(e.ctx, book)
		if err != nil {
			t.Fatal(err)
		}
		for href := range list {
			objs, _, err := e.other.MultiGet(e.ctx, book, dav.KindAddressBook, []string{href})
			if err == nil && len(objs) == 1 && strings.Contains(string(objs[0].Data), "FN:"+name) {
				return reqs, cardVersionLine(objs[0].Data)
			}
		}
		t.Fatalf("the Add of %s is not in the book", name)
		return 0, ""
	}
	first, v1 := add("c1", "Sampled")
	if v1 != "VERSION:4.0" {
		t.Errorf("the first Add after the tally was lost: %q, want VERSION:4.0", v1)
	}
	if l, _ = loadListing(e.ctx, e.store, e.p.User.Address, f.id); l.meta[metaHeld] != "4.0" {
		t.Errorf("the sample was not stored: %q", l.meta[metaHeld])
	}
	second, v2 := add("c2", "Cached")
	if v2 != "VERSION:4.0" {
		t.Errorf("the second Add: %q, want VERSION:4.0", v2)
	}
	if second != first-1 {
		t.Errorf("upstream requests: %d for the sampling Add, %d for the next; want one less", first, second)
	}
}

func cardVersionLine(data []byte) string {
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(strings.ToUpper(l), "VERSION:") {
			return strings.TrimSpace(l)
		}
	}
	return ""
}
