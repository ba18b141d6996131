package imap

import (
	"context"
	"strings"

	imapv2 "github.com/emersion/go-imap/v2"
)

// Special folder roles (Folder.Special).
const (
	SpecialInbox   = "inbox"
	SpecialDrafts  = "drafts"
	SpecialSent    = "sent"
	SpecialTrash   = "trash"
	SpecialJunk    = "junk"
	SpecialArchive = "archive"
	SpecialAll     = "all"
	SpecialFlagged = "flagged"
)

// Folder is one mailbox from LIST.
type Folder struct {
	Name      string
	Delimiter rune     // hierarchy separator, 0 if the server has none
	Attrs     []string // as sent, e.g. `\HasNoChildren`, `\Sent`
	Special   string   // one of the Special* roles, or ""
	ObjectID  string   // RFC 8474 MAILBOXID; empty: not parsed by go-imap beta.8
	NoSelect  bool     // \Noselect or \NonExistent: a container, holds no mail
}

// specialUseAttrs maps RFC 6154 attributes to roles.
var specialUseAttrs = map[imapv2.MailboxAttr]string{
	imapv2.MailboxAttrDrafts:  SpecialDrafts,
	imapv2.MailboxAttrSent:    SpecialSent,
	imapv2.MailboxAttrTrash:   SpecialTrash,
	imapv2.MailboxAttrJunk:    SpecialJunk,
	imapv2.MailboxAttrArchive: SpecialArchive,
	imapv2.MailboxAttrAll:     SpecialAll,
	imapv2.MailboxAttrFlagged: SpecialFlagged,
}

// wellKnownNames is the fallback for servers without SPECIAL-USE: names
// (lower case) that common clients and servers use for each role.
var wellKnownNames = map[string]string{
	"drafts":           SpecialDrafts,
	"sent":             SpecialSent,
	"sent items":       SpecialSent,
	"sent messages":    SpecialSent,
	"sent mail":        SpecialSent,
	"trash":            SpecialTrash,
	"deleted items":    SpecialTrash,
	"deleted messages": SpecialTrash,
	"junk":             SpecialJunk,
	"junk e-mail":      SpecialJunk,
	"spam":             SpecialJunk,
	"archive":          SpecialArchive,
	"archives":         SpecialArchive,
}

// ListFolders lists every mailbox with its role. Roles come from RFC 6154
// attributes when the server marks them; a role no folder is marked with
// falls back to a well-known name (top level or under "INBOX<delim>").
// Each role is given to at most one folder.
func (s *Session) ListFolders(ctx context.Context) ([]Folder, error) {
	var opts *imapv2.ListOptions
	if s.caps.SpecialUse && s.caps.ListExtended {
		opts = &imapv2.ListOptions{ReturnSpecialUse: true}
	}
	var data []*imapv2.ListData
	err := s.do(ctx, "list", 1, func() error {
		var err error
		data, err = s.client.List("", "*", opts).Collect()
		return err
	})
	if err != nil {
		return nil, err
	}
	return foldersFromList(data), nil
}

func foldersFromList(data []*imapv2.ListData) []Folder {
	folders := make([]Folder, 0, len(data))
	taken := map[string]bool{}
	for _, d := range data {
		f := Folder{Name: d.Mailbox, Delimiter: d.Delim}
		for _, a := range d.Attrs {
			f.Attrs = append(f.Attrs, string(a))
			switch {
			case strings.EqualFold(string(a), string(imapv2.MailboxAttrNoSelect)),
				strings.EqualFold(string(a), string(imapv2.MailboxAttrNonExistent)):
				f.NoSelect = true
			}
			if role, ok := specialUseAttrs[canonicalAttr(a)]; ok && f.Special == "" && !taken[role] {
				f.Special = role
				taken[role] = true
			}
		}
		if strings.EqualFold(d.Mailbox, "INBOX") {
			f.Special = SpecialInbox
			taken[SpecialInbox] = true
		}
		folders = append(folders, f)
	}
	for i := range folders {
		f := &folders[i]
		if f.Special != "" || f.NoSelect {
			continue
		}
		role := roleByName(f.Name, f.Delimiter)
		if role != "" && !taken[role] {
			f.Special = role
			taken[role] = true
		}
	}
	return folders
}

// canonicalAttr matches attributes case-insensitively (`\sent` = `\Sent`).
func canonicalAttr(a imapv2.MailboxAttr) imapv2.MailboxAttr {
	for k := range specialUseAttrs {
		if strings.EqualFold(string(k), string(a)) {
			return k
		}
	}
	return a
}

func roleByName(name string, delim rune) string {
	lower := strings.ToLower(name)
	if delim != 0 {
		prefix := "inbox" + string(delim)
		lower = strings.TrimPrefix(lower, prefix)
		if strings.ContainsRune(lower, delim) {
			return "" // deeper folders are the user's own
		}
	}
	return wellKnownNames[lower]
}

// CreateFolder creates a mailbox.
func (s *Session) CreateFolder(ctx context.Context, name string) error {
	return s.do(ctx, "create", 1, func() error { return s.client.Create(name, nil).Wait() })
}

// RenameFolder renames a mailbox (and, per RFC 3501, its children).
func (s *Session) RenameFolder(ctx context.Context, oldName, newName string) error {
	return s.do(ctx, "rename", 1, func() error { return s.client.Rename(oldName, newName, nil).Wait() })
}

// DeleteFolder deletes a mailbox. If it is selected, it is unselected
// first from our bookkeeping (the server deselects it).
func (s *Session) DeleteFolder(ctx context.Context, name string) error {
	if s.selected == name {
		s.selected = ""
	}
	return s.do(ctx, "delete", 1, func() error { return s.client.Delete(name).Wait() })
}
