package imap

import (
	"testing"

	imapv2 "github.com/emersion/go-imap/v2"
)

// FuzzFoldersFromList feeds server-controlled LIST data (names, delimiter,
// attributes) to the role mapping: it must not panic and must give each
// role to at most one folder.
func FuzzFoldersFromList(f *testing.F) {
	f.Add("INBOX.Sent Items", int32('.'), `\Sent`, "Trash", `\HasNoChildren`)
	f.Add("", int32(0), "", "inbox", `\Noselect`)
	f.Fuzz(func(t *testing.T, name1 string, delim int32, attr1, name2, attr2 string) {
		in := []*imapv2.ListData{
			{Mailbox: name1, Delim: rune(delim), Attrs: []imapv2.MailboxAttr{imapv2.MailboxAttr(attr1)}},
			{Mailbox: name2, Delim: rune(delim), Attrs: []imapv2.MailboxAttr{imapv2.MailboxAttr(attr2)}},
			{Mailbox: "Sent", Delim: rune(delim)},
		}
		seen := map[string]bool{}
		for _, fo := range foldersFromList(in) {
			if fo.Special == "" || fo.Special == SpecialInbox {
				continue
			}
			if seen[fo.Special] {
				t.Fatalf("role %q given twice", fo.Special)
			}
			seen[fo.Special] = true
		}
	})
}

// FuzzUIDSetWire checks that the compact wire form of any UID list
// contains exactly those UIDs.
func FuzzUIDSetWire(f *testing.F) {
	f.Add([]byte{1, 2, 3, 9, 0, 255})
	f.Fuzz(func(t *testing.T, b []byte) {
		var uids []uint32
		want := map[uint32]bool{}
		for i := 0; i+1 < len(b); i += 2 {
			u := uint32(b[i])<<8 | uint32(b[i+1])
			uids = append(uids, u)
			if u != 0 {
				want[u] = true
			}
		}
		got := expandUIDs(UIDs(uids...).wire())
		if len(got) != len(want) {
			t.Fatalf("wire form of %v expands to %d UIDs, want %d", uids, len(got), len(want))
		}
		for _, u := range got {
			if !want[u] {
				t.Fatalf("wire form has %d, not in %v", u, uids)
			}
		}
	})
}
