package bridge_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/activesync/items"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/bridge"
	"github.com/idlebridge/idlebridge/bridge/davsync"
	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/internal/bridgetest"
	"github.com/idlebridge/idlebridge/internal/testenv"
	"github.com/idlebridge/idlebridge/upstream/dav"
)

// What Samsung's native app and an iPhone send (DeviceType, User-Agent).
const (
	samsungType, samsungUA = "SAMSUNGSMG991B", "SAMSUNG-SM-G991B/101.11003"
	iphoneType, iphoneUA   = "iPhone", "Apple-iPhone14C2/2008.152"
)

// contactFolders are the contact folders (types 9 and 14) of a FolderSync.
func contactFolders(fs []client.Folder) []client.Folder {
	var out []client.Folder
	for _, f := range fs {
		if f.Type == 9 || f.Type == 14 {
			out = append(out, f)
		}
	}
	return out
}

// byFirstName maps each synced contact's first name to its ServerId.
func byFirstName(t *testing.T, got map[string]*wbxml.Element, v items.Version) map[string]string {
	t.Helper()
	out := map[string]string{}
	for id, data := range got {
		c, err := items.DecodeContact(data, v)
		if err != nil {
			t.Fatalf("decode %s: %v", id, err)
		}
		fn, _ := c.Get(items.ContactFirstName)
		out[fn] = id
	}
	return out
}

func startMergedContacts(t *testing.T, extra string) (*bridgetest.Env, *dav.Client, string) {
	t.Helper()
	e := bridgetest.Start(t, bridgetest.Options{DAV: true, UserFileExtra: extra, WatchUsers: true, Classes: func(env *bridgetest.Env) []engine.Class {
		return []engine.Class{davsync.ContactsClass(davsync.Options{Store: env.Store, PollActive: 300 * time.Millisecond, PollIdle: 300 * time.Millisecond})}
	}})
	laptop, home := davAs(t, e)
	return e, laptop, home
}

func estimateOf(ctx context.Context, t *testing.T, dev *client.Client, folder, key string) string {
	t.Helper()
	r, err := dev.Do(ctx, "GetItemEstimate", estimateReq(folder, key))
	if err != nil || r.Doc == nil {
		t.Fatalf("GetItemEstimate: %v", err)
	}
	resp := r.Doc.Child(wbxml.GetItemEstimate, "Response")
	if resp == nil || resp.ChildText(wbxml.GetItemEstimate, "Status") != "1" {
		t.Fatalf("GetItemEstimate answered %+v", r.Doc)
	}
	return resp.Child(wbxml.GetItemEstimate, "Collection").ChildText(wbxml.GetItemEstimate, "Estimate")
}

