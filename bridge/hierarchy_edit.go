package bridge

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/bridge/foldermap"
	"github.com/idlebridge/idlebridge/bridge/state"
)

// FolderCreate, FolderUpdate and FolderDelete over the folder sources:
// the FolderSync key is checked here, the source's engine.FolderEditor
// changes the server, the folder map follows, and what the device now
// knows is committed under a new key. FolderCreate routes by the requested
// type, FolderUpdate and FolderDelete by the kind of the folder. The
// mailboxes are an engine.FolderTree (bridge/mail): a rename may move the
// folder and carries its children along, a delete takes them too.

// kindOfType is the kind a FolderCreate of folderType makes
// (MS-ASCMD 2.2.3.186.3) and the type the folder is listed with: a
// generic folder is made a mailbox, listed as user mail. ok is false for
// types no folder can be created of (the special folders).
func kindOfType(folderType int) (kind engine.Kind, listed int, ok bool) {
	switch folderType {
	case activesync.FolderTasks, activesync.FolderUserTasks:
		return engine.KindTasks, folderType, true
	case activesync.FolderCalendar, activesync.FolderUserCalendar:
		return engine.KindCalendar, folderType, true
	case activesync.FolderContacts, activesync.FolderUserContacts:
		return engine.KindContacts, folderType, true
	case activesync.FolderUserMail, activesync.FolderUserGeneric:
		return engine.KindMail, activesync.FolderUserMail, true
	}
	return "", 0, false
}

// editor returns the FolderEditor of kind's source (the first class that
// serves the kind, as the router's), or nil.
func (h hierarchies) editor(k engine.Kind) engine.FolderEditor {
	if k == engine.KindMail {
		ed, _ := h.mail.(engine.FolderEditor)
		return ed
	}
	for _, c := range h.classes {
		if slices.Contains(c.Kinds, k) {
			ed, _ := c.Hierarchy.(engine.FolderEditor)
			return ed
		}
	}
	return nil
}

// validFolderName is the check every kind shares (the front refuses
// invalid UTF-8 too); a source may refuse more (mail: the hierarchy
// delimiter, IMAP wildcards).
func validFolderName(name string) bool {
	return name != "" && len(name) <= 255 && !strings.ContainsAny(name, "\r\n") && utf8.ValidString(name)
}

// editErr is how an editor's failure reaches the front. A FolderTree
// (the mail engine) answers in the front's terms already: statuses,
// outages and refused logins, as mail's folder commands always did.
// Other editors' statuses and outages pass through, and anything else is a
// server error of the folder command (Status 6).
func editErr(ed engine.FolderEditor, err error, op string) error {
	if _, tree := ed.(engine.FolderTree); tree {
		return err
	}
	var ae *activesync.Error
	if errors.As(err, &ae) || errors.Is(err, activesync.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, state.ErrUnavailable) {
		return upstreamErr(err)
	}
	return &activesync.Error{Status: activesync.FolderStatusServerError, Command: true, Msg: "provider refused folder " + op, Err: err}
}

// create makes a folder of folderType. A type no source can create is a
// malformed request for this server (Status 10). The parent goes to a
// FolderTree whatever its kind (mail refuses a parent that is not a
// mailbox, Status 5); to other editors only when it is of the same kind,
// else the collection is created at the class's root (its next listing
// says where it is).
func (h hierarchies) create(ctx context.Context, a activesync.Account, deviceID, syncKey, parentID, name string, folderType int) (string, string, error) {
	acct, err := account(a)
	if err != nil {
		return "", "", err
	}
	user := acct.Address()
	col, role, err := h.key(ctx, user, deviceID, syncKey)
	if err != nil {
		return "", "", err
	}
	kind, listedType, ok := kindOfType(folderType)
	var ed engine.FolderEditor
	if ok {
		ed = h.editor(kind)
	}
	if ed == nil {
		return "", "", activesync.CommandStatus(activesync.FolderStatusBadRequest, "folders of this type cannot be created here")
	}
	if !validFolderName(name) {
		return "", "", activesync.CommandStatus(activesync.FolderStatusBadRequest, "bad folder name")
	}
	_, tree := ed.(engine.FolderTree)
	var parent engine.Ref
	if parentID != "" && parentID != "0" {
		pr, ok, err := foldermap.RefOf(ctx, h.store, user, parentID)
		if err != nil {
			return "", "", storeErr(err)
		}
		if !ok {
			return "", "", activesync.CommandStatus(activesync.FolderStatusParentMissing, "parent folder not found")
		}
		if pr.Kind == kind || tree {
			parent = pr
		}
	}
	ref, err := ed.CreateFolder(ctx, acct.Principal, parent, name, folderType)
	if err != nil {
		return "", "", editErr(ed, err, "create")
	}
	ref.Kind = kind
	fm, err := foldermap.Update(ctx, h.store, user, func(fm *foldermap.Map) *state.Delta {
		d := &state.Delta{Set: map[string]string{}}
		fm.AssignRef(ref, d)
		return d
	})
	if err != nil {
		return "", "", storeErr(err)
	}
	newID, _ := fm.IDOf(ref)
	apply := &state.Delta{Set: map[string]string{newID: folderSignature(listedType, parentID, name)}}
	key, err := h.edit(ctx, user, deviceID, col, role, apply)
	return key, newID, err
}

// folderTarget is what an edit of an existing folder starts from: the
// device's hierarchy key, the folder's upstream reference and the editor
// of its kind.
type folderTarget struct {
	acct *Account
	user string
	col  *state.Collection
	role engine.Role
	ref  engine.Ref
	ed   engine.FolderEditor
}

