package bridge_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/activesync/items"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/bridge/davsync"
	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/internal/bridgetest"
	"github.com/idlebridge/idlebridge/upstream/dav"
)

func startContacts(t *testing.T) (*bridgetest.Env, *dav.Client, string) {
	t.Helper()
	e := bridgetest.Start(t, bridgetest.Options{DAV: true, Classes: func(env *bridgetest.Env) []engine.Class {
		return []engine.Class{davsync.ContactsClass(davsync.Options{Store: env.Store, PollActive: 300 * time.Millisecond, PollIdle: 300 * time.Millisecond})}
	}})
	laptop, home := davAs(t, e)
	return e, laptop, home
}

func makeBook(t *testing.T, c *dav.Client, href, name string, cards map[string]string) {
	t.Helper()
	ctx := context.Background()
	if err := c.MakeAddressBook(ctx, href, name); err != nil {
		t.Fatal(err)
	}
	for file, card := range cards {
		if _, err := c.Create(ctx, href+file, dav.ContentVCard, []byte(card)); err != nil {
			t.Fatal(err)
		}
	}
}

// cardsOf returns the cards of a book by href.
func cardsOf(t *testing.T, c *dav.Client, book string) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	list, _, err := c.List(ctx, book)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for href := range list {
		out[href], _ = laptopGet(ctx, t, c, book, href)
	}
	return out
}

func v4Card(uid, first, last string) string {
	return "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:" + uid + "\r\nFN:" + first + " " + last + "\r\nN:" + last + ";" + first + ";;;\r\nEMAIL;TYPE=work:" + uid + "@example.org\r\nEND:VCARD\r\n"
}

// A device's Add is written in the address book's own vCard version: a
// book of vCard 4.0 cards (as Nextcloud writes them) gets a 4.0 card, an
// empty book a 3.0 card (RFC 6352 5.1: every server takes it), and each
// reads back on the device as what it sent.
func TestContactsAddInTheBooksVersion(t *testing.T) {
	for _, ver := range []string{"14.1", "16.1"} {
		t.Run(ver, func(t *testing.T) {
			e, laptop, home := startContacts(t)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			v4Book, emptyBook := home+"contacts/", home+"empty/"
			makeBook(t, laptop, v4Book, "Contacts", map[string]string{
				"a.vcf": v4Card("a", "Ada", "Lovelace"),
				"b.vcf": v4Card("b", "Bert", "Bohr"),
				"c.vcf": "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:c\r\nFN:Cy Old\r\nN:Old;Cy;;;\r\nEND:VCARD\r\n",
			})
			makeBook(t, laptop, emptyBook, "Empty", nil)
			v := items.Version(161)
			if ver == "14.1" {
				v = items.V141
			}
			dev := e.Device(t, "cv"+strings.ReplaceAll(ver, ".", ""), ver)
			fs, err := dev.FolderSync(ctx, "0")
			if err != nil || fs.Status != "1" {
				t.Fatalf("FolderSync: %v %+v", err, fs)
			}
			def, ok := client.FolderByType(fs.Add, 9)
			empty, ok2 := client.FolderByType(fs.Add, 14)
			if !ok || !ok2 || def.DisplayName != "Contacts" || empty.DisplayName != "Empty" {
				t.Fatalf("contact folders: %+v", fs.Add)
			}
			for _, tc := range []struct {
				folder  string
				book    string
				have    int
				version string
			}{{def.ServerID, v4Book, 3, "VERSION:4.0"}, {empty.ServerID, emptyBook, 0, "VERSION:3.0"}} {
				got, key, err := dev.SyncAll(ctx, tc.folder, client.SyncOptions{WindowSize: 10})
				if err != nil || len(got) != tc.have {
					t.Fatalf("Sync of %s: %v, %d items, want %d", tc.book, err, len(got), tc.have)
				}
				before := cardsOf(t, laptop, tc.book)
				add := &items.Contact{}
				add.Set(items.ContactFirstName, "Nina")
				add.Set(items.ContactLastName, "Neu")
				add.Set(items.ContactEmail1, "nina@example.org")
				add.Set(items.ContactMobilePhone, "+49 170 1234567")
				r, err := dev.Sync(ctx, tc.folder, key, client.SyncOptions{WindowSize: 10, Commands: calCommands("Add", "cl-v", add.Encode(v))})
				if err != nil || r.Status != "1" || len(r.Responses) != 1 || r.Responses[0].ChildText(wbxml.AirSync, "Status") != "1" {
					t.Fatalf("Add to %s: %v %+v", tc.book, err, r)
				}
				newID := r.Responses[0].ChildText(wbxml.AirSync, "ServerId")
				after := cardsOf(t, laptop, tc.book)
				if len(after) != len(before)+1 {
					t.Fatalf("%s: %d cards after the Add, want %d", tc.book, len(after), len(before)+1)
				}
				var card []byte
				for href, data := range after {
					if _, old := before[href]; !old {
						card = data
					}
				}
				lines := unfolded(card)
				if !hasLine(lines, tc.version) || !hasLine(lines, "FN:Nina Neu") || !strings.Contains(string(card), "nina@example.org") {
					t.Errorf("the Add in %s, want %s:\n%s", tc.book, tc.version, card)
				}
				if n := strings.Count(strings.ToUpper(string(card)), "\nVERSION:"); n != 1 {
					t.Errorf("the Add in %s has %d VERSION lines:\n%s", tc.book, n, card)
				}
				// Another device reads the new card as the first one sent it.
				other := e.Device(t, "cw"+strings.ReplaceAll(ver, ".", "")+tc.folder, ver)
				ofs, err := other.FolderSync(ctx, "0")
				if err != nil || ofs.Status != "1" {
					t.Fatalf("FolderSync of the second device: %v", err)
				}
				all, _, err := other.SyncAll(ctx, tc.folder, client.SyncOptions{WindowSize: 10})
				if err != nil || len(all) != tc.have+1 || all[newID] == nil {
					t.Fatalf("second device's Sync of %s: %v, %d items, the Add (%s) there: %v", tc.book, err, len(all), newID, all[newID] != nil)
				}
				c, err := items.DecodeContact(all[newID], v)
				if err != nil {
					t.Fatal(err)
				}
				for f, want := range map[items.ContactField]string{items.ContactFirstName: "Nina", items.ContactLastName: "Neu", items.ContactEmail1: "nina@example.org", items.ContactMobilePhone: "+49 170 1234567"} {
					if got, _ := c.Get(f); !strings.Contains(got, want) {
						t.Errorf("%s of the Add read back from %s: %q, want %q", f.Name, tc.book, got, want)
					}
				}
			}
		})
	}
}