// Issue 14 at 14.1 and 16.1 against the test Radicale: a Samsung sees ONE
// type-9 folder holding the cards of both books, with ServerIds that are
// the same for a second Samsung and unique across books; its Add lands in
// the default book; its Change of a card of the second book is PUT to that
// book, keeping the properties EAS does not carry; its Delete removes the
// card there; a parked Ping on the merged folder wakes for a laptop's card
// in the second book and the estimate counts it. An iPhone of the same
// user sees both books as folders of their own.
func TestContactsMergedBooks(t *testing.T) {
	for _, ver := range []string{"14.1", "16.1"} {
		t.Run(ver, func(t *testing.T) {
			e, laptop, home := startMergedContacts(t, "")
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			v := items.Version(161)
			if ver == "14.1" {
				v = items.V141
			}
			tag := strings.ReplaceAll(ver, ".", "")
			def, work := home+"contacts/", home+"work/"
			makeBook(t, laptop, def, "Contacts", map[string]string{
				"ada.vcf":  v4Card("ada", "Ada", "Lovelace"),
				"bert.vcf": v4Card("bert", "Bert", "Bohr"),
			})
			makeBook(t, laptop, work, "Work", map[string]string{
				"wendy.vcf": "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:wendy\r\nFN:Wendy Work\r\nN:Work;Wendy;;;\r\nX-CUSTOM:kept\r\nX-ABUID:1234\r\nEND:VCARD\r\n",
				"walt.vcf":  v4Card("walt", "Walt", "Work"),
			})

			sam := e.DeviceAs(t, "sam"+tag, ver, samsungType, samsungUA)
			fs, err := sam.FolderSync(ctx, "0")
			if err != nil || fs.Status != "1" {
				t.Fatalf("FolderSync: %v %+v", err, fs)
			}
			cf := contactFolders(fs.Add)
			if len(cf) != 1 || cf[0].Type != 9 || cf[0].DisplayName != "Contacts" {
				t.Fatalf("the Samsung's contact folders: %+v, want one type-9 Contacts", cf)
			}
			merged := cf[0].ServerID
			got, key, err := sam.SyncAll(ctx, merged, client.SyncOptions{WindowSize: 3})
			if err != nil {
				t.Fatal(err)
			}
			ids := byFirstName(t, got, v)
			if len(got) != 4 || ids["Ada"] == "" || ids["Bert"] == "" || ids["Wendy"] == "" || ids["Walt"] == "" {
				t.Fatalf("the merged folder holds %d cards %v, want Ada, Bert (Contacts), Wendy, Walt (Work)", len(got), ids)
			}
			for name, id := range ids {
				if !strings.HasPrefix(id, merged+":") {
					t.Errorf("%s's ServerId %q is not in the merged folder %s", name, id, merged)
				}
			}

			// A second Samsung gets the same folder and the same ServerIds.
			sam2 := e.DeviceAs(t, "sam2"+tag, ver, samsungType, samsungUA)
			fs2, err := sam2.FolderSync(ctx, "0")
			if err != nil || fs2.Status != "1" {
				t.Fatalf("second FolderSync: %v", err)
			}
			if cf2 := contactFolders(fs2.Add); len(cf2) != 1 || cf2[0].ServerID != merged {
				t.Fatalf("the second Samsung's contact folders %+v, want the one %s", cf2, merged)
			}
			got2, _, err := sam2.SyncAll(ctx, merged, client.SyncOptions{WindowSize: 10})
			if err != nil {
				t.Fatal(err)
			}
			if ids2 := byFirstName(t, got2, v); len(ids2) != 4 || ids2["Wendy"] != ids["Wendy"] || ids2["Ada"] != ids["Ada"] {
				t.Fatalf("ServerIds differ between two Syncs: %v and %v", ids, ids2)
			}

			// An iPhone of the same user sees the books separately.
			iph := e.DeviceAs(t, "iph"+tag, ver, iphoneType, iphoneUA)
			ifs, err := iph.FolderSync(ctx, "0")
			if err != nil || ifs.Status != "1" {
				t.Fatalf("iPhone FolderSync: %v", err)
			}
			icf := contactFolders(ifs.Add)
			idef, ok1 := client.FolderByType(icf, 9)
			iwork, ok2 := client.FolderByType(icf, 14)
			if len(icf) != 2 || !ok1 || !ok2 || idef.DisplayName != "Contacts" || iwork.DisplayName != "Work" || idef.ServerID == merged || iwork.ServerID == merged {
				t.Fatalf("the iPhone's contact folders %+v, want Contacts (9) and Work (14), not the merged %s", icf, merged)
			}
			if wg, _, err := iph.SyncAll(ctx, iwork.ServerID, client.SyncOptions{WindowSize: 10}); err != nil || len(wg) != 2 {
				t.Fatalf("the iPhone's Work: %v, %d cards", err, len(wg))
			}

			// The Samsung's Add goes to the default book.
			beforeDef, beforeWork := cardsOf(t, laptop, def), cardsOf(t, laptop, work)
			add := &items.Contact{}
			add.Set(items.ContactFirstName, "Nina")
			add.Set(items.ContactLastName, "Neu")
			add.Set(items.ContactEmail1, "nina@example.org")
			r, err := sam.Sync(ctx, merged, key, client.SyncOptions{WindowSize: 10, Commands: calCommands("Add", "cl-m", add.Encode(v))})
			if err != nil || r.Status != "1" || len(r.Responses) != 1 || r.Responses[0].ChildText(wbxml.AirSync, "Status") != "1" {
				t.Fatalf("Add: %v %+v", err, r)
			}
			if id := r.Responses[0].ChildText(wbxml.AirSync, "ServerId"); !strings.HasPrefix(id, merged+":") || slices.Contains(mapValues(ids), id) {
				t.Errorf("the Add's ServerId %q: want a new one in %s", id, merged)
			}
			key = r.SyncKey
			afterDef, afterWork := cardsOf(t, laptop, def), cardsOf(t, laptop, work)
			if len(afterDef) != len(beforeDef)+1 || len(afterWork) != len(beforeWork) {
				t.Fatalf("after the Add: Contacts %d→%d, Work %d→%d cards; want the new card in Contacts", len(beforeDef), len(afterDef), len(beforeWork), len(afterWork))
			}
			for href, card := range afterDef {
				// Contacts holds vCard 4.0 only (Work's 3.0 card does not
				// count): the new card is 4.0.
				if _, old := beforeDef[href]; !old && (!hasLine(unfolded(card), "VERSION:4.0") || !strings.Contains(string(card), "nina@example.org")) {
					t.Errorf("the Add in Contacts, want vCard 4.0 with Nina's address:\n%s", card)
				}
			}

			// MoveItems out of the merged folder is refused: it is every
			// book at once (here into the iPhone's Work folder).
			mv := wbxml.New(wbxml.Move, "MoveItems")
			m := mv.Add(wbxml.Move, "Move")
			m.AddText(wbxml.Move, "SrcMsgId", ids["Ada"])
			m.AddText(wbxml.Move, "SrcFldId", merged)
			m.AddText(wbxml.Move, "DstFldId", iwork.ServerID)
			if mr, err := sam.Do(ctx, "MoveItems", mv); err != nil || mr.Doc.Child(wbxml.Move, "Response").ChildText(wbxml.Move, "Status") != "2" {
				t.Fatalf("MoveItems out of the merged folder: %v, want Status 2", err)
			}
			if n := len(cardsOf(t, laptop, def)); n != len(afterDef) {
				t.Fatalf("a refused move changed Contacts: %d cards", n)
			}

			// A Change of Wendy (Work) is PUT to Work and keeps what EAS
			// does not carry.
			c, err := items.DecodeContact(got[ids["Wendy"]], v)
			if err != nil {
				t.Fatal(err)
			}
			c.Set(items.ContactMobilePhone, "+49 170 5550001")
			c.Set(items.ContactJobTitle, "Engineer")
			r, err = sam.Sync(ctx, merged, key, client.SyncOptions{WindowSize: 10, Commands: calCommands("Change", ids["Wendy"], c.Encode(v))})
			if err != nil || r.Status != "1" || len(r.Responses) != 0 {
				t.Fatalf("Change: %v %+v", err, r)
			}
			key = r.SyncKey
			wendy := string(cardsOf(t, laptop, work)[work+"wendy.vcf"])
			for _, want := range []string{"+49 170 5550001", "Engineer", "X-CUSTOM:kept", "X-ABUID:1234", "FN:Wendy Work"} {
				if !strings.Contains(wendy, want) {
					t.Errorf("Wendy in Work after the Change lacks %q:\n%s", want, wendy)
				}
			}
			if n := len(cardsOf(t, laptop, def)); n != len(afterDef) {
				t.Errorf("the Change made a card in Contacts: %d cards, want %d", n, len(afterDef))
			}

			// A Delete of Walt (Work) removes him there.
			r, err = sam.Sync(ctx, merged, key, client.SyncOptions{WindowSize: 10, Commands: calCommands("Delete", ids["Walt"], nil)})
			if err != nil || r.Status != "1" {
				t.Fatalf("Delete: %v %+v", err, r)
			}
			key = r.SyncKey
			if wc := cardsOf(t, laptop, work); len(wc) != 1 || wc[work+"walt.vcf"] != nil {
				t.Fatalf("Work after the Delete: %d cards", len(wc))
			}
			// Its own edits do not come back to it.
			if r, err := sam.Sync(ctx, merged, key, client.SyncOptions{WindowSize: 10}); err != nil || r.Status != "1" || len(r.Items) != 0 {
				t.Fatalf("Sync after its own edits: %v %+v", err, r)
			}

			// A parked Ping on the merged folder wakes for a card the laptop
			// puts in Work; the estimate and the Sync carry it.
			ping := parkPing(t, e, sam, 120, merged)
			time.Sleep(time.Second) // the watcher is running
			if _, err := laptop.Create(ctx, work+"late.vcf", dav.ContentVCard,
				[]byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:late-1\r\nFN:Lena Late\r\nN:Late;Lena;;;\r\nEND:VCARD\r\n")); err != nil {
				t.Fatal(err)
			}
			if pr := awaitPing(t, ping, 30*time.Second); pr.status != "2" || !slices.Contains(pr.changed, merged) {
				t.Fatalf("Ping after a card in Work: %s %v, want 2 for %s", pr.status, pr.changed, merged)
			}
			if n := estimateOf(ctx, t, sam, merged, key); n != "1" {
				t.Errorf("estimate of the merged folder: %s, want 1", n)
			}
			r, err = sam.Sync(ctx, merged, key, client.SyncOptions{WindowSize: 10})
			if err != nil || len(r.Adds()) != 1 || len(r.Items) != 1 {
				t.Fatalf("Sync after the Ping: %v %+v", err, r)
			}
			lc, err := items.DecodeContact(r.Adds()[0].Data, v)
			if err != nil {
				t.Fatal(err)
			}
			if fn, _ := lc.Get(items.ContactFirstName); fn != "Lena" {
				t.Errorf("the card from the Ping: first name %q, want Lena", fn)
			}
			lena := r.Adds()[0].ServerID
			key = r.SyncKey

			// The laptop moves Lena to Contacts (a new href): the device
			// gets a Delete of her old ServerId and an Add of the new one,
			// so it holds her once.
			late, _ := laptopGet(ctx, t, laptop, work, work+"late.vcf")
			if _, err := laptop.Create(ctx, def+"late.vcf", dav.ContentVCard, late); err != nil {
				t.Fatal(err)
			}
			if err := laptop.Delete(ctx, work+"late.vcf", ""); err != nil {
				t.Fatal(err)
			}
			r, err = sam.Sync(ctx, merged, key, client.SyncOptions{WindowSize: 10})
			if err != nil || len(r.Deletes()) != 1 || r.Deletes()[0].ServerID != lena || len(r.Adds()) != 1 || r.Adds()[0].ServerID == lena {
				t.Fatalf("Sync after a move between books: %v %+v; want Delete %s and one Add", err, r, lena)
			}
			key = r.SyncKey

			// The laptop deletes the Work book: Wendy leaves the folder.
			if err := laptop.DeleteCollection(ctx, work); err != nil {
				t.Fatal(err)
			}
			r, err = sam.Sync(ctx, merged, key, client.SyncOptions{WindowSize: 10})
			if err != nil || len(r.Deletes()) != 1 || r.Deletes()[0].ServerID != ids["Wendy"] || len(r.Adds()) != 0 {
				t.Fatalf("Sync after Work was deleted: %v %+v; want Wendy (%s) deleted", err, r, ids["Wendy"])
			}
		})
	}
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// merge_books: never in the user file shows a Samsung the books
// separately; always shows an iPhone one folder.
func TestContactsMergeBooksOverride(t *testing.T) {
	for _, tc := range []struct {
		mode, deviceType, ua string
		want                 []int
	}{
		{"never", samsungType, samsungUA, []int{9, 14}},
		{"always", iphoneType, iphoneUA, []int{9}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			e, laptop, home := startMergedContacts(t, "contacts: {merge_books: "+tc.mode+"}\n")
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			makeBook(t, laptop, home+"contacts/", "Contacts", map[string]string{"ada.vcf": v4Card("ada", "Ada", "Lovelace")})
			makeBook(t, laptop, home+"work/", "Work", map[string]string{"walt.vcf": v4Card("walt", "Walt", "Work")})
			dev := e.DeviceAs(t, "ov-"+tc.mode, "14.1", tc.deviceType, tc.ua)
			fs, err := dev.FolderSync(ctx, "0")
			if err != nil || fs.Status != "1" {
				t.Fatalf("FolderSync: %v %+v", err, fs)
			}
			var types []int
			for _, f := range contactFolders(fs.Add) {
				types = append(types, f.Type)
			}
			slices.Sort(types)
			if !slices.Equal(types, tc.want) {
				t.Fatalf("merge_books %s, %s: contact folder types %v, want %v", tc.mode, tc.deviceType, types, tc.want)
			}
		})
	}
}

