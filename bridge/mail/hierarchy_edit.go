package mail

import (
	"context"
	"errors"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/accounts"
	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/bridge/foldermap"
	"github.com/idlebridge/idlebridge/bridge/login"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

// The mailbox edits of FolderCreate/FolderUpdate/FolderDelete. Each lists
// the mailboxes first (one LIST, the folder map reconciled), so a parent
// or a name is judged against what the server holds now, then changes
// the server; the bridge checks the FolderSync key before and commits
// what the device now knows after.

// CreateFolder implements engine.FolderEditor: IMAP CREATE of a user mail
// folder under parent (a mailbox; the zero Ref: the root). Other folder
// types are not mail and get Status 10.
func (h Hierarchy) CreateFolder(ctx context.Context, p *accounts.Principal, parent engine.Ref, name string, folderType int) (engine.Ref, error) {
	if folderType != activesync.FolderUserMail && folderType != activesync.FolderUserGeneric {
		return engine.Ref{}, activesync.CommandStatus(activesync.FolderStatusBadRequest, "only mail folders can be created")
	}
	var created engine.Ref
	err := h.m.withSession(ctx, &login.Account{Principal: p}, "FolderCreate", func(s *imap.Session) error {
		folders, err := h.list(ctx, p.User.Address, s)
		if err != nil {
			return err
		}
		name, err := childMailbox(folders, parent, name)
		if err != nil {
			return err
		}
		for _, f := range folders {
			if strings.EqualFold(f.name(), name) {
				return activesync.CommandStatus(activesync.FolderStatusExists, "folder exists")
			}
		}
		if err := s.CreateFolder(ctx, name); err != nil {
			if isServerNo(err) {
				return folderServerStatus(err, "create")
			}
			return err
		}
		created = mailRef(name)
		return nil
	})
	return created, err
}

// childMailbox validates a new folder's parent and name and returns the
// mailbox name to create.
func childMailbox(folders []mailbox, parent engine.Ref, name string) (string, error) {
	// Invalid UTF-8 would reach the provider mangled (IMAP mailbox names
	// are UTF-7 or UTF-8 text); the front refuses it too.
	if name == "" || len(name) > 255 || strings.ContainsAny(name, "\r\n*%") || !utf8.ValidString(name) {
		return "", activesync.CommandStatus(activesync.FolderStatusBadRequest, "bad folder name")
	}
	delim := rune('/')
	for _, f := range folders {
		if f.delim != 0 {
			delim = f.delim
			break
		}
	}
	if strings.ContainsRune(name, delim) {
		return "", activesync.CommandStatus(activesync.FolderStatusBadRequest, "folder name contains the hierarchy delimiter")
	}
	if parent == (engine.Ref{}) {
		return name, nil
	}
	if parent.Kind == engine.KindMail {
		for _, f := range folders {
			if f.name() == parent.Path {
				if f.delim != 0 {
					delim = f.delim
				}
				return f.name() + string(delim) + name, nil
			}
		}
	}
	return "", activesync.CommandStatus(activesync.FolderStatusParentMissing, "parent folder not found")
}

// folderServerStatus maps a refused CREATE/RENAME/DELETE.
func folderServerStatus(err error, op string) error {
	var se *imap.ServerError
	if errors.As(err, &se) && strings.EqualFold(se.Code, "ALREADYEXISTS") {
		return activesync.CommandStatus(activesync.FolderStatusExists, "folder exists")
	}
	if errors.As(err, &se) && strings.EqualFold(se.Code, "NONEXISTENT") {
		return activesync.CommandStatus(activesync.FolderStatusNotFound, "folder not found")
	}
	return &activesync.Error{Status: activesync.FolderStatusServerError, Command: true, Msg: "provider refused folder " + op, Err: err}
}

// RenameFolder implements engine.FolderEditor: MoveFolder under the
// folder's own parent.
func (h Hierarchy) RenameFolder(ctx context.Context, p *accounts.Principal, ref engine.Ref, name string) (engine.Ref, error) {
	f, err := h.move(ctx, p, ref, engine.Ref{}, true, name)
	return f.Ref, err
}

// MoveFolder implements engine.FolderTree: IMAP RENAME, which carries the
// mailboxes below along; the folder map keeps every ID.
func (h Hierarchy) MoveFolder(ctx context.Context, p *accounts.Principal, ref, parent engine.Ref, name string) (engine.Folder, error) {
	return h.move(ctx, p, ref, parent, false, name)
}

// move renames ref to name under parent (keepParent: under its own).
func (h Hierarchy) move(ctx context.Context, p *accounts.Principal, ref, parent engine.Ref, keepParent bool, name string) (engine.Folder, error) {
	user := p.User.Address
	var moved engine.Folder
	err := h.m.withSession(ctx, &login.Account{Principal: p}, "FolderUpdate", func(s *imap.Session) error {
		folders, err := h.list(ctx, user, s)
		if err != nil {
			return err
		}
		target, err := editableFolder(folders, ref, "changed")
		if err != nil {
			return err
		}
		if keepParent {
			parent = target.Parent
		}
		if parent == ref {
			return activesync.CommandStatus(activesync.FolderStatusBadRequest, "folder cannot be its own parent")
		}
		to, err := childMailbox(folders, parent, name)
		if err != nil {
			return err
		}
		moved = engine.Folder{Ref: mailRef(to), Parent: parent, DisplayName: name, Type: target.Type}
		if to == target.name() {
			return nil
		}
		if target.delim != 0 && strings.HasPrefix(to, target.name()+string(target.delim)) {
			return activesync.CommandStatus(activesync.FolderStatusBadRequest, "folder cannot move below itself")
		}
		for _, f := range folders {
			if strings.EqualFold(f.name(), to) {
				return activesync.CommandStatus(activesync.FolderStatusExists, "folder exists")
			}
		}
		if err := s.RenameFolder(ctx, target.name(), to); err != nil {
			if isServerNo(err) {
				return folderServerStatus(err, "rename")
			}
			return err
		}
		_, err = foldermap.Update(ctx, h.m.store, user, func(fm *foldermap.Map) *state.Delta {
			d := &state.Delta{Set: map[string]string{}}
			fm.Rename(target.name(), to, target.delim, d)
			return d
		})
		return err
	})
	if err != nil {
		return engine.Folder{}, err
	}
	return moved, nil
}

// DeleteFolder implements engine.FolderEditor: DeleteTree.
func (h Hierarchy) DeleteFolder(ctx context.Context, p *accounts.Principal, ref engine.Ref) error {
	_, err := h.DeleteTree(ctx, p, ref)
	return err
}

// DeleteTree implements engine.FolderTree: IMAP DELETE of the folder and
// every folder below it (deepest first, since servers refuse to delete a
// mailbox that still has children, or leave them orphaned).
func (h Hierarchy) DeleteTree(ctx context.Context, p *accounts.Principal, ref engine.Ref) ([]engine.Ref, error) {
	var deleted []engine.Ref
	err := h.m.withSession(ctx, &login.Account{Principal: p}, "FolderDelete", func(s *imap.Session) error {
		folders, err := h.list(ctx, p.User.Address, s)
		if err != nil {
			return err
		}
		target, err := editableFolder(folders, ref, "deleted")
		if err != nil {
			return err
		}
		doomed := []mailbox{target}
		if target.delim != 0 {
			prefix := target.name() + string(target.delim)
			for _, f := range folders {
				if strings.HasPrefix(f.name(), prefix) {
					doomed = append(doomed, f)
				}
			}
		}
		sort.SliceStable(doomed, func(i, j int) bool { return len(doomed[i].name()) > len(doomed[j].name()) })
		for _, f := range doomed {
			if err := s.DeleteFolder(ctx, f.name()); err != nil {
				if isServerNo(err) {
					return folderServerStatus(err, "delete")
				}
				return err
			}
			deleted = append(deleted, f.Ref)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return deleted, nil
}

// editableFolder finds the folder a FolderUpdate or FolderDelete names, and
// refuses special folders (Inbox, Sent, Trash...) with the statuses of
// MS-ASCMD 2.2.3.177.4/6; verb completes "special folders cannot be …".
func editableFolder(folders []mailbox, ref engine.Ref, verb string) (mailbox, error) {
	if ref.Kind == engine.KindMail {
		for _, f := range folders {
			if f.Ref != ref {
				continue
			}
			if f.special != "" {
				return f, activesync.CommandStatus(activesync.FolderStatusSpecial, "special folders cannot be "+verb)
			}
			return f, nil
		}
	}
	return mailbox{}, activesync.CommandStatus(activesync.FolderStatusNotFound, "folder not found")
}
