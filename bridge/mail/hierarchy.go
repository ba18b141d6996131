package mail

import (
	"context"
	"sort"
	"strings"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/accounts"
	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/bridge/foldermap"
	"github.com/idlebridge/idlebridge/bridge/login"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

// Hierarchy is the user's mailboxes as a folder source for FolderSync
// (engine.Hierarchy) and their editor (engine.FolderTree: IMAP CREATE,
// RENAME, DELETE). The sync keys of FolderSync are the bridge's, which
// merges this listing with the other classes' under one key.
type Hierarchy struct{ m *Engine }

// Hierarchy returns the mailbox hierarchy of the engine.
func (m *Engine) Hierarchy() Hierarchy { return Hierarchy{m} }

var _ engine.FolderTree = Hierarchy{}

// Kinds implements engine.Hierarchy.
func (Hierarchy) Kinds() []engine.Kind { return []engine.Kind{engine.KindMail} }

// mailbox is a listed mailbox with what the folder commands need of it.
type mailbox struct {
	engine.Folder        // Ref.Path is the mailbox name
	id            string // its folder ID
	special       string
	delim         rune
}

func (f mailbox) name() string { return f.Ref.Path }

func mailRef(name string) engine.Ref { return engine.Ref{Kind: engine.KindMail, Path: name} }

// folderType maps IMAP roles to EAS folder types (MS-ASCMD 2.2.3.186.3).
// There is no Outbox upstream: IMAP has none, and the devices this bridge
// serves send with SendMail, which does not need one, so none is invented.
// Junk and Archive are ordinary user mail folders (EAS has no such types).
func folderType(f imap.Folder) int {
	switch f.Special {
	case imap.SpecialInbox:
		return activesync.FolderInbox
	case imap.SpecialDrafts:
		return activesync.FolderDrafts
	case imap.SpecialTrash:
		return activesync.FolderDeletedItems
	case imap.SpecialSent:
		return activesync.FolderSentItems
	}
	return activesync.FolderUserMail
}

// buildHierarchy turns a LIST and the user's ID map into the device view.
// A folder whose parent is not listed hangs off the root under its full
// name (Parent is the zero Ref); \Noselect containers are listed so
// children have a parent. The order is the one FolderSync sends: parents
// before children (devices may reject an Add whose parent they do not
// know yet), then by ID for a stable answer.
func buildHierarchy(listed []imap.Folder, fm *foldermap.Map) []mailbox {
	out := make([]mailbox, 0, len(listed))
	for _, f := range listed {
		id, ok := fm.ByName[f.Name]
		if !ok {
			continue
		}
		var parent engine.Ref
		display := f.Name
		if f.Delimiter != 0 {
			if i := strings.LastIndex(f.Name, string(f.Delimiter)); i > 0 {
				if _, ok := fm.ByName[f.Name[:i]]; ok {
					parent, display = mailRef(f.Name[:i]), f.Name[i+1:]
				}
			}
		}
		if f.Special == imap.SpecialInbox {
			display = "Inbox"
		}
		out = append(out, mailbox{
			Folder: engine.Folder{Ref: mailRef(f.Name), Parent: parent, DisplayName: display, Type: folderType(f)},
			id:     id, special: f.Special, delim: f.Delimiter,
		})
	}
	depth := func(f mailbox) int {
		if f.delim == 0 {
			return 0
		}
		return strings.Count(f.name(), string(f.delim))
	}
	sort.SliceStable(out, func(i, j int) bool {
		if di, dj := depth(out[i]), depth(out[j]); di != dj {
			return di < dj
		}
		return idLess(out[i].id, out[j].id)
	})
	return out
}

// list lists the user's mailboxes and makes the folder map match.
func (h Hierarchy) list(ctx context.Context, user string, s *imap.Session) ([]mailbox, error) {
	listed, err := s.ListFolders(ctx)
	if err != nil {
		return nil, err
	}
	fm, err := foldermap.ReconcileMail(ctx, h.m.store, user, listed)
	if err != nil {
		return nil, err
	}
	return buildHierarchy(listed, fm), nil
}

// Folders implements engine.Hierarchy with one LIST (and a folder map
// update when it changed), in the order FolderSync sends.
func (h Hierarchy) Folders(ctx context.Context, p *accounts.Principal, _ engine.Client) ([]engine.Folder, error) {
	var out []engine.Folder
	err := h.m.withSession(ctx, &login.Account{Principal: p}, "FolderSync", func(s *imap.Session) error {
		boxes, err := h.list(ctx, p.User.Address, s)
		if err != nil {
			return err
		}
		out = make([]engine.Folder, len(boxes))
		for i, b := range boxes {
			out[i] = b.Folder
		}
		return nil
	})
	return out, err
}
