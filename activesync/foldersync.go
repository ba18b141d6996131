package activesync

import (
	"context"
	"strconv"
	"unicode/utf8"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

func folderSyncer(b Backend) bool { _, ok := b.(FolderSyncer); return ok }

// handleFolderSync answers FolderSync (MS-ASCMD 2.2.1.5): the folder
// hierarchy changes since the device's hierarchy sync key.
func handleFolderSync(ctx context.Context, c *call) (*wbxml.Element, error) {
	fs := c.s.Backend.(FolderSyncer)
	key := c.req.Child(wbxml.FolderHierarchy, "SyncKey")
	if key == nil {
		return nil, CommandStatus(FolderStatusBadRequest, "FolderSync without SyncKey")
	}
	ch, err := fs.FolderSync(ctx, c.acct, c.q.DeviceID, key.Content())
	if err != nil {
		return nil, err
	}
	resp := wbxml.New(wbxml.FolderHierarchy, "FolderSync")
	resp.AddText(wbxml.FolderHierarchy, "Status", strconv.Itoa(FolderStatusOK))
	resp.AddText(wbxml.FolderHierarchy, "SyncKey", ch.SyncKey)
	changes := resp.Add(wbxml.FolderHierarchy, "Changes")
	changes.AddText(wbxml.FolderHierarchy, "Count", strconv.Itoa(len(ch.Add)+len(ch.Update)+len(ch.Delete)))
	for _, f := range ch.Update {
		addFolder(changes.Add(wbxml.FolderHierarchy, "Update"), f)
	}
	for _, id := range ch.Delete {
		changes.Add(wbxml.FolderHierarchy, "Delete").AddText(wbxml.FolderHierarchy, "ServerId", id)
	}
	for _, f := range ch.Add {
		addFolder(changes.Add(wbxml.FolderHierarchy, "Add"), f)
	}
	c.log.Debug("folder sync", "adds", len(ch.Add), "updates", len(ch.Update), "deletes", len(ch.Delete))
	return resp, nil
}

func addFolder(el *wbxml.Element, f Folder) {
	el.AddText(wbxml.FolderHierarchy, "ServerId", f.ServerID)
	parent := f.ParentID
	if parent == "" {
		parent = "0"
	}
	el.AddText(wbxml.FolderHierarchy, "ParentId", parent)
	el.AddText(wbxml.FolderHierarchy, "DisplayName", f.DisplayName)
	el.AddText(wbxml.FolderHierarchy, "Type", strconv.Itoa(f.Type))
}

// handleFolderCreate answers FolderCreate (MS-ASCMD 2.2.1.3).
func handleFolderCreate(ctx context.Context, c *call) (*wbxml.Element, error) {
	fs := c.s.Backend.(FolderSyncer)
	r := c.req
	name := r.ChildText(wbxml.FolderHierarchy, "DisplayName")
	typ, err := strconv.Atoi(r.ChildText(wbxml.FolderHierarchy, "Type"))
	if !r.Has(wbxml.FolderHierarchy, "SyncKey") || name == "" || err != nil {
		return nil, CommandStatus(FolderStatusBadRequest, "FolderCreate needs SyncKey, DisplayName and Type")
	}
	if err := checkFolderName(name); err != nil {
		return nil, err
	}
	parent := r.ChildText(wbxml.FolderHierarchy, "ParentId")
	key, id, err := fs.FolderCreate(ctx, c.acct, c.q.DeviceID, r.ChildText(wbxml.FolderHierarchy, "SyncKey"), parent, name, typ)
	if err != nil {
		return nil, err
	}
	resp := folderEditResponse("FolderCreate", key)
	resp.AddText(wbxml.FolderHierarchy, "ServerId", id)
	c.log.Info("folder created", "folder", id)
	return resp, nil
}

// handleFolderUpdate answers FolderUpdate (MS-ASCMD 2.2.1.6): rename or move.
func handleFolderUpdate(ctx context.Context, c *call) (*wbxml.Element, error) {
	fs := c.s.Backend.(FolderSyncer)
	r := c.req
	id := r.ChildText(wbxml.FolderHierarchy, "ServerId")
	name := r.ChildText(wbxml.FolderHierarchy, "DisplayName")
	if !r.Has(wbxml.FolderHierarchy, "SyncKey") || id == "" || name == "" {
		return nil, CommandStatus(FolderStatusBadRequest, "FolderUpdate needs SyncKey, ServerId and DisplayName")
	}
	if err := checkFolderName(name); err != nil {
		return nil, err
	}
	key, err := fs.FolderUpdate(ctx, c.acct, c.q.DeviceID, r.ChildText(wbxml.FolderHierarchy, "SyncKey"), id,
		r.ChildText(wbxml.FolderHierarchy, "ParentId"), name)
	if err != nil {
		return nil, err
	}
	resp := folderEditResponse("FolderUpdate", key)
	c.log.Info("folder updated", "folder", id)
	return resp, nil
}

// handleFolderDelete answers FolderDelete (MS-ASCMD 2.2.1.4).
func handleFolderDelete(ctx context.Context, c *call) (*wbxml.Element, error) {
	fs := c.s.Backend.(FolderSyncer)
	r := c.req
	id := r.ChildText(wbxml.FolderHierarchy, "ServerId")
	if !r.Has(wbxml.FolderHierarchy, "SyncKey") || id == "" {
		return nil, CommandStatus(FolderStatusBadRequest, "FolderDelete needs SyncKey and ServerId")
	}
	key, err := fs.FolderDelete(ctx, c.acct, c.q.DeviceID, r.ChildText(wbxml.FolderHierarchy, "SyncKey"), id)
	if err != nil {
		return nil, err
	}
	resp := folderEditResponse("FolderDelete", key)
	c.log.Info("folder deleted", "folder", id)
	return resp, nil
}

// checkFolderName refuses a DisplayName that is not valid UTF-8. WBXML
// strings are UTF-8 (the document's charset, MS-ASWBXML 2.1.2.1), so such a
// name is a malformed request; passed on, the provider would create a
// mangled folder the device could never match. MS-ASCMD 2.2.3.177.3 and
// 2.2.3.177.6: FolderCreate and FolderUpdate Status 10 is "incorrectly
// formatted request".
func checkFolderName(name string) error {
	if !utf8.ValidString(name) {
		return CommandStatus(FolderStatusBadRequest, "folder name is not valid UTF-8")
	}
	return nil
}

// folderEditResponse starts the success answer of FolderCreate, FolderUpdate
// and FolderDelete: Status 1 and the new hierarchy key.
func folderEditResponse(root, key string) *wbxml.Element {
	resp := wbxml.New(wbxml.FolderHierarchy, root)
	resp.AddText(wbxml.FolderHierarchy, "Status", strconv.Itoa(FolderStatusOK))
	resp.AddText(wbxml.FolderHierarchy, "SyncKey", key)
	return resp
}
