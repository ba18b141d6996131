package bridge

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/bridge/state"
)

// The Bridge's folder commands. FolderSync merges every hierarchy source
// (the IMAP LIST and each class's Hierarchy); FolderCreate routes by the
// requested type, FolderUpdate and FolderDelete by the kind of the folder.
// Each edit that succeeds tells the user's other devices (their parked
// Pings answer Status 7 if their FolderSync state lacks the change; the
// device itself holds it already: no echo by state).

func (b *Bridge) hierarchies() hierarchies { return hierarchies{m: b.Mail, classes: b.classes} }

// FolderSync implements activesync.FolderSyncer.
func (b *Bridge) FolderSync(ctx context.Context, a activesync.Account, deviceID, syncKey string) (*activesync.FolderChanges, error) {
	return b.hierarchies().folderSync(ctx, a, deviceID, syncKey)
}

// kindOfType is the kind a FolderCreate of folderType makes
// (MS-ASCMD 2.2.3.186.3); ok is false for mail and generic folders.
func kindOfType(folderType int) (engine.Kind, bool) {
	switch folderType {
	case activesync.FolderTasks, activesync.FolderUserTasks:
		return engine.KindTasks, true
	case activesync.FolderCalendar, activesync.FolderUserCalendar:
		return engine.KindCalendar, true
	case activesync.FolderContacts, activesync.FolderUserContacts:
		return engine.KindContacts, true
	}
	return "", false
}

// editor returns the FolderEditor of kind's class, or nil.
func (b *Bridge) editor(k engine.Kind) engine.FolderEditor {
	if c := b.byKind[k]; c != nil {
		if ed, ok := c.Hierarchy.(engine.FolderEditor); ok {
			return ed
		}
	}
	return nil
}

// FolderCreate implements activesync.FolderSyncer.
func (b *Bridge) FolderCreate(ctx context.Context, a activesync.Account, deviceID, syncKey, parentID, name string, folderType int) (string, string, error) {
	var key, id string
	var err error
	if kind, ok := kindOfType(folderType); ok {
		key, id, err = b.createClassFolder(ctx, a, deviceID, syncKey, parentID, name, folderType, kind)
	} else {
		key, id, err = b.Mail.FolderCreate(ctx, a, deviceID, syncKey, parentID, name, folderType)
	}
	b.notifyHierarchy(ctx, a, deviceID, err)
	return key, id, err
}

// FolderUpdate implements activesync.FolderSyncer.
func (b *Bridge) FolderUpdate(ctx context.Context, a activesync.Account, deviceID, syncKey, serverID, parentID, name string) (string, error) {
	ref, ok, err := b.folderRef(ctx, a, serverID)
	if err != nil {
		return "", err
	}
	var key string
	if !ok || ref.Kind == engine.KindMail {
		// Not in the map: mail's LIST decides whether it exists.
		key, err = b.Mail.FolderUpdate(ctx, a, deviceID, syncKey, serverID, parentID, name)
	} else {
		key, err = b.renameClassFolder(ctx, a, deviceID, syncKey, serverID, name, ref)
	}
	b.notifyHierarchy(ctx, a, deviceID, err)
	return key, err
}

// FolderDelete implements activesync.FolderSyncer.
func (b *Bridge) FolderDelete(ctx context.Context, a activesync.Account, deviceID, syncKey, serverID string) (string, error) {
	ref, ok, err := b.folderRef(ctx, a, serverID)
	if err != nil {
		return "", err
	}
	var key string
	if !ok || ref.Kind == engine.KindMail {
		key, err = b.Mail.FolderDelete(ctx, a, deviceID, syncKey, serverID)
	} else {
		key, err = b.deleteClassFolder(ctx, a, deviceID, syncKey, serverID, ref)
	}
	b.notifyHierarchy(ctx, a, deviceID, err)
	return key, err
}

func (b *Bridge) folderRef(ctx context.Context, a activesync.Account, id string) (engine.Ref, bool, error) {
	acct, err := account(a)
	if err != nil {
		return engine.Ref{}, false, err
	}
	r, ok, err := refOf(ctx, b.Store, acct.Address(), id)
	return r, ok, storeErr(err)
}

// validFolderName is the check every kind shares (the front refuses
// invalid UTF-8 too).
func validFolderName(name string) bool {
	return name != "" && len(name) <= 255 && !strings.ContainsAny(name, "\r\n") && utf8.ValidString(name)
}

// folderEditErr passes statuses and outages through and makes anything
// else a server error of the folder command (Status 6).
func folderEditErr(err error, op string) error {
	var ae *activesync.Error
	if errors.As(err, &ae) || errors.Is(err, activesync.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, state.ErrUnavailable) {
		return upstreamErr(err)
	}
	return &activesync.Error{Status: activesync.FolderStatusServerError, Command: true, Msg: "provider refused folder " + op, Err: err}
}

