package bridge

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

// hierarchyCollection is the per-device collection that holds what the
// device knows of the folder hierarchy: snapshot folder ID -> signature
// (type|parent|name), and the FolderSync key.
const hierarchyCollection = ""

// hierarchyFolder is a mailbox as the device sees it.
type hierarchyFolder struct {
	activesync.Folder
	Mailbox string
	Special string
	Delim   rune
}

func folderSignature(typ int, parentID, name string) string {
	return strconv.Itoa(typ) + "|" + parentID + "|" + name
}

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
// name; \Noselect containers are listed (type 12) so children have a parent.
func buildHierarchy(listed []imap.Folder, fm *folderMap) []hierarchyFolder {
	out := make([]hierarchyFolder, 0, len(listed))
	for _, f := range listed {
		id, ok := fm.ByName[f.Name]
		if !ok {
			continue
		}
		parent, display := "0", f.Name
		if f.Delimiter != 0 {
			if i := strings.LastIndex(f.Name, string(f.Delimiter)); i > 0 {
				if pid, ok := fm.ByName[f.Name[:i]]; ok {
					parent, display = pid, f.Name[i+1:]
				}
			}
		}
		if f.Special == imap.SpecialInbox {
			display = "Inbox"
		}
		out = append(out, hierarchyFolder{
			Folder:  activesync.Folder{ServerID: id, ParentID: parent, DisplayName: display, Type: folderType(f)},
			Mailbox: f.Name, Special: f.Special, Delim: f.Delimiter,
		})
	}
	// Parents before children (devices may reject an Add whose parent they
	// do not know yet), then by ID for a stable answer.
	depth := func(f hierarchyFolder) int {
		if f.Delim == 0 {
			return 0
		}
		return strings.Count(f.Mailbox, string(f.Delim))
	}
	sort.SliceStable(out, func(i, j int) bool {
		if di, dj := depth(out[i]), depth(out[j]); di != dj {
			return di < dj
		}
		return idLess(out[i].ServerID, out[j].ServerID)
	})
	return out
}

// idLess orders numeric IDs numerically.
func idLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// listHierarchy lists the user's mailboxes, updates the ID map and returns
// the device view.
func (m *Mail) listHierarchy(ctx context.Context, acct *Account, s *imap.Session) ([]hierarchyFolder, *folderMap, error) {
	listed, err := s.ListFolders(ctx)
	if err != nil {
		return nil, nil, err
	}
	fm, err := m.reconcileFolders(ctx, acct.Address(), listed)
	if err != nil {
		return nil, nil, err
	}
	return buildHierarchy(listed, fm), fm, nil
}

// FolderSync implements activesync.FolderSyncer for the mailboxes alone
// (the Bridge's FolderSync adds its classes' folders).
func (m *Mail) FolderSync(ctx context.Context, a activesync.Account, deviceID, syncKey string) (*activesync.FolderChanges, error) {
	return hierarchies{m: m}.folderSync(ctx, a, deviceID, syncKey)
}

// hierarchies is every folder source of a FolderSync: the mailboxes, and
// the hierarchy of each class plugged in beside mail.
type hierarchies struct {
	m       *Mail
	classes []engine.Class
}

// listing is the hierarchy as a FolderSync would send it now.
type listing struct {
	folders []activesync.Folder
	// kept are the IDs of folders whose source could not be listed: the
	// device keeps them as it knows them (no Delete, no Update).
	kept map[string]bool
}

