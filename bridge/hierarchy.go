package bridge

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/bridge/foldermap"
	"github.com/idlebridge/idlebridge/bridge/state"
)

// hierarchyCollection is the per-device collection that holds what the
// device knows of the folder hierarchy: snapshot folder ID -> signature
// (type|parent|name), and the FolderSync key.
const hierarchyCollection = ""

func folderSignature(typ int, parentID, name string) string {
	return strconv.Itoa(typ) + "|" + parentID + "|" + name
}

// idLess orders numeric IDs numerically.
func idLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// hierarchies is every folder source of a FolderSync: the mailboxes
// (bridge/mail), and the hierarchy of each class plugged in beside mail.
// It owns the FolderSync key of every device (the per-device collection
// hierarchyCollection), which all sources share.
type hierarchies struct {
	store state.Store
	log   *slog.Logger
	// mail is required: its failing fails the whole listing, as before
	// classes existed.
	mail    engine.Hierarchy
	classes []engine.Class
}

// hierarchies is the mailboxes alone: the bridge's hierarchy without
// classes (the hub's own tests and the mail rig use it).
func (m *Mail) hierarchies() hierarchies {
	return hierarchies{store: m.store, log: m.log, mail: m.Hierarchy()}
}

// FolderSync implements activesync.FolderSyncer for the mailboxes alone
// (the Bridge's FolderSync adds its classes' folders).
func (m *Mail) FolderSync(ctx context.Context, a activesync.Account, deviceID, syncKey string) (*activesync.FolderChanges, error) {
	return m.hierarchies().folderSync(ctx, a, deviceID, syncKey)
}

// FolderCreate implements activesync.FolderSyncer for the mailboxes alone.
func (m *Mail) FolderCreate(ctx context.Context, a activesync.Account, deviceID, syncKey, parentID, name string, folderType int) (string, string, error) {
	return m.hierarchies().create(ctx, a, deviceID, syncKey, parentID, name, folderType)
}

// FolderUpdate implements activesync.FolderSyncer for the mailboxes alone.
func (m *Mail) FolderUpdate(ctx context.Context, a activesync.Account, deviceID, syncKey, serverID, parentID, name string) (string, error) {
	return m.hierarchies().update(ctx, a, deviceID, syncKey, serverID, parentID, name)
}

// FolderDelete implements activesync.FolderSyncer for the mailboxes alone.
func (m *Mail) FolderDelete(ctx context.Context, a activesync.Account, deviceID, syncKey, serverID string) (string, error) {
	return m.hierarchies().remove(ctx, a, deviceID, syncKey, serverID)
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
func (h hierarchies) current(ctx context.Context, acct *Account, deviceID string) (*listing, error) {
	user := acct.Address()
	client := engine.Client{DeviceID: deviceID}
	if len(h.classes) > 0 {
		if d, err := h.store.GetDevice(ctx, user, deviceID); err == nil {
			client.DeviceType, client.UserAgent = d.Type, d.UserAgent
		}
	}
	mail, err := h.mail.Folders(ctx, acct.Principal, client)
	if err != nil {
		return nil, err
	}
	out := &listing{kept: map[string]bool{}}
	failed := map[engine.Kind]bool{}
	type listed struct {
		kinds   []engine.Kind
		folders []engine.Folder
	}
	got := []listed{{h.mail.Kinds(), mail}}
	var owned []engine.Kind
	var refs []engine.Ref
	for _, c := range h.classes {
		if c.Hierarchy == nil {
			continue
		}
		kinds := c.Hierarchy.Kinds()
		folders, err := c.Hierarchy.Folders(ctx, acct.Principal, client)
		if err != nil {
			h.log.Warn("folder sync: a folder source failed; the device keeps its folders as they are",
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
	// The mail listing reconciled the map's mailboxes; one more update for
	// every class listed (usually a read and no write).
	fm, err := foldermap.ReconcileKinds(ctx, h.store, user, owned, refs)
	if err != nil {
		return nil, err
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
func classFolders(fm *foldermap.Map, folders []engine.Folder) []activesync.Folder {
	idOf := fm.IDOf
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
	acct, err := account(a)
	if err != nil {
		return nil, err
	}
	user := acct.Address()
	col, err := engine.Header(ctx, h.store, user, deviceID, hierarchyCollection)
	if err != nil {
		return nil, storeErr(err)
	}
	role := engine.Classify(col, syncKey)
	if role == engine.Unknown {
		stale, err := h.staleFolderKey(ctx, user, deviceID, syncKey)
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
		h.log.Warn("folder sync: device keeps sending a stale key; sending the whole hierarchy again",
			"user", user, "device", deviceID, "key", syncKey, "times", stale)
		role = engine.Initial
	}
	now, err := h.current(ctx, acct, deviceID)
	if err != nil {
		return nil, err
	}
	base, err := engine.DeviceView(ctx, h.store, user, deviceID, hierarchyCollection, col, role)
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
		if err := h.store.ResetCollection(ctx, user, deviceID, hierarchyCollection); err != nil {
			return nil, storeErr(fmt.Errorf("reset hierarchy: %w", err))
		}
		col = nil
	}
	// Current with nothing new keeps the key and writes nothing; Previous
	// (the answer that issued col.SyncKey was lost) issues the same key
	// again with the recomputed delta in place of the old one.
	key, err := engine.Commit(ctx, h.store, user, deviceID, hierarchyCollection, col, role, engine.Answer{Pending: pending})
	if err != nil {
		return nil, storeErr(err)
	}
	out.SyncKey = key
	return out, nil
}

// edit commits what the device knows after a FolderCreate/Update/Delete
// (apply) with a new key; col and role are key's.
func (h hierarchies) edit(ctx context.Context, user, deviceID string, col *state.Collection, role engine.Role, apply *state.Delta) (string, error) {
	req := state.CommitRequest{Apply: apply, ApplyPending: role == engine.Current}
	// With the previous key the device never saw col.SyncKey's answer: its
	// pending delta is dropped unapplied, so the next FolderSync, diffing
	// against the snapshot, sends those changes again.
	req.SyncKey, req.PrevSyncKey = engine.NextKey(col.SyncKey), col.SyncKey
	if _, err := h.store.Commit(ctx, user, deviceID, hierarchyCollection, col.Generation, req); err != nil {
		return "", storeErr(fmt.Errorf("commit hierarchy: %w", err))
	}
	return req.SyncKey, nil
}

// key checks the key of FolderCreate/Update/Delete.
func (h hierarchies) key(ctx context.Context, user, deviceID, syncKey string) (*state.Collection, engine.Role, error) {
	col, err := engine.Header(ctx, h.store, user, deviceID, hierarchyCollection)
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
func (h hierarchies) staleFolderKey(ctx context.Context, user, deviceID, key string) (int, error) {
	n := 0
	_, err := h.store.UpdateDevice(ctx, user, deviceID, func(d *state.Device) error {
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