// A Samsung switched from merged to separate books (the user file's
// merge_books changed) gets the merged folder deleted and the books added
// by its next FolderSync, so no card is on it twice; a Sync of the old
// merged folder says FolderSync is needed (Status 12). Switched back, it
// gets the merged folder again, under the ID it had.
func TestContactsMergeModeSwitch(t *testing.T) {
	e, laptop, home := startMergedContacts(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	makeBook(t, laptop, home+"contacts/", "Contacts", map[string]string{"ada.vcf": v4Card("ada", "Ada", "Lovelace")})
	makeBook(t, laptop, home+"work/", "Work", map[string]string{"walt.vcf": v4Card("walt", "Walt", "Work")})
	sam := e.DeviceAs(t, "switch", "14.1", samsungType, samsungUA)
	fs, err := sam.FolderSync(ctx, "0")
	if err != nil || fs.Status != "1" || len(contactFolders(fs.Add)) != 1 {
		t.Fatalf("FolderSync: %v %+v", err, fs)
	}
	merged := contactFolders(fs.Add)[0].ServerID
	got, mkey, err := sam.SyncAll(ctx, merged, client.SyncOptions{WindowSize: 10})
	if err != nil || len(got) != 2 {
		t.Fatalf("merged Sync: %v, %d cards", err, len(got))
	}
	fkey := fs.SyncKey

	setMode := func(mode string) {
		t.Helper()
		data, err := os.ReadFile(e.UserFile())
		if err != nil {
			t.Fatal(err)
		}
		s := string(data)
		if i := strings.Index(s, "contacts: "); i >= 0 {
			s = s[:i]
		}
		if err := os.WriteFile(e.UserFile(), []byte(s+"contacts: {merge_books: "+mode+"}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// folderSyncUntil runs FolderSync until it carries changes (the users
	// directory reloads the file on its own schedule).
	folderSyncUntil := func() *client.FolderChanges {
		t.Helper()
		var out *client.FolderChanges
		testenv.WaitFor(t, 30*time.Second, "FolderSync to carry the new mode", func() bool {
			r, err := sam.FolderSync(ctx, fkey)
			if err != nil || r.Status != "1" {
				t.Fatalf("FolderSync: %v %+v", err, r)
			}
			fkey = r.SyncKey
			if len(r.Add)+len(r.Delete) == 0 {
				return false
			}
			out = r
			return true
		})
		return out
	}

	setMode("never")
	ch := folderSyncUntil()
	books := contactFolders(ch.Add)
	if !slices.Equal(ch.Delete, []string{merged}) || len(books) != 2 {
		t.Fatalf("after merge_books never: Delete %v, Add %+v; want the merged folder deleted and both books added", ch.Delete, ch.Add)
	}
	if r, err := sam.Sync(ctx, merged, mkey, client.SyncOptions{WindowSize: 10}); err != nil || r.Status != "12" {
		t.Fatalf("Sync of the old merged folder: %v %+v, want Status 12", err, r)
	}
	total := 0
	for _, b := range books {
		g, _, err := sam.SyncAll(ctx, b.ServerID, client.SyncOptions{WindowSize: 10})
		if err != nil {
			t.Fatal(err)
		}
		total += len(g)
	}
	if total != 2 {
		t.Fatalf("the books hold %d cards on the device, want 2", total)
	}

	setMode("auto")
	ch = folderSyncUntil()
	back := contactFolders(ch.Add)
	slices.Sort(ch.Delete)
	want := []string{books[0].ServerID, books[1].ServerID}
	slices.Sort(want)
	if len(back) != 1 || back[0].ServerID != merged || !slices.Equal(ch.Delete, want) {
		t.Fatalf("after merge_books auto: Delete %v, Add %+v; want the books deleted and %s added", ch.Delete, ch.Add, merged)
	}
	if g, _, err := sam.SyncAll(ctx, merged, client.SyncOptions{WindowSize: 10}); err != nil || len(g) != 2 {
		t.Fatalf("merged Sync after switching back: %v, %d cards", err, len(g))
	}
}

// FolderCreate of a contacts folder from a merged device still makes an
// address book upstream (other clients see it), but the device is not
// shown it separately: its next FolderSync deletes the ID it was given,
// and the new book's cards arrive in the one Contacts folder.
func TestContactsMergedFolderCreate(t *testing.T) {
	e, laptop, home := startMergedContacts(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	makeBook(t, laptop, home+"contacts/", "Contacts", map[string]string{"ada.vcf": v4Card("ada", "Ada", "Lovelace")})
	sam := e.DeviceAs(t, "create", "14.1", samsungType, samsungUA)
	fs, err := sam.FolderSync(ctx, "0")
	if err != nil || fs.Status != "1" || len(contactFolders(fs.Add)) != 1 {
		t.Fatalf("FolderSync: %v %+v", err, fs)
	}
	merged := contactFolders(fs.Add)[0].ServerID
	_, key, err := sam.SyncAll(ctx, merged, client.SyncOptions{WindowSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	req := wbxml.New(wbxml.FolderHierarchy, "FolderCreate")
	for _, kv := range [][2]string{{"SyncKey", fs.SyncKey}, {"ParentId", "0"}, {"DisplayName", "Family"}, {"Type", "14"}} {
		req.AddText(wbxml.FolderHierarchy, kv[0], kv[1])
	}
	cr, err := sam.Do(ctx, "FolderCreate", req)
	if err != nil || cr.Status() != "1" {
		t.Fatalf("FolderCreate: %v", err)
	}
	created, fkey := cr.Doc.ChildText(wbxml.FolderHierarchy, "ServerId"), cr.Doc.ChildText(wbxml.FolderHierarchy, "SyncKey")
	cols, err := laptop.AddressBooks(ctx, home)
	if err != nil {
		t.Fatal(err)
	}
	var family string
	for _, c := range cols {
		if c.DisplayName == "Family" {
			family = c.Href
		}
	}
	if family == "" {
		t.Fatalf("no Family book upstream after FolderCreate: %+v", cols)
	}
	ch, err := sam.FolderSync(ctx, fkey)
	if err != nil || ch.Status != "1" || !slices.Equal(ch.Delete, []string{created}) || len(contactFolders(ch.Add)) != 0 {
		t.Fatalf("FolderSync after the create: %v %+v; want %s deleted and no contact folder added", err, ch, created)
	}
	if _, err := laptop.Create(ctx, family+"kid.vcf", dav.ContentVCard, []byte(v4Card("kid", "Kim", "Kid"))); err != nil {
		t.Fatal(err)
	}
	r, err := sam.Sync(ctx, merged, key, client.SyncOptions{WindowSize: 10})
	if err != nil || r.Status != "1" || len(r.Adds()) != 1 {
		t.Fatalf("merged Sync after a card in Family: %v %+v", err, r)
	}
}

// A Samsung learns of a changed merge_books by Ping Status 7: the hub's
// hierarchy poll includes the setting, read from the principal of the
// user's latest request, so the Ping after the file changed (a parked one
// holds the old principal: within one heartbeat) is answered 7.
func TestContactsMergeModePing(t *testing.T) {
	e := bridgetest.Start(t, bridgetest.Options{DAV: true, WatchUsers: true,
		Push: bridge.PushOptions{HierarchyInterval: 200 * time.Millisecond},
		Classes: func(env *bridgetest.Env) []engine.Class {
			return []engine.Class{davsync.ContactsClass(davsync.Options{Store: env.Store, PollActive: 300 * time.Millisecond, PollIdle: 300 * time.Millisecond})}
		}})
	laptop, home := davAs(t, e)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	makeBook(t, laptop, home+"contacts/", "Contacts", map[string]string{"ada.vcf": v4Card("ada", "Ada", "Lovelace")})
	makeBook(t, laptop, home+"work/", "Work", map[string]string{"walt.vcf": v4Card("walt", "Walt", "Work")})
	sam := e.DeviceAs(t, "ping-switch", "14.1", samsungType, samsungUA)
	fs, err := sam.FolderSync(ctx, "0")
	if err != nil || fs.Status != "1" || len(contactFolders(fs.Add)) != 1 {
		t.Fatalf("FolderSync: %v %+v", err, fs)
	}
	merged := contactFolders(fs.Add)[0].ServerID
	if _, _, err := sam.SyncAll(ctx, merged, client.SyncOptions{WindowSize: 10}); err != nil {
		t.Fatal(err)
	}
	// A Ping parked before the change (its principal holds the old file):
	// it ends with its short heartbeat, and the device pings again.
	first := parkPing(t, e, sam, 2, merged)
	data, err := os.ReadFile(e.UserFile())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.UserFile(), append(data, "contacts: {merge_books: never}\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	var st string
	testenv.WaitFor(t, 60*time.Second, "a Ping answering Status 7", func() bool {
		select {
		case pr := <-first:
			if pr.err != nil {
				t.Fatalf("Ping: %v", pr.err)
			}
			st = pr.status
			if st == "7" {
				return true
			}
		default:
			return false
		}
		// The device pings again (as after any answer): that request's
		// principal carries the new file.
		first = parkPing(t, e, sam, 60, merged)
		return false
	})
	if st != "7" {
		t.Fatalf("Ping status %s, want 7", st)
	}
	ch, err := sam.FolderSync(ctx, fs.SyncKey)
	if err != nil || !slices.Equal(ch.Delete, []string{merged}) || len(contactFolders(ch.Add)) != 2 {
		t.Fatalf("FolderSync after Status 7: %v %+v", err, ch)
	}
}
