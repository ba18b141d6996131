package client

import (
	"context"
	"fmt"
	"strconv"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// Folder is one FolderSync entry.
type Folder struct {
	ServerID, ParentID, DisplayName string
	Type                            int
}

// FolderChanges is a decoded FolderSync answer.
type FolderChanges struct {
	Status, SyncKey string
	Add, Update     []Folder
	Delete          []string
}

// FolderSync sends FolderSync with key.
func (c *Client) FolderSync(ctx context.Context, key string) (*FolderChanges, error) {
	req := wbxml.New(wbxml.FolderHierarchy, "FolderSync")
	req.AddText(wbxml.FolderHierarchy, "SyncKey", key)
	r, err := c.Do(ctx, "FolderSync", req)
	if err != nil {
		return nil, err
	}
	if r.Doc == nil {
		// MS-ASCMD allows an empty answer to Ping and Sync only.
		return nil, fmt.Errorf("activesync: FolderSync: HTTP 200 without a WBXML document (%d bytes, Content-Type %q)", len(r.Body), r.Header.Get("Content-Type"))
	}
	out := &FolderChanges{Status: r.Status(), SyncKey: r.Doc.ChildText(wbxml.FolderHierarchy, "SyncKey")}
	ch := r.Doc.Child(wbxml.FolderHierarchy, "Changes")
	folder := func(el *wbxml.Element) Folder {
		t, _ := strconv.Atoi(el.ChildText(wbxml.FolderHierarchy, "Type"))
		return Folder{ServerID: el.ChildText(wbxml.FolderHierarchy, "ServerId"), ParentID: el.ChildText(wbxml.FolderHierarchy, "ParentId"),
			DisplayName: el.ChildText(wbxml.FolderHierarchy, "DisplayName"), Type: t}
	}
	for _, el := range ch.All(wbxml.FolderHierarchy, "Add") {
		out.Add = append(out.Add, folder(el))
	}
	for _, el := range ch.All(wbxml.FolderHierarchy, "Update") {
		out.Update = append(out.Update, folder(el))
	}
	for _, el := range ch.All(wbxml.FolderHierarchy, "Delete") {
		out.Delete = append(out.Delete, el.ChildText(wbxml.FolderHierarchy, "ServerId"))
	}
	return out, nil
}

// FolderByType returns the first folder of a type (2 Inbox, 4 Trash, ...).
func FolderByType(fs []Folder, typ int) (Folder, bool) {
	for _, f := range fs {
		if f.Type == typ {
			return f, true
		}
	}
	return Folder{}, false
}

// Item is a server change in a Sync answer.
type Item struct {
	Kind     string // Add, Change, Delete, SoftDelete
	ServerID string
	Data     *wbxml.Element // ApplicationData
}

// SyncResult is one decoded collection of a Sync answer.
type SyncResult struct {
	Status, SyncKey string
	More            bool
	Items           []Item
	Responses       []*wbxml.Element
	Doc             *wbxml.Element // the whole answer
}

// Adds returns the Add items.
func (r *SyncResult) Adds() []Item { return r.kind("Add") }

// Changes returns the Change items.
func (r *SyncResult) Changes() []Item { return r.kind("Change") }

// Deletes returns the Delete and SoftDelete items.
func (r *SyncResult) Deletes() []Item { return append(r.kind("Delete"), r.kind("SoftDelete")...) }

func (r *SyncResult) kind(k string) []Item {
	var out []Item
	for _, it := range r.Items {
		if it.Kind == k {
			out = append(out, it)
		}
	}
	return out
}

// SyncOptions shape a Sync request's collection.
type SyncOptions struct {
	WindowSize int
	FilterType int
	BodyType   int   // AirSyncBase BodyPreference Type; 0 = none
	Truncation int64 // TruncationSize; 0 = none
	Commands   *wbxml.Element
	Class      string // sent as Class for 12.x
	// Supported is sent with key 0 (MS-ASCMD 2.2.3.179): the elements the
	// device shows, in AirSync:Supported.
	Supported *wbxml.Element
}

// Sync sends a one-collection Sync and decodes its answer. An empty answer
// (hanging Sync with no changes) yields a result with no Status.
func (c *Client) Sync(ctx context.Context, collectionID, key string, o SyncOptions) (*SyncResult, error) {
	req := wbxml.New(wbxml.AirSync, "Sync")
	col := req.Add(wbxml.AirSync, "Collections").Add(wbxml.AirSync, "Collection")
	if o.Class != "" && c.version() < "14.0" {
		col.AddText(wbxml.AirSync, "Class", o.Class)
	}
	col.AddText(wbxml.AirSync, "SyncKey", key)
	col.AddText(wbxml.AirSync, "CollectionId", collectionID)
	if key == "0" && o.Supported != nil {
		col.Append(o.Supported)
	}
	if key != "0" {
		col.AddText(wbxml.AirSync, "DeletesAsMoves", "1")
		col.AddText(wbxml.AirSync, "GetChanges", "1")
	}
	if o.WindowSize > 0 {
		col.AddText(wbxml.AirSync, "WindowSize", strconv.Itoa(o.WindowSize))
	}
	if o.FilterType > 0 || o.BodyType > 0 {
		opt := col.Add(wbxml.AirSync, "Options")
		if o.FilterType > 0 {
			opt.AddText(wbxml.AirSync, "FilterType", strconv.Itoa(o.FilterType))
		}
		if o.BodyType > 0 {
			bp := opt.Add(wbxml.AirSyncBase, "BodyPreference")
			bp.AddText(wbxml.AirSyncBase, "Type", strconv.Itoa(o.BodyType))
			if o.Truncation > 0 {
				bp.AddText(wbxml.AirSyncBase, "TruncationSize", strconv.FormatInt(o.Truncation, 10))
			}
		}
	}
	if o.Commands != nil {
		col.Append(o.Commands)
	}
	r, err := c.Do(ctx, "Sync", req)
	if err != nil {
		return nil, err
	}
	return decodeSync(r.Doc, collectionID)
}

func decodeSync(doc *wbxml.Element, collectionID string) (*SyncResult, error) {
	out := &SyncResult{Doc: doc}
	if doc == nil {
		return out, nil
	}
	if st := doc.ChildText(wbxml.AirSync, "Status"); st != "" {
		out.Status = st
		return out, nil
	}
	for _, col := range doc.Child(wbxml.AirSync, "Collections").All(wbxml.AirSync, "Collection") {
		if col.ChildText(wbxml.AirSync, "CollectionId") != collectionID {
			continue
		}
		out.Status = col.ChildText(wbxml.AirSync, "Status")
		out.SyncKey = col.ChildText(wbxml.AirSync, "SyncKey")
		out.More = col.Has(wbxml.AirSync, "MoreAvailable")
		if cmds := col.Child(wbxml.AirSync, "Commands"); cmds != nil {
			for _, el := range cmds.Children {
				out.Items = append(out.Items, Item{Kind: el.Name, ServerID: el.ChildText(wbxml.AirSync, "ServerId"), Data: el.Child(wbxml.AirSync, "ApplicationData")})
			}
		}
		if rs := col.Child(wbxml.AirSync, "Responses"); rs != nil {
			out.Responses = rs.Children
		}
		return out, nil
	}
	return nil, fmt.Errorf("activesync: Sync answer has no collection %s", collectionID)
}

// SyncAll runs a collection from key 0 until nothing more is available and
// returns the items the device then holds, by server ID, and the last key.
func (c *Client) SyncAll(ctx context.Context, collectionID string, o SyncOptions) (map[string]*wbxml.Element, string, error) {
	r, err := c.Sync(ctx, collectionID, "0", SyncOptions{Class: o.Class, Supported: o.Supported})
	if err != nil {
		return nil, "", err
	}
	if r.Status != "1" {
		return nil, "", fmt.Errorf("activesync: initial Sync of %s: status %s", collectionID, r.Status)
	}
	items := map[string]*wbxml.Element{}
	key := r.SyncKey
	for range 10000 {
		r, err = c.Sync(ctx, collectionID, key, o)
		if err != nil {
			return nil, "", err
		}
		if r.Status != "1" {
			return nil, "", fmt.Errorf("activesync: Sync of %s: status %s", collectionID, r.Status)
		}
		for _, it := range r.Items {
			switch it.Kind {
			case "Add", "Change":
				items[it.ServerID] = it.Data
			default:
				delete(items, it.ServerID)
			}
		}
		key = r.SyncKey
		if !r.More {
			return items, key, nil
		}
	}
	return nil, "", fmt.Errorf("activesync: Sync of %s never ended", collectionID)
}

// Ping parks a Ping and returns its status and the changed folders.
func (c *Client) Ping(ctx context.Context, heartbeat int, folders ...string) (string, []string, error) {
	req := wbxml.New(wbxml.Ping, "Ping")
	req.AddText(wbxml.Ping, "HeartbeatInterval", strconv.Itoa(heartbeat))
	fs := req.Add(wbxml.Ping, "Folders")
	for _, id := range folders {
		f := fs.Add(wbxml.Ping, "Folder")
		f.AddText(wbxml.Ping, "Id", id)
		f.AddText(wbxml.Ping, "Class", "Email")
	}
	r, err := c.Do(ctx, "Ping", req)
	if err != nil {
		return "", nil, err
	}
	var changed []string
	for _, f := range r.Doc.Child(wbxml.Ping, "Folders").All(wbxml.Ping, "Folder") {
		changed = append(changed, f.Content())
	}
	return r.Status(), changed, nil
}

// ChangeRead builds Sync Commands marking an item read or unread.
func ChangeRead(serverID string, read bool) *wbxml.Element {
	cmds := wbxml.New(wbxml.AirSync, "Commands")
	ch := cmds.Add(wbxml.AirSync, "Change")
	ch.AddText(wbxml.AirSync, "ServerId", serverID)
	v := "0"
	if read {
		v = "1"
	}
	ch.Add(wbxml.AirSync, "ApplicationData").AddText(wbxml.Email, "Read", v)
	return cmds
}

// DeleteItem builds Sync Commands deleting an item.
func DeleteItem(serverID string) *wbxml.Element {
	cmds := wbxml.New(wbxml.AirSync, "Commands")
	cmds.Add(wbxml.AirSync, "Delete").AddText(wbxml.AirSync, "ServerId", serverID)
	return cmds
}
