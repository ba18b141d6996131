package davsync

import (
	"testing"

	"github.com/idlebridge/idlebridge/bridge/accounts"
	"github.com/idlebridge/idlebridge/internal/testenv"
	"github.com/idlebridge/idlebridge/upstream/dav"
)

func vcard(uid, name string) []byte {
	return []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:" + uid + "\r\nFN:" + name + "\r\nN:" + name + ";;;;\r\nEND:VCARD\r\n")
}

// The merged folder's round trips against the test Radicale: a quiet
// Sync costs one PROPFIND of the address book home, however many books
// (each book's sync-token in that listing says it did not move); a card
// added to one book adds that book's sync-collection and one multiget.
func TestMergedPollCost(t *testing.T) {
	e := newEnvClass(t, Options{}, testenv.UniqueUser(t), ContactsClass)
	e.p.User.Contacts.MergeBooks = accounts.MergeBooksAlways
	for _, b := range []string{"contacts", "work", "family"} {
		href := e.home + b + "/"
		if err := e.other.MakeAddressBook(e.ctx, href, b); err != nil {
			t.Fatal(err)
		}
		if _, err := e.other.Create(e.ctx, href+b+".vcf", dav.ContentVCard, vcard(b, b)); err != nil {
			t.Fatal(err)
		}
	}
	f := folderFor(mergedRef())
	s := e.syncer(f, 141, 0)
	if got := s.all(100); len(got) != 3 {
		t.Fatalf("initial Sync: %d items, want the 3 books' cards", len(got))
	}
	e.wire.reset()
	if res := s.run(nil, 100); len(res.Commands) != 0 {
		t.Fatalf("quiet Sync: %d commands", len(res.Commands))
	}
	t.Logf("quiet Sync of 3 merged books: %s", e.wire)
	if n := e.wire.requests.Load(); n != 1 {
		t.Errorf("quiet Sync of 3 merged books: %d requests, want 1 (the home's PROPFIND)", n)
	}
	if _, err := e.other.Create(e.ctx, e.home+"family/kid.vcf", dav.ContentVCard, vcard("kid", "Kid")); err != nil {
		t.Fatal(err)
	}
	e.wire.reset()
	if res := s.run(nil, 100); len(res.Commands) != 1 || res.Commands[0].Kind != "Add" {
		t.Fatalf("Sync after a card in family: %+v", res.Commands)
	}
	t.Logf("Sync of one new card in one of 3 merged books: %s", e.wire)
	if n := e.wire.requests.Load(); n != 3 {
		t.Errorf("Sync of one new card: %d requests, want 3 (PROPFIND home, sync-collection, multiget)", n)
	}
}