// createClassFolder creates a calendar, task list or address book. A
// kind no class can create is a malformed request for this server
// (Status 10, as before classes existed). The parent is passed on when it
// is a folder of the same kind; under the root or a folder of another
// kind the collection is created at the class's root (its next listing
// says where it is).
func (b *Bridge) createClassFolder(ctx context.Context, a activesync.Account, deviceID, syncKey, parentID, name string, folderType int, kind engine.Kind) (string, string, error) {
	acct, err := account(a)
	if err != nil {
		return "", "", err
	}
	user := acct.Address()
	col, role, err := b.Mail.hierarchyKey(ctx, user, deviceID, syncKey)
	if err != nil {
		return "", "", err
	}
	ed := b.editor(kind)
	if ed == nil {
		return "", "", activesync.CommandStatus(activesync.FolderStatusBadRequest, "folders of this type cannot be created here")
	}
	if !validFolderName(name) {
		return "", "", activesync.CommandStatus(activesync.FolderStatusBadRequest, "bad folder name")
	}
	var parent engine.Ref
	if parentID != "" && parentID != "0" {
		pr, ok, err := refOf(ctx, b.Store, user, parentID)
		if err != nil {
			return "", "", storeErr(err)
		}
		if !ok {
			return "", "", activesync.CommandStatus(activesync.FolderStatusParentMissing, "parent folder not found")
		}
		if pr.Kind == kind {
			parent = pr
		}
	}
	ref, err := ed.CreateFolder(ctx, acct.Principal, parent, name, folderType)
	if err != nil {
		return "", "", folderEditErr(err, "create")
	}
	ref.Kind = kind
	fm, err := updateFolderMap(ctx, b.Store, user, func(fm *folderMap) *state.Delta {
		d := &state.Delta{Set: map[string]string{}}
		fm.AssignRef(ref, d)
		return d
	})
	if err != nil {
		return "", "", storeErr(err)
	}
	newID := fm.ByRef[ref]
	apply := &state.Delta{Set: map[string]string{newID: folderSignature(folderType, parentID, name)}}
	key, err := b.Mail.hierarchyEdit(ctx, user, deviceID, col, role, apply)
	return key, newID, err
}

// renameClassFolder renames a non-mail folder, keeping its ID. A kind
// whose class cannot edit folders answers Status 3 (a special folder:
// cannot be changed, MS-ASCMD 2.2.3.177.6).
func (b *Bridge) renameClassFolder(ctx context.Context, a activesync.Account, deviceID, syncKey, serverID, name string, ref engine.Ref) (string, error) {
	acct, err := account(a)
	if err != nil {
		return "", err
	}
	user := acct.Address()
	col, role, err := b.Mail.hierarchyKey(ctx, user, deviceID, syncKey)
	if err != nil {
		return "", err
	}
	ed := b.editor(ref.Kind)
	if ed == nil {
		return "", activesync.CommandStatus(activesync.FolderStatusSpecial, "this folder cannot be changed")
	}
	if !validFolderName(name) {
		return "", activesync.CommandStatus(activesync.FolderStatusBadRequest, "bad folder name")
	}
	nref, err := ed.RenameFolder(ctx, acct.Principal, ref, name)
	if err != nil {
		return "", folderEditErr(err, "rename")
	}
	nref.Kind = ref.Kind
	if nref != ref {
		if _, err := updateFolderMap(ctx, b.Store, user, func(fm *folderMap) *state.Delta {
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
	if have, err := engine.DeviceViewOf(ctx, b.Store, user, deviceID, hierarchyCollection, col, role, []string{serverID}); err == nil {
		if parts := strings.SplitN(have[serverID], "|", 3); len(parts) == 3 {
			typ, parent = atoiOr(parts[0], 0), parts[1]
		}
	}
	apply := &state.Delta{Set: map[string]string{serverID: folderSignature(typ, parent, name)}}
	return b.Mail.hierarchyEdit(ctx, user, deviceID, col, role, apply)
}

// deleteClassFolder deletes a non-mail folder and drops the device's sync
// state of it (the device drops its items itself).
func (b *Bridge) deleteClassFolder(ctx context.Context, a activesync.Account, deviceID, syncKey, serverID string, ref engine.Ref) (string, error) {
	acct, err := account(a)
	if err != nil {
		return "", err
	}
	user := acct.Address()
	col, role, err := b.Mail.hierarchyKey(ctx, user, deviceID, syncKey)
	if err != nil {
		return "", err
	}
	ed := b.editor(ref.Kind)
	if ed == nil {
		return "", activesync.CommandStatus(activesync.FolderStatusSpecial, "this folder cannot be deleted")
	}
	if err := ed.DeleteFolder(ctx, acct.Principal, ref); err != nil {
		return "", folderEditErr(err, "delete")
	}
	if _, err := updateFolderMap(ctx, b.Store, user, func(fm *folderMap) *state.Delta {
		d := &state.Delta{}
		if _, ok := fm.Refs[serverID]; ok {
			fm.Remove(serverID, d)
		}
		return d
	}); err != nil {
		return "", storeErr(err)
	}
	if err := b.Store.ResetCollection(ctx, user, deviceID, serverID); err != nil {
		return "", storeErr(err)
	}
	return b.Mail.hierarchyEdit(ctx, user, deviceID, col, role, &state.Delta{Del: []string{serverID}})
}

func atoiOr(s string, def int) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return def
}