// target checks the sync key and resolves serverID for update and remove,
// in the order the statuses are answered: a bad key, an unknown folder
// (Status 4), a kind whose source cannot edit folders (Status 3, with
// refused as the message: a special folder, MS-ASCMD 2.2.3.177.6).
func (h hierarchies) target(ctx context.Context, a activesync.Account, deviceID, syncKey, serverID, refused string) (folderTarget, error) {
	acct, err := account(a)
	if err != nil {
		return folderTarget{}, err
	}
	t := folderTarget{acct: acct, user: acct.Address()}
	if t.col, t.role, err = h.key(ctx, t.user, deviceID, syncKey); err != nil {
		return folderTarget{}, err
	}
	ref, ok, err := foldermap.RefOf(ctx, h.store, t.user, serverID)
	if err != nil {
		return folderTarget{}, storeErr(err)
	}
	if !ok {
		return folderTarget{}, activesync.CommandStatus(activesync.FolderStatusNotFound, "folder not found")
	}
	t.ref, t.ed = ref, h.editor(ref.Kind)
	if t.ed == nil {
		return folderTarget{}, activesync.CommandStatus(activesync.FolderStatusSpecial, refused)
	}
	return t, nil
}

// update renames a folder, keeping its ID. A FolderTree may move it under
// parentID too; other editors rename in place, the device keeping the
// folder's type and parent. A kind whose source cannot edit folders
// answers Status 3 (a special folder: cannot be changed, MS-ASCMD
// 2.2.3.177.6).
func (h hierarchies) update(ctx context.Context, a activesync.Account, deviceID, syncKey, serverID, parentID, name string) (string, error) {
	t, err := h.target(ctx, a, deviceID, syncKey, serverID, "this folder cannot be changed")
	if err != nil {
		return "", err
	}
	acct, user, col, role, ref, ed := t.acct, t.user, t.col, t.role, t.ref, t.ed
	if !validFolderName(name) {
		return "", activesync.CommandStatus(activesync.FolderStatusBadRequest, "bad folder name")
	}
	if tree, ok := ed.(engine.FolderTree); ok {
		var parent engine.Ref
		if parentID != "" && parentID != "0" {
			pr, ok, err := foldermap.RefOf(ctx, h.store, user, parentID)
			if err != nil {
				return "", storeErr(err)
			}
			if !ok {
				return "", activesync.CommandStatus(activesync.FolderStatusParentMissing, "parent folder not found")
			}
			parent = pr
		}
		f, err := tree.MoveFolder(ctx, acct.Principal, ref, parent, name)
		if err != nil {
			return "", editErr(ed, err, "rename")
		}
		apply := &state.Delta{Set: map[string]string{serverID: folderSignature(f.Type, parentID, name)}}
		return h.edit(ctx, user, deviceID, col, role, apply)
	}
	nref, err := ed.RenameFolder(ctx, acct.Principal, ref, name)
	if err != nil {
		return "", editErr(ed, err, "rename")
	}
	nref.Kind = ref.Kind
	if nref != ref {
		if _, err := foldermap.Update(ctx, h.store, user, func(fm *foldermap.Map) *state.Delta {
			d := &state.Delta{Set: map[string]string{}}
			if _, ok := fm.Refs[serverID]; ok {
				fm.SetRef(serverID, nref, d)
			}
			return d
		}); err != nil {
			return "", storeErr(err)
		}
	}
	// The device keeps the folder's type and parent; only the name moved.
	typ, parent := 0, "0"
	if have, err := engine.DeviceViewOf(ctx, h.store, user, deviceID, hierarchyCollection, col, role, []string{serverID}); err == nil {
		if parts := strings.SplitN(have[serverID], "|", 3); len(parts) == 3 {
			typ, parent = atoiOr(parts[0], 0), parts[1]
		}
	}
	apply := &state.Delta{Set: map[string]string{serverID: folderSignature(typ, parent, name)}}
	return h.edit(ctx, user, deviceID, col, role, apply)
}

// remove deletes a folder (with a FolderTree, the folders below it too),
// drops them from the folder map and the device's sync state of them (the
// device drops their items itself).
func (h hierarchies) remove(ctx context.Context, a activesync.Account, deviceID, syncKey, serverID string) (string, error) {
	t, err := h.target(ctx, a, deviceID, syncKey, serverID, "this folder cannot be deleted")
	if err != nil {
		return "", err
	}
	acct, user, col, role, ref, ed := t.acct, t.user, t.col, t.role, t.ref, t.ed
	deleted := []engine.Ref{ref}
	if tree, ok := ed.(engine.FolderTree); ok {
		deleted, err = tree.DeleteTree(ctx, acct.Principal, ref)
	} else {
		err = ed.DeleteFolder(ctx, acct.Principal, ref)
	}
	if err != nil {
		return "", editErr(ed, err, "delete")
	}
	var ids []string
	if _, err := foldermap.Update(ctx, h.store, user, func(fm *foldermap.Map) *state.Delta {
		d := &state.Delta{}
		ids = ids[:0]
		for _, r := range deleted {
			r.Kind = ref.Kind
			if id, ok := fm.IDOf(r); ok {
				fm.Remove(id, d)
				ids = append(ids, id)
			}
		}
		return d
	}); err != nil {
		return "", storeErr(err)
	}
	if !slices.Contains(ids, serverID) {
		ids = append(ids, serverID) // gone from the map already: the device drops it all the same
	}
	for _, id := range ids {
		if err := h.store.ResetCollection(ctx, user, deviceID, id); err != nil {
			return "", storeErr(err)
		}
	}
	return h.edit(ctx, user, deviceID, col, role, &state.Delta{Del: ids})
}

func atoiOr(s string, def int) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return def
}
