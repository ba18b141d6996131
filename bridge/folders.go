package bridge

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/idlebridge/idlebridge/activesync"
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

func (f hierarchyFolder) signature() string {
	return folderSignature(f.Type, f.ParentID, f.DisplayName)
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
		id, ok := fm.byName[f.Name]
		if !ok {
			continue
		}
		parent, display := "0", f.Name
		if f.Delimiter != 0 {
			if i := strings.LastIndex(f.Name, string(f.Delimiter)); i > 0 {
				if pid, ok := fm.byName[f.Name[:i]]; ok {
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

// nextKey returns the sync key after k ("0" or empty gives "1").
func nextKey(k string) string {
	n, err := strconv.ParseUint(k, 10, 64)
	if err != nil {
		return "1"
	}
	return strconv.FormatUint(n+1, 10)
}

// keyRole says how a presented sync key relates to the stored collection.
type keyRole int

const (
	keyInitial  keyRole = iota // "0": start over
	keyCurrent                 // the newest key: the device got our last answer
	keyPrevious                // the one before: our last answer was lost
	keyUnknown
)

func roleOf(col *state.Collection, key string) keyRole {
	switch {
	case key == "0":
		return keyInitial
	case col == nil || key == "":
		return keyUnknown
	case key == col.SyncKey:
		return keyCurrent
	case key == col.PrevSyncKey:
		return keyPrevious
	}
	return keyUnknown
}

// getCollection returns the header, or nil when there is none.
func (m *Mail) getCollection(ctx context.Context, user, deviceID, collectionID string) (*state.Collection, error) {
	col, err := m.store.GetCollection(ctx, user, deviceID, collectionID)
	if errors.Is(err, state.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sync state: %w", err)
	}
	return col, nil
}

// deviceView returns what the device holds: the committed snapshot, with
// the pending delta folded in when the device proved it received it.
func (m *Mail) deviceView(ctx context.Context, user, deviceID, collectionID string, col *state.Collection, role keyRole) (map[string]string, error) {
	if role == keyInitial || col == nil {
		return map[string]string{}, nil
	}
	snap, err := m.store.Snapshot(ctx, user, deviceID, collectionID)
	if err != nil {
		return nil, fmt.Errorf("sync state: %w", err)
	}
	if role == keyCurrent {
		foldDelta(snap, col.Pending)
	}
	return snap, nil
}

// foldDelta applies d to snap the way the engines do (Del after Set).
func foldDelta(snap map[string]string, d *state.Delta) {
	if d == nil {
		return
	}
	for k, v := range d.Set {
		snap[k] = v
	}
	for _, k := range d.Del {
		delete(snap, k)
	}
}

// FolderSync implements activesync.FolderSyncer.
func (m *Mail) FolderSync(ctx context.Context, a activesync.Account, deviceID, syncKey string) (*activesync.FolderChanges, error) {
	acct, err := account(a)
	if err != nil {
		return nil, err
	}
	user := acct.Address()
	col, err := m.getCollection(ctx, user, deviceID, hierarchyCollection)
	if err != nil {
		return nil, storeErr(err)
	}
	role := roleOf(col, syncKey)
	if role == keyUnknown {
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
		role = keyInitial
	}
	var folders []hierarchyFolder
	err = m.withSession(ctx, acct, "FolderSync", func(s *imap.Session) error {
		folders, _, err = m.listHierarchy(ctx, acct, s)
		return err
	})
	if err != nil {
		return nil, err
	}
	base, err := m.deviceView(ctx, user, deviceID, hierarchyCollection, col, role)
	if err != nil {
		return nil, storeErr(err)
	}
	out := &activesync.FolderChanges{}
	pending := &state.Delta{Set: map[string]string{}}
	current := make(map[string]bool, len(folders))
	for _, f := range folders {
		current[f.ServerID] = true
		sig := f.signature()
		old, known := base[f.ServerID]
		switch {
		case !known:
			out.Add = append(out.Add, f.Folder)
		case old != sig:
			out.Update = append(out.Update, f.Folder)
		default:
			continue
		}
		pending.Set[f.ServerID] = sig
	}
	for id := range base {
		if !current[id] {
			out.Delete = append(out.Delete, id)
			pending.Del = append(pending.Del, id)
		}
	}
	sort.Slice(out.Delete, func(i, j int) bool { return idLess(out.Delete[i], out.Delete[j]) })

	req := state.CommitRequest{Pending: pending}
	var gen uint64
	switch role {
	case keyInitial:
		if err := m.store.ResetCollection(ctx, user, deviceID, hierarchyCollection); err != nil {
			return nil, storeErr(fmt.Errorf("reset hierarchy: %w", err))
		}
		req.SyncKey = "1"
	case keyCurrent:
		if pending.Empty() {
			// Nothing new: keep the key and write nothing.
			out.SyncKey = col.SyncKey
			return out, nil
		}
		gen = col.Generation
		req.ApplyPending = true
		req.SyncKey, req.PrevSyncKey = nextKey(col.SyncKey), col.SyncKey
	case keyPrevious:
		// The answer that issued col.SyncKey was lost: issue the same key
		// again with the recomputed delta in place of the old one.
		gen = col.Generation
		req.SyncKey, req.PrevSyncKey = col.SyncKey, col.PrevSyncKey
	}
	if _, err := m.store.Commit(ctx, user, deviceID, hierarchyCollection, gen, req); err != nil {
		return nil, storeErr(fmt.Errorf("commit hierarchy: %w", err))
	}
	out.SyncKey = req.SyncKey
	return out, nil
}

// hierarchyEdit validates a FolderCreate/Update/Delete key and commits
// what the device now knows (apply) with a new key.
func (m *Mail) hierarchyEdit(ctx context.Context, user, deviceID string, col *state.Collection, role keyRole, apply *state.Delta) (string, error) {
	req := state.CommitRequest{Apply: apply, ApplyPending: role == keyCurrent}
	// With the previous key the device never saw col.SyncKey's answer: its
	// pending delta is dropped unapplied, so the next FolderSync, diffing
	// against the snapshot, sends those changes again.
	req.SyncKey, req.PrevSyncKey = nextKey(col.SyncKey), col.SyncKey
	if _, err := m.store.Commit(ctx, user, deviceID, hierarchyCollection, col.Generation, req); err != nil {
		return "", storeErr(fmt.Errorf("commit hierarchy: %w", err))
	}
	return req.SyncKey, nil
}

// hierarchyKey checks the key of FolderCreate/Update/Delete.
func (m *Mail) hierarchyKey(ctx context.Context, user, deviceID, syncKey string) (*state.Collection, keyRole, error) {
	col, err := m.getCollection(ctx, user, deviceID, hierarchyCollection)
	if err != nil {
		return nil, 0, storeErr(err)
	}
	role := roleOf(col, syncKey)
	if role == keyUnknown || role == keyInitial {
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
