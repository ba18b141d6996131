package bridge

import (
	"context"
	"errors"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

// FolderCreate implements activesync.FolderSyncer: IMAP CREATE of a user
// mail folder. Other folder types are not mail and get Status 10 here.
func (m *Mail) FolderCreate(ctx context.Context, a activesync.Account, deviceID, syncKey, parentID, name string, folderType int) (string, string, error) {
	acct, err := account(a)
	if err != nil {
		return "", "", err
	}
	user := acct.Address()
	col, role, err := m.hierarchyKey(ctx, user, deviceID, syncKey)
	if err != nil {
		return "", "", err
	}
	if folderType != activesync.FolderUserMail && folderType != activesync.FolderUserGeneric {
		return "", "", activesync.CommandStatus(activesync.FolderStatusBadRequest, "only mail folders can be created")
	}
	var newID string
	err = m.withSession(ctx, acct, "FolderCreate", func(s *imap.Session) error {
		folders, _, err := m.listHierarchy(ctx, acct, s)
		if err != nil {
			return err
		}
		mailbox, err := childMailbox(folders, parentID, name)
		if err != nil {
			return err
		}
		for _, f := range folders {
			if strings.EqualFold(f.Mailbox, mailbox) {
				return activesync.CommandStatus(activesync.FolderStatusExists, "folder exists")
			}
		}
		if err := s.CreateFolder(ctx, mailbox); err != nil {
			if isServerNo(err) {
				return folderServerStatus(err, "create")
			}
			return err
		}
		fm, err := m.updateFolderMap(ctx, user, func(fm *folderMap) *state.Delta {
			d := &state.Delta{Set: map[string]string{}}
			fm.Assign(mailbox, d)
			return d
		})
		if err != nil {
			return err
		}
		newID = fm.ByName[mailbox]
		return nil
	})
	if err != nil {
		return "", "", err
	}
	apply := &state.Delta{Set: map[string]string{newID: folderSignature(activesync.FolderUserMail, parentID, name)}}
	key, err := m.hierarchyEdit(ctx, user, deviceID, col, role, apply)
	return key, newID, err
}

// childMailbox validates a new folder's parent and name and returns the
// mailbox name to create.
func childMailbox(folders []hierarchyFolder, parentID, name string) (string, error) {
	// Invalid UTF-8 would reach the provider mangled (IMAP mailbox names
	// are UTF-7 or UTF-8 text); the front refuses it too.
	if name == "" || len(name) > 255 || strings.ContainsAny(name, "\r\n*%") || !utf8.ValidString(name) {
		return "", activesync.CommandStatus(activesync.FolderStatusBadRequest, "bad folder name")
	}
	delim := rune('/')
	for _, f := range folders {
		if f.Delim != 0 {
			delim = f.Delim
			break
		}
	}
	if strings.ContainsRune(name, delim) {
		return "", activesync.CommandStatus(activesync.FolderStatusBadRequest, "folder name contains the hierarchy delimiter")
	}
	if parentID == "" || parentID == "0" {
		return name, nil
	}
	for _, f := range folders {
		if f.ServerID == parentID {
			if f.Delim != 0 {
				delim = f.Delim
			}
			return f.Mailbox + string(delim) + name, nil
		}
	}
	return "", activesync.CommandStatus(activesync.FolderStatusParentMissing, "parent folder not found")
}

// folderServerStatus maps a refused CREATE/RENAME/DELETE.
func folderServerStatus(err error, op string) error {
	var se *imap.ServerError
	if asServerNo(err, &se) && strings.EqualFold(se.Code, "ALREADYEXISTS") {
		return activesync.CommandStatus(activesync.FolderStatusExists, "folder exists")
	}
	if asServerNo(err, &se) && strings.EqualFold(se.Code, "NONEXISTENT") {
		return activesync.CommandStatus(activesync.FolderStatusNotFound, "folder not found")
	}
	return &activesync.Error{Status: activesync.FolderStatusServerError, Command: true, Msg: "provider refused folder " + op, Err: err}
}

// FolderUpdate implements activesync.FolderSyncer: IMAP RENAME, keeping the
// folder's ID (and its children's).
func (m *Mail) FolderUpdate(ctx context.Context, a activesync.Account, deviceID, syncKey, serverID, parentID, name string) (string, error) {
	acct, err := account(a)
	if err != nil {
		return "", err
	}
	user := acct.Address()
	col, role, err := m.hierarchyKey(ctx, user, deviceID, syncKey)
	if err != nil {
		return "", err
	}
	apply := &state.Delta{Set: map[string]string{}}
	err = m.withSession(ctx, acct, "FolderUpdate", func(s *imap.Session) error {
		folders, _, err := m.listHierarchy(ctx, acct, s)
		if err != nil {
			return err
		}
		target, err := editableFolder(folders, serverID, "changed")
		if err != nil {
			return err
		}
		if parentID == serverID {
			return activesync.CommandStatus(activesync.FolderStatusBadRequest, "folder cannot be its own parent")
		}
		mailbox, err := childMailbox(folders, parentID, name)
		if err != nil {
			return err
		}
		if mailbox == target.Mailbox {
			apply.Set[serverID] = folderSignature(target.Type, parentID, name)
			return nil
		}
		if target.Delim != 0 && strings.HasPrefix(mailbox, target.Mailbox+string(target.Delim)) {
			return activesync.CommandStatus(activesync.FolderStatusBadRequest, "folder cannot move below itself")
		}
		for _, f := range folders {
			if strings.EqualFold(f.Mailbox, mailbox) {
				return activesync.CommandStatus(activesync.FolderStatusExists, "folder exists")
			}
		}
		if err := s.RenameFolder(ctx, target.Mailbox, mailbox); err != nil {
			if isServerNo(err) {
				return folderServerStatus(err, "rename")
			}
			return err
		}
		_, err = m.updateFolderMap(ctx, user, func(fm *folderMap) *state.Delta {
			d := &state.Delta{Set: map[string]string{}}
			fm.Rename(target.Mailbox, mailbox, target.Delim, d)
			return d
		})
		if err != nil {
			return err
		}
		apply.Set[serverID] = folderSignature(target.Type, parentID, name)
		return nil
	})
	if err != nil {
		return "", err
	}
	return m.hierarchyEdit(ctx, user, deviceID, col, role, apply)
}

// FolderDelete implements activesync.FolderSyncer: IMAP DELETE of the
// folder and every folder below it (deepest first, since servers refuse
// to delete a mailbox that still has children, or leave them orphaned).
func (m *Mail) FolderDelete(ctx context.Context, a activesync.Account, deviceID, syncKey, serverID string) (string, error) {
	acct, err := account(a)
	if err != nil {
		return "", err
	}
	user := acct.Address()
	col, role, err := m.hierarchyKey(ctx, user, deviceID, syncKey)
	if err != nil {
		return "", err
	}
	apply := &state.Delta{}
	err = m.withSession(ctx, acct, "FolderDelete", func(s *imap.Session) error {
		folders, _, err := m.listHierarchy(ctx, acct, s)
		if err != nil {
			return err
		}
		target, err := editableFolder(folders, serverID, "deleted")
		if err != nil {
			return err
		}
		doomed := []hierarchyFolder{target}
		if target.Delim != 0 {
			prefix := target.Mailbox + string(target.Delim)
			for _, f := range folders {
				if strings.HasPrefix(f.Mailbox, prefix) {
					doomed = append(doomed, f)
				}
			}
		}
		sort.SliceStable(doomed, func(i, j int) bool { return len(doomed[i].Mailbox) > len(doomed[j].Mailbox) })
		for _, f := range doomed {
			if err := s.DeleteFolder(ctx, f.Mailbox); err != nil {
				if isServerNo(err) {
					return folderServerStatus(err, "delete")
				}
				return err
			}
		}
		_, err = m.updateFolderMap(ctx, user, func(fm *folderMap) *state.Delta {
			d := &state.Delta{}
			for _, f := range doomed {
				if _, ok := fm.ByID[f.ServerID]; ok {
					fm.Remove(f.ServerID, d)
				}
			}
			return d
		})
		if err != nil {
			return err
		}
		for _, f := range doomed {
			apply.Del = append(apply.Del, f.ServerID)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	// The device drops the folders' items itself; drop their sync state.
	for _, id := range apply.Del {
		if err := m.store.ResetCollection(ctx, user, deviceID, id); err != nil {
			return "", storeErr(err)
		}
	}
	return m.hierarchyEdit(ctx, user, deviceID, col, role, apply)
}

// editableFolder finds the folder a FolderUpdate or FolderDelete names, and
// refuses special folders (Inbox, Sent, Trash...) with the statuses of
// MS-ASCMD 2.2.3.177.4/6; verb completes "special folders cannot be …".
func editableFolder(folders []hierarchyFolder, id, verb string) (hierarchyFolder, error) {
	for _, f := range folders {
		if f.ServerID != id {
			continue
		}
		if f.Special != "" {
			return f, activesync.CommandStatus(activesync.FolderStatusSpecial, "special folders cannot be "+verb)
		}
		return f, nil
	}
	return hierarchyFolder{}, activesync.CommandStatus(activesync.FolderStatusNotFound, "folder not found")
}

// isServerNo reports whether err is a tagged NO/BAD from the IMAP server,
// i.e. the server refused this one operation and the session is fine.
func isServerNo(err error) bool {
	var se *imap.ServerError
	return errors.As(err, &se)
}

// asServerNo is errors.As for *imap.ServerError.
func asServerNo(err error, target **imap.ServerError) bool {
	return errors.As(err, target)
}