// current lists every source. The mail LIST failing fails the whole
// listing (as before classes existed); a class failing only marks its
// folders kept, and is logged.
func (h hierarchies) current(ctx context.Context, acct *Account, deviceID, op string) (*listing, error) {
	var mail []hierarchyFolder
	var fm *folderMap
	err := h.m.withSession(ctx, acct, op, func(s *imap.Session) error {
		var err error
		mail, fm, err = h.m.listHierarchy(ctx, acct, s)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := &listing{kept: map[string]bool{}}
	for _, f := range mail {
		out.folders = append(out.folders, f.Folder)
	}
	if len(h.classes) == 0 {
		return out, nil
	}
	user := acct.Address()
	client := engine.Client{DeviceID: deviceID}
	if d, err := h.m.store.GetDevice(ctx, user, deviceID); err == nil {
		client.DeviceType, client.UserAgent = d.Type, d.UserAgent
	}
	failed := map[engine.Kind]bool{}
	type listed struct {
		kinds   []engine.Kind
		folders []engine.Folder
	}
	var got []listed
	var owned []engine.Kind
	var refs []engine.Ref
	for _, c := range h.classes {
		if c.Hierarchy == nil {
			continue
		}
		kinds := c.Hierarchy.Kinds()
		folders, err := c.Hierarchy.Folders(ctx, acct.Principal, client)
		if err != nil {
			h.m.log.Warn("folder sync: a folder source failed; the device keeps its folders as they are",
				"user", user, "device", deviceID, "kinds", kinds, "err", err)
			for _, k := range kinds {
				failed[k] = true
			}
			continue
		}
		for _, f := range folders {
			refs = append(refs, f.Ref)
		}
		owned = append(owned, kinds...)
		got = append(got, listed{kinds, folders})
	}
	// One map update for every class listed (usually a read and no write).
	if len(owned) > 0 {
		if fm, err = reconcileKinds(ctx, h.m.store, user, owned, refs); err != nil {
			return nil, err
		}
	}
	for id, r := range fm.Refs {
		if failed[r.Kind] {
			out.kept[id] = true
		}
	}
	for _, l := range got {
		out.folders = append(out.folders, classFolders(fm, l.folders)...)
	}
	return out, nil
}

// classFolders gives a class's folders their IDs and parents from the map,
// parents before children (devices may reject an Add whose parent they do
// not know yet).
func classFolders(fm *folderMap, folders []engine.Folder) []activesync.Folder {
	idOf := func(r engine.Ref) (string, bool) {
		if r.Kind == engine.KindMail {
			id, ok := fm.ByName[r.Path]
			return id, ok
		}
		id, ok := fm.ByRef[r]
		return id, ok
	}
	var all []activesync.Folder
	for _, f := range folders {
		id, ok := idOf(f.Ref)
		if !ok || f.Hidden {
			continue
		}
		parent := "0"
		if f.Parent != (engine.Ref{}) {
			if pid, ok := idOf(f.Parent); ok && pid != id {
				parent = pid
			}
		}
		all = append(all, activesync.Folder{ServerID: id, ParentID: parent, DisplayName: f.DisplayName, Type: f.Type})
	}
	out := make([]activesync.Folder, 0, len(all))
	placed := map[string]bool{"0": true}
	for len(out) < len(all) {
		progress := false
		for _, f := range all {
			if !placed[f.ServerID] && placed[f.ParentID] {
				out, placed[f.ServerID], progress = append(out, f), true, true
			}
		}
		if !progress {
			// A parent outside this listing (another kind's folder, a
			// cycle): the rest go as they are.
			for _, f := range all {
				if !placed[f.ServerID] {
					out, placed[f.ServerID] = append(out, f), true
				}
			}
		}
	}
	return out
}

// folderSync answers a FolderSync over every source.
func (h hierarchies) folderSync(ctx context.Context, a activesync.Account, deviceID, syncKey string) (*activesync.FolderChanges, error) {
	m := h.m
	acct, err := account(a)
	if err != nil {
		return nil, err
	}
	user := acct.Address()
	col, err := engine.Header(ctx, m.store, user, deviceID, hierarchyCollection)
	if err != nil {
		return nil, storeErr(err)
	}
	role := engine.Classify(col, syncKey)
	if role == engine.Unknown {
		stale, err := m.staleFolderKey(ctx, user, deviceID, syncKey)
		if err != nil {
			return nil, storeErr(err)
		}
		if stale < staleFolderKeyLimit {
			// MS-ASCMD 2.2.3.177.5: 9 makes the device restart at key 0.
			return nil, activesync.CommandStatus(activesync.FolderStatusBadKey, "unknown folder sync key")
		}
		// Some Android clients resend the same stale key after status 9
		// instead of restarting at 0; answering 9 forever is a loop. After
		// a few rounds, answer as to key 0: the whole hierarchy, new key.
		m.log.Warn("folder sync: device keeps sending a stale key; sending the whole hierarchy again",
			"user", user, "device", deviceID, "key", syncKey, "times", stale)
		role = engine.Initial
	}
	now, err := h.current(ctx, acct, deviceID, "FolderSync")
	if err != nil {
		return nil, err
	}
	base, err := engine.DeviceView(ctx, m.store, user, deviceID, hierarchyCollection, col, role)
	if err != nil {
		return nil, storeErr(err)
	}
	out := &activesync.FolderChanges{}
	pending := &state.Delta{Set: map[string]string{}}
	current := make(map[string]bool, len(now.folders))
	for _, f := range now.folders {
		current[f.ServerID] = true
		sig := folderSignature(f.Type, f.ParentID, f.DisplayName)
		old, known := base[f.ServerID]
		switch {
		case !known:
			out.Add = append(out.Add, f)
		case old != sig:
			out.Update = append(out.Update, f)
		default:
			continue
		}
		pending.Set[f.ServerID] = sig
	}
	for id := range base {
		if !current[id] && !now.kept[id] {
			out.Delete = append(out.Delete, id)
			pending.Del = append(pending.Del, id)
		}
	}
	sort.Slice(out.Delete, func(i, j int) bool { return idLess(out.Delete[i], out.Delete[j]) })

	if role == engine.Initial {
		if err := m.store.ResetCollection(ctx, user, deviceID, hierarchyCollection); err != nil {
			return nil, storeErr(fmt.Errorf("reset hierarchy: %w", err))
		}
		col = nil
	}
	// Current with nothing new keeps the key and writes nothing; Previous
	// (the answer that issued col.SyncKey was lost) issues the same key
	// again with the recomputed delta in place of the old one.
	key, err := engine.Commit(ctx, m.store, user, deviceID, hierarchyCollection, col, role, engine.Answer{Pending: pending})
	if err != nil {
		return nil, storeErr(err)
	}
	out.SyncKey = key
	return out, nil
}

// hierarchyEdit validates a FolderCreate/Update/Delete key and commits
// what the device now knows (apply) with a new key.
func (m *Mail) hierarchyEdit(ctx context.Context, user, deviceID string, col *state.Collection, role engine.Role, apply *state.Delta) (string, error) {
	req := state.CommitRequest{Apply: apply, ApplyPending: role == engine.Current}
	// With the previous key the device never saw col.SyncKey's answer: its
	// pending delta is dropped unapplied, so the next FolderSync, diffing
	// against the snapshot, sends those changes again.
	req.SyncKey, req.PrevSyncKey = engine.NextKey(col.SyncKey), col.SyncKey
	if _, err := m.store.Commit(ctx, user, deviceID, hierarchyCollection, col.Generation, req); err != nil {
		return "", storeErr(fmt.Errorf("commit hierarchy: %w", err))
	}
	return req.SyncKey, nil
}

// hierarchyKey checks the key of FolderCreate/Update/Delete.
func (m *Mail) hierarchyKey(ctx context.Context, user, deviceID, syncKey string) (*state.Collection, engine.Role, error) {
	col, err := engine.Header(ctx, m.store, user, deviceID, hierarchyCollection)
	if err != nil {
		return nil, 0, storeErr(err)
	}
	role := engine.Classify(col, syncKey)
	if role == engine.Unknown || role == engine.Initial {
		return nil, 0, activesync.CommandStatus(activesync.FolderStatusBadKey, "unknown folder sync key")
	}
	return col, role, nil
}

// staleFolderKeyLimit is how many times in a row a device may present the
// same unknown FolderSync key before it is answered as if it sent 0.
const staleFolderKeyLimit = 3

// metaStaleFolderKey remembers, per device, the last unknown FolderSync key
// and how often it came in a row ("<count>:<key>").
const metaStaleFolderKey = "foldersync.stale"

// staleFolderKey counts this presentation of an unknown key and returns
// how many times in a row the device has sent it.
func (m *Mail) staleFolderKey(ctx context.Context, user, deviceID, key string) (int, error) {
	n := 0
	_, err := m.store.UpdateDevice(ctx, user, deviceID, func(d *state.Device) error {
		n = 1
		if c, k, ok := strings.Cut(d.Meta[metaStaleFolderKey], ":"); ok && k == key {
			if prev, err := strconv.Atoi(c); err == nil {
				n = prev + 1
			}
		}
		if d.Meta == nil {
			d.Meta = map[string]string{}
		}
		d.Meta[metaStaleFolderKey] = strconv.Itoa(n) + ":" + key
		return nil
	})
	return n, err
}
