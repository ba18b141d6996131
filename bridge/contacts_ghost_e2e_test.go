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
	"github.com/idlebridge/idlebridge/internal/testenv"
	"github.com/idlebridge/idlebridge/upstream/dav"
)

// Research P6 at 14.1: a phone whose Supported list leaves Birthday out
// does not show birthdays, so its edit of a phone number must keep BDAY;
// one that lists Birthday (or sends no list) clears it when it leaves the
// element out (MS-ASCMD 2.2.3.179).
func TestContactsGhostingBySupported(t *testing.T) {
	for _, tc := range []struct {
		name      string
		supported []string
		keepBDay  bool
	}{
		{"birthday not supported", []string{"FirstName", "LastName", "FileAs", "MobilePhoneNumber", "Email1Address"}, true},
		{"birthday supported", []string{"FirstName", "LastName", "MobilePhoneNumber", "Birthday"}, false},
		{"no Supported", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := bridgetest.Start(t, bridgetest.Options{DAV: true, Classes: func(env *bridgetest.Env) []engine.Class {
				return []engine.Class{davsync.ContactsClass(davsync.Options{Store: env.Store, PollActive: time.Hour, PollIdle: time.Hour})}
			}})
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			laptop, err := dav.New(dav.Config{URL: testenv.DAVURL(t), Username: e.User, Password: e.Password, Timeout: 30 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			book := "/" + e.User + "/contacts/"
			if err := laptop.MakeAddressBook(ctx, book, "Contacts"); err != nil {
				t.Fatal(err)
			}
			card := "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:ghost-card\r\nFN:Ann Lee\r\nN:Lee;Ann;;;\r\nTEL;TYPE=CELL:+1 555 0100\r\nBDAY:1980-04-02\r\nEND:VCARD\r\n"
			if _, err := laptop.Create(ctx, book+"ann.vcf", dav.ContentVCard, []byte(card)); err != nil {
				t.Fatal(err)
			}
			dev := e.Device(t, "cg"+strings.ReplaceAll(tc.name, " ", ""), "14.1")
			fs, err := dev.FolderSync(ctx, "0")
			if err != nil || fs.Status != "1" {
				t.Fatalf("FolderSync: %v %+v", err, fs)
			}
			f, _ := client.FolderByType(fs.Add, 9)
			opts := client.SyncOptions{WindowSize: 10}
			if tc.supported != nil {
				sup := wbxml.New(wbxml.AirSync, "Supported")
				for _, n := range tc.supported {
					sup.Add(wbxml.Contacts, n)
				}
				opts.Supported = sup
			}
			got, key, err := dev.SyncAll(ctx, f.ServerID, opts)
			if err != nil || len(got) != 1 {
				t.Fatalf("sync: %d items, %v", len(got), err)
			}
			var id string
			for k := range got {
				id = k
			}
			change := &items.Contact{}
			change.Set(items.ContactFirstName, "Ann")
			change.Set(items.ContactLastName, "Lee")
			change.Set(items.ContactMobilePhone, "+1 555 0199")
			r, err := dev.Sync(ctx, f.ServerID, key, client.SyncOptions{WindowSize: 10, Commands: calCommands("Change", id, change.Encode(items.V141))})
			if err != nil || r.Status != "1" {
				t.Fatalf("change: %v %+v", err, r)
			}
			after, _ := laptopGet(ctx, t, laptop, book, book+"ann.vcf")
			lines := unfolded(after)
			if !hasLine(lines, "TEL;TYPE=CELL:+1 555 0199") {
				t.Errorf("the phone did not change:\n%s", after)
			}
			if kept := hasLine(lines, "BDAY:1980-04-02"); kept != tc.keepBDay {
				t.Errorf("BDAY kept = %v, want %v:\n%s", kept, tc.keepBDay, after)
			}
		})
	}
}
