package directory

import (
	"bytes"
	"image"
	"image/jpeg"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/accounts"
)

func testJPEG(t testing.TB, side int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, side, side))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 31)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// fillGAL puts a small directory in a book: two Roes (one with a large
// photo), a company match only through ORG, a nickname, one by N only.
func fillGAL(t testing.TB, e *env, book string) {
	big := testJPEG(t, 300)
	e.put(t, book, "g1", card("g1", "Jane Roe", "Roe;Jane;;;", "jane@example.org", photoLine(big), "TITLE:Engineer", "TEL;TYPE=work:+1 555 0101", "TEL;TYPE=cell:+1 555 0102"))
	e.put(t, book, "g2", card("g2", "Richard Roe", "Roe;Richard;;;", "rich@example.org", "NICKNAME:Dick"))
	e.put(t, book, "g3", card("g3", "Zed Zulu", "Zulu;Zed;;;", "zed@example.org", "ORG:Acme Widgets;Sales"))
	e.put(t, book, "g4", card("g4", "Mary Major", "Major;Mary;;;", "mary@example.org"))
}

// Every mode finds by any part of the name, the email, the nickname; the
// local copy (auto and local modes) also by ORG, which Radicale cannot
// text-match; results come in display order with the total, the range
// cut, and fields from the card.
func TestSearchGAL(t *testing.T) {
	e := newEnv(t)
	gal := e.book(t, "gal")
	fillGAL(t, e, gal)
	ctx := ctxT(t)
	for _, mode := range []string{accounts.GALSearchAuto, accounts.GALSearchLocal, accounts.GALSearchServer} {
		t.Run(mode, func(t *testing.T) {
			s := e.service(t, accounts.GAL{AddressBook: gal, Search: mode}, Options{})
			search := func(text string, lo, hi int) *activesync.GALResult {
				t.Helper()
				r, err := s.SearchGAL(ctx, acct(e.user), "dev1", &activesync.GALQuery{Text: text, RangeStart: lo, RangeEnd: hi})
				if err != nil {
					t.Fatalf("%q: %v", text, err)
				}
				return r
			}
			first := search("roe", 0, 99)
			if got := names(first); got != "2:Jane Roe|Richard Roe" {
				t.Errorf("roe = %s", got)
			}
			if mode == accounts.GALSearchAuto {
				waitWarm(t, s, e.user, gal)
			}
			for _, tc := range []struct {
				text   string
				lo, hi int
				want   string
			}{
				{"ROE", 1, 5, "2:Richard Roe"},
				{"jane roe", 0, 99, "1:Jane Roe"},
				{"roe jane", 0, 99, "1:Jane Roe"},
				{"dick", 0, 99, "1:Richard Roe"},
				{"mary@example", 0, 99, "1:Mary Major"},
				{"nobody", 0, 99, "0:"},
				{"   ", 0, 99, "0:"},
			} {
				if got := names(search(tc.text, tc.lo, tc.hi)); got != tc.want {
					t.Errorf("%q [%d-%d] = %s, want %s", tc.text, tc.lo, tc.hi, got, tc.want)
				}
			}
			acme := names(search("acme", 0, 99))
			switch mode {
			case accounts.GALSearchServer:
				t.Logf("server mode, ORG match on this server: %s", acme)
			default:
				if acme != "1:Zed Zulu" {
					t.Errorf("acme = %s, want Zed Zulu (ORG) from the local copy", acme)
				}
			}
			j := search("jane", 0, 0).Entries[0]
			if j.EmailAddress != "jane@example.org" || j.FirstName != "Jane" || j.LastName != "Roe" || j.Title != "Engineer" ||
				j.Phone != "+1 555 0101" || j.MobilePhone != "+1 555 0102" || j.Picture != nil {
				t.Errorf("entry = %+v", j)
			}
		})
	}
}