// MoveItems of a contact between two address books: Status 3; the card is
// in the other book once and gone from its own; the moving device's Syncs
// send it no duplicate; another device sees the Delete in the source and
// the Add in the destination; moving it again answers Status 1 (MS-ASCMD
// 2.2.3.177.10: the source item is gone).
func TestContactsMoveBetweenBooks(t *testing.T) {
	e, laptop, home := startContacts(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	src, dst := home+"contacts/", home+"work/"
	makeBook(t, laptop, src, "Contacts", map[string]string{
		"mover.vcf": "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:mover-1\r\nFN:Moe Ver\r\nN:Ver;Moe;;;\r\nX-CUSTOM:kept\r\nEND:VCARD\r\n",
		"stay.vcf":  "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:stay-1\r\nFN:Stay Put\r\nN:Put;Stay;;;\r\nEND:VCARD\r\n",
	})
	makeBook(t, laptop, dst, "Work", map[string]string{"w.vcf": v4Card("w", "Wendy", "Work")})

	type side struct {
		dev                   *client.Client
		srcF, dstF            string
		srcKey, dstKey, moved string
	}
	open := func(id string) *side {
		dev := e.Device(t, id, "14.1")
		fs, err := dev.FolderSync(ctx, "0")
		if err != nil || fs.Status != "1" {
			t.Fatalf("FolderSync: %v %+v", err, fs)
		}
		s := &side{dev: dev}
		a, _ := client.FolderByType(fs.Add, 9)
		b, _ := client.FolderByType(fs.Add, 14)
		s.srcF, s.dstF = a.ServerID, b.ServerID
		got, key, err := dev.SyncAll(ctx, s.srcF, client.SyncOptions{WindowSize: 10})
		if err != nil || len(got) != 2 {
			t.Fatalf("Sync of Contacts: %v, %d items", err, len(got))
		}
		for id, data := range got {
			c, _ := items.DecodeContact(data, items.V141)
			if fn, _ := c.Get(items.ContactFirstName); fn == "Moe" {
				s.moved = id
			}
		}
		s.srcKey = key
		if _, s.dstKey, err = dev.SyncAll(ctx, s.dstF, client.SyncOptions{WindowSize: 10}); err != nil {
			t.Fatal(err)
		}
		return s
	}
	mover, watcher := open("mv-a"), open("mv-b")
	if mover.moved == "" {
		t.Fatal("the card to move is not on the device")
	}

	move := func() *wbxml.Element {
		mv := wbxml.New(wbxml.Move, "MoveItems")
		m := mv.Add(wbxml.Move, "Move")
		m.AddText(wbxml.Move, "SrcMsgId", mover.moved)
		m.AddText(wbxml.Move, "SrcFldId", mover.srcF)
		m.AddText(wbxml.Move, "DstFldId", mover.dstF)
		mr, err := mover.dev.Do(ctx, "MoveItems", mv)
		if err != nil {
			t.Fatal(err)
		}
		return mr.Doc.Child(wbxml.Move, "Response")
	}
	resp := move()
	if st := resp.ChildText(wbxml.Move, "Status"); st != "3" {
		t.Fatalf("MoveItems: Status %s, want 3", st)
	}
	newID := resp.ChildText(wbxml.Move, "DstMsgId")
	if newID == "" || newID == mover.moved {
		t.Fatalf("DstMsgId %q (source ID %q)", newID, mover.moved)
	}
	srcCards, dstCards := cardsOf(t, laptop, src), cardsOf(t, laptop, dst)
	if len(srcCards) != 1 || len(dstCards) != 2 {
		t.Fatalf("after the move: Contacts holds %d cards (want 1), Work %d (want 2)", len(srcCards), len(dstCards))
	}
	uids := 0
	for _, card := range dstCards {
		if strings.Contains(string(card), "UID:mover-1") {
			uids++
			if !strings.Contains(string(card), "X-CUSTOM:kept") {
				t.Errorf("the moved card lost what the device does not show:\n%s", card)
			}
		}
	}
	if uids != 1 {
		t.Errorf("the moved card is in Work %d times", uids)
	}

	// The moving device: nothing new in the source, at most the card once
	// (as a Change of the ID MoveItems gave) in the destination.
	if r, err := mover.dev.Sync(ctx, mover.srcF, mover.srcKey, client.SyncOptions{WindowSize: 10}); err != nil || len(r.Items) != 0 {
		t.Errorf("mover's source Sync after the move: %v %+v", err, r)
	}
	r, err := mover.dev.Sync(ctx, mover.dstF, mover.dstKey, client.SyncOptions{WindowSize: 10})
	if err != nil || len(r.Adds()) != 0 || len(r.Items) > 1 || len(r.Items) == 1 && r.Items[0].ServerID != newID {
		t.Errorf("mover's destination Sync after the move: %v %+v (want at most the moved card once, as a Change)", err, r)
	}

	// The other device: the Delete in the source, the Add in the destination.
	r, err = watcher.dev.Sync(ctx, watcher.srcF, watcher.srcKey, client.SyncOptions{WindowSize: 10})
	if err != nil || len(r.Deletes()) != 1 || r.Deletes()[0].ServerID != watcher.moved || len(r.Items) != 1 {
		t.Errorf("other device's source Sync after the move: %v %+v (want the Delete of %s)", err, r, watcher.moved)
	}
	r, err = watcher.dev.Sync(ctx, watcher.dstF, watcher.dstKey, client.SyncOptions{WindowSize: 10})
	if err != nil || len(r.Adds()) != 1 || len(r.Items) != 1 || r.Adds()[0].ServerID != newID {
		t.Errorf("other device's destination Sync after the move: %v %+v (want one Add of %s)", err, r, newID)
	}

	// The same move again: the source item is gone, Status 1.
	if st := move().ChildText(wbxml.Move, "Status"); st != "1" {
		t.Errorf("moving a moved card again: Status %s, want 1", st)
	}
	if n := len(cardsOf(t, laptop, dst)); n != 2 {
		t.Errorf("Work holds %d cards after the second move, want 2", n)
	}
}
