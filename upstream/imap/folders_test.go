package imap

import (
	"testing"

	imapv2 "github.com/emersion/go-imap/v2"
)

func TestListFoldersDovecotSpecialUse(t *testing.T) {
	s := mustDial(t, plainConfig(t))
	folders, err := s.ListFolders(testCtx(t))
	if err != nil {
		t.Fatalf("ListFolders: %v", err)
	}
	got := map[string]string{}
	for _, f := range folders {
		got[f.Name] = f.Special
		if f.Delimiter != '/' {
			t.Errorf("%s: delimiter %q, want '/'", f.Name, f.Delimiter)
		}
	}
	want := map[string]string{
		"INBOX": SpecialInbox, "Drafts": SpecialDrafts, "Sent": SpecialSent,
		"Trash": SpecialTrash, "Junk": SpecialJunk, "Archive": SpecialArchive,
	}
	for name, role := range want {
		if got[name] != role {
			t.Errorf("folder %q: special %q, want %q (all: %v)", name, got[name], role, got)
		}
	}
}

func TestFoldersFromListRoles(t *testing.T) {
	list := func(name string, delim rune, attrs ...imapv2.MailboxAttr) *imapv2.ListData {
		return &imapv2.ListData{Mailbox: name, Delim: delim, Attrs: attrs}
	}
	tests := []struct {
		name string
		in   []*imapv2.ListData
		want map[string]string
	}{
		{
			name: "names without special-use",
			in: []*imapv2.ListData{
				list("INBOX", '.'), list("INBOX.Sent Items", '.'), list("Deleted Messages", '.'),
				list("SPAM", '.'), list("Drafts", '.'), list("Archive", '.'), list("Work", '.'),
			},
			want: map[string]string{
				"INBOX": SpecialInbox, "INBOX.Sent Items": SpecialSent, "Deleted Messages": SpecialTrash,
				"SPAM": SpecialJunk, "Drafts": SpecialDrafts, "Archive": SpecialArchive, "Work": "",
			},
		},
		{
			name: "attribute beats name",
			in: []*imapv2.ListData{
				list("inbox", '/'), list("Trash", '/'), list("Papierkorb", '/', `\Trash`),
				list("Gesendet", '/', `\sent`), list("Sent", '/'), list("All Mail", '/', `\All`, `\HasNoChildren`),
			},
			want: map[string]string{
				"inbox": SpecialInbox, "Trash": "", "Papierkorb": SpecialTrash,
				"Gesendet": SpecialSent, "Sent": "", "All Mail": SpecialAll,
			},
		},
		{
			name: "deeper folders and containers keep no role",
			in: []*imapv2.ListData{
				list("Projects/Trash", '/'), list("Junk", '/', `\Noselect`), list("INBOX/Junk", '/'),
			},
			want: map[string]string{"Projects/Trash": "", "Junk": "", "INBOX/Junk": SpecialJunk},
		},
		{
			name: "first of two folders with one role wins",
			in:   []*imapv2.ListData{list("Sent", '/'), list("Sent Messages", '/')},
			want: map[string]string{"Sent": SpecialSent, "Sent Messages": ""},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			folders := foldersFromList(tc.in)
			if len(folders) != len(tc.in) {
				t.Fatalf("got %d folders, want %d", len(folders), len(tc.in))
			}
			for _, f := range folders {
				if f.Special != tc.want[f.Name] {
					t.Errorf("%q: special %q, want %q", f.Name, f.Special, tc.want[f.Name])
				}
			}
		})
	}
}

func TestFolderCreateRenameDelete(t *testing.T) {
	s := mustDial(t, plainConfig(t))
	ctx := testCtx(t)
	names := func() map[string]Folder {
		fs, err := s.ListFolders(ctx)
		if err != nil {
			t.Fatalf("ListFolders: %v", err)
		}
		m := map[string]Folder{}
		for _, f := range fs {
			m[f.Name] = f
		}
		return m
	}
	if err := s.CreateFolder(ctx, "Projects/Ünïcode"); err != nil {
		t.Fatalf("CreateFolder: %v", err)
	}
	if _, ok := names()["Projects/Ünïcode"]; !ok {
		t.Fatal("created folder not listed")
	}
	if err := s.RenameFolder(ctx, "Projects/Ünïcode", "Projects/Renamed"); err != nil {
		t.Fatalf("RenameFolder: %v", err)
	}
	m := names()
	if _, ok := m["Projects/Renamed"]; !ok {
		t.Fatal("renamed folder not listed")
	}
	if _, ok := m["Projects/Ünïcode"]; ok {
		t.Fatal("old name still listed")
	}
	if err := s.DeleteFolder(ctx, "Projects/Renamed"); err != nil {
		t.Fatalf("DeleteFolder: %v", err)
	}
	if _, ok := names()["Projects/Renamed"]; ok {
		t.Fatal("deleted folder still listed")
	}
	// A NO leaves the session usable.
	err := s.DeleteFolder(ctx, "No/Such/Folder")
	var se *ServerError
	if !errorsAs(err, &se) || se.Status != "NO" {
		t.Fatalf("DeleteFolder of a missing folder = %v, want a NO ServerError", err)
	}
	if s.Broken() {
		t.Fatal("session broken after a NO")
	}
	if _, err := s.Status(ctx, "INBOX"); err != nil {
		t.Fatalf("Status after NO: %v", err)
	}
}