// Pictures: fetched for the entries shown only, re-encoded under MaxSize,
// Status 173 without a photo, 175 past MaxPictures, 174 when nothing fits.
func TestSearchGALPictures(t *testing.T) {
	e := newEnv(t)
	gal := e.book(t, "gal")
	fillGAL(t, e, gal)
	e.put(t, gal, "g5", card("g5", "Rob Roe", "Roe;Rob;;;", "rob@example.org", photoLine(testJPEG(t, 40))))
	s := e.service(t, accounts.GAL{AddressBook: gal, Search: accounts.GALSearchLocal}, Options{})
	ctx := ctxT(t)
	r, err := s.SearchGAL(ctx, acct(e.user), "dev1", &activesync.GALQuery{Text: "roe", RangeEnd: 99, Picture: true, MaxPictureSize: 6000, MaxPictures: 1})
	if err != nil {
		t.Fatal(err)
	}
	if names(r) != "3:Jane Roe|Richard Roe|Rob Roe" {
		t.Fatalf("got %s", names(r))
	}
	jane, rich, rob := r.Entries[0].Picture, r.Entries[1].Picture, r.Entries[2].Picture
	if jane == nil || jane.Status != activesync.PictureStatusOK || len(jane.Data) == 0 || len(jane.Data) > 6000 {
		t.Errorf("Jane's picture: %+v", jane)
	} else if _, _, err := image.Decode(bytes.NewReader(jane.Data)); err != nil {
		t.Errorf("Jane's picture is no image: %v", err)
	}
	if rich == nil || rich.Status != activesync.PictureStatusNoPhoto {
		t.Errorf("Richard (no photo): %+v", rich)
	}
	if rob == nil || rob.Status != activesync.PictureStatusMaxPictures {
		t.Errorf("Rob (past MaxPictures): %+v", rob)
	}
	r, err = s.SearchGAL(ctx, acct(e.user), "dev1", &activesync.GALQuery{Text: "jane", RangeEnd: 99, Picture: true, MaxPictureSize: 20})
	if err != nil || r.Entries[0].Picture == nil || r.Entries[0].Picture.Status != activesync.PictureStatusTooLarge {
		t.Fatalf("20-byte MaxSize: %+v, %v", r.Entries[0].Picture, err)
	}
}

// The local copy follows the book: an added, a changed and a deleted card
// show at the next search past Fresh; a search with nothing changed costs
// one request upstream (the sync-collection).
func TestLocalCopyFollowsChanges(t *testing.T) {
	e := newEnv(t)
	gal := e.book(t, "gal")
	fillGAL(t, e, gal)
	s := e.service(t, accounts.GAL{AddressBook: gal, Search: accounts.GALSearchLocal}, Options{Fresh: time.Nanosecond})
	ctx := ctxT(t)
	search := func(text string) string {
		t.Helper()
		r, err := s.SearchGAL(ctx, acct(e.user), "dev1", &activesync.GALQuery{Text: text, RangeEnd: 99})
		if err != nil {
			t.Fatal(err)
		}
		return names(r)
	}
	if got := search("roe"); got != "2:Jane Roe|Richard Roe" {
		t.Fatalf("roe = %s", got)
	}
	before := e.reqs.n.Load()
	if got := search("roe"); got != "2:Jane Roe|Richard Roe" {
		t.Fatalf("roe again = %s", got)
	}
	if n := e.reqs.n.Load() - before; n != 1 {
		t.Errorf("a search with nothing changed sent %d requests upstream, want 1", n)
	}
	e.put(t, gal, "g6", card("g6", "Nina Roe", "Roe;Nina;;;", "nina@example.org"))
	if err := e.client.Delete(ctx, gal+"g2.vcf", ""); err != nil {
		t.Fatal(err)
	}
	if got := search("roe"); got != "2:Jane Roe|Nina Roe" {
		t.Errorf("after add and delete: %s", got)
	}
}

// Without a gal: setting the user's own address books are the GAL, all of
// them.
func TestSearchOwnBooks(t *testing.T) {
	e := newEnv(t)
	a, b := e.book(t, "a"), e.book(t, "b")
	e.put(t, a, "o1", card("o1", "Ann Own", "Own;Ann;;;", "ann@example.net"))
	e.put(t, b, "o2", card("o2", "Bob Own", "Own;Bob;;;", "bob@example.net"))
	s := e.service(t, accounts.GAL{}, Options{})
	r, err := s.SearchGAL(ctxT(t), acct(e.user), "dev1", &activesync.GALQuery{Text: "own", RangeEnd: 99})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(r); got != "2:Ann Own|Bob Own" {
		t.Fatalf("own books = %s", got)
	}
}

// A GAL book that does not exist is a Search status, not a crash or an
// empty success.
func TestSearchMissingGAL(t *testing.T) {
	e := newEnv(t)
	e.book(t, "a")
	s := e.service(t, accounts.GAL{AddressBook: e.home + "nope/", Search: accounts.GALSearchAuto}, Options{})
	_, err := s.SearchGAL(ctxT(t), acct(e.user), "dev1", &activesync.GALQuery{Text: "x", RangeEnd: 99})
	var ae *activesync.Error
	if !errorsAs(err, &ae) || !ae.Command || ae.Status == 0 {
		t.Fatalf("missing GAL: %v", err)
	}
}
