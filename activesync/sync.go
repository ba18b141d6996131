package activesync

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// Sync limits, and the Meta key of the cached request.
const (
	defaultWindowSize   = 100
	maxWindowSize       = 512
	maxSyncCollections  = 1000
	metaLastSyncRequest = "sync.request"
	syncHoldWithoutPush = 60 * time.Second
	// detachedSyncTimeout bounds re-syncing a woken hanging Sync that
	// waited off its handler.
	detachedSyncTimeout = 2 * time.Minute
)

func syncer(b Backend) bool { _, ok := b.(Syncer); return ok }

// handleSync answers Sync (MS-ASCMD 2.2.1.21). The front parses the
// request, fills in what an empty or partial request leaves out from the
// device's last full request (14.0+), asks the Backend for each
// collection, and builds the answer.
func handleSync(ctx context.Context, c *call) (*wbxml.Element, error) {
	sy := c.s.Backend.(Syncer)
	req := c.syncRequest()
	if req == nil {
		return syncStatus(SyncStatusIncomplete), nil
	}
	colls := req.All(wbxml.AirSync, "Collections")
	var items []*wbxml.Element
	for _, cs := range colls {
		items = append(items, cs.All(wbxml.AirSync, "Collection")...)
	}
	if len(items) > maxSyncCollections {
		return syncStatus(SyncStatusTooManyCollections), nil
	}
	if id, dup := duplicateCollection(items); dup {
		// A collection is named once per request (MS-ASCMD 2.2.3.29.2);
		// answering each copy multiplies the answer and the work (one
		// request of 1 288 bytes naming a folder 40 times asked for 400
		// MB). Status 4: the request does not comply with the spec
		// (MS-ASCMD 2.2.3.177.17).
		c.log.Warn("sync: collection named more than once, refused", "collection", id)
		return syncStatus(SyncStatusProtocolError), nil
	}
	lo, hi := c.s.heartbeatBounds()
	hold, err := syncHeartbeat(req, lo, hi)
	if err != nil {
		return nil, err
	}
	// The global WindowSize (14.0+) bounds the items of all collections.
	total := maxWindowSize * len(items)
	if w, err := strconv.Atoi(req.ChildText(wbxml.AirSync, "WindowSize")); err == nil && w > 0 {
		total = min(w, maxWindowSize)
	}

	resp, changed, err := c.syncCollections(ctx, sy, items, total)
	if err != nil {
		return nil, err
	}
	if err := c.rememberSyncRequest(ctx, req, resp); err != nil {
		return nil, err
	}
	if hold == 0 || changed {
		return resp, nil
	}
	// A hanging Sync (Wait / HeartbeatInterval) with nothing to report is
	// parked like a Ping; when something changes the collections are
	// synced again. With nothing by the end, the answer is an empty body,
	// which means "no changes" (MS-ASCMD 2.2.3.198).
	if p, ok := c.s.Backend.(Pinger); ok {
		var folders []PingFolder
		for _, el := range items {
			folders = append(folders, PingFolder{ID: el.ChildText(wbxml.AirSync, "CollectionId")})
		}
		// When something changes the collections are synced again, in
		// the request or, detached, after it (its context is gone then).
		again := func(ctx context.Context, ids []string, err error) (*wbxml.Element, error) {
			if err != nil {
				code, ok := commandStatusOf(err)
				if !ok {
					return nil, err
				}
				if code == PingStatusFolderSync {
					// MS-ASCMD 2.2.3.177.17: Status 12 at the top level
					// tells the device the hierarchy changed and to
					// FolderSync before it syncs again; an empty answer
					// ("no changes") would leave it unaware.
					return syncStatus(SyncStatusHierarchyChanged), nil
				}
				return nil, nil
			}
			if len(ids) == 0 {
				return nil, nil
			}
			resp, _, err := c.syncCollections(ctx, sy, items, total)
			if err != nil {
				return nil, err
			}
			if err := c.rememberSyncRequest(ctx, req, resp); err != nil {
				return nil, err
			}
			return resp, nil
		}
		pw := newPingWait()
		stop, err := p.Ping(ctx, c.acct, c.q.DeviceID, folders, hold, pw.done)
		if err != nil {
			return again(ctx, nil, err)
		}
		c.dev = nil // the request's collections are all a re-sync needs
		if c.detach(pw, stop, func(ids []string, err error) (*wbxml.Element, error) {
			ctx, cancel := context.WithTimeout(context.Background(), detachedSyncTimeout)
			defer cancel()
			return again(ctx, ids, err)
		}) {
			return nil, errDetached
		}
		ids, err := pw.wait(ctx, stop)
		return again(ctx, ids, err)
	}
	// Without push, hold the request a while so the device does not loop.
	t := time.NewTimer(min(hold, syncHoldWithoutPush))
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	return nil, nil
}

// syncCollections asks the Backend about each collection and builds the
// answer; changed reports whether the answer carries anything.
func (c *call) syncCollections(ctx context.Context, sy Syncer, items []*wbxml.Element, budget int) (*wbxml.Element, bool, error) {
	resp := wbxml.New(wbxml.AirSync, "Sync")
	out := resp.Add(wbxml.AirSync, "Collections")
	changed := false
	bytesLeft := c.s.syncResponseBytes()
	for _, el := range items {
		sc, st := parseSyncCollection(el, c.ver)
		if st != 0 {
			addCollectionStatus(out, sc, st, c.ver)
			changed = true
			continue
		}
		sc.WindowSize = min(sc.WindowSize, max(budget, 1))
		sc.MaxBytes, sc.FirstItemFree = bytesLeft, bytesLeft == c.s.syncResponseBytes()
		if bytesLeft <= 0 {
			sc.MaxBytes = -1 // no room left: the items wait for the next Sync
		}
		res, err := sy.SyncCollection(ctx, c.acct, c.q.DeviceID, sc)
		if err != nil {
			if code, ok := commandStatusOf(err); ok {
				c.log.Warn("sync: collection refused", "collection", sc.CollectionID, "status", code, "err", err)
				addCollectionStatus(out, sc, code, c.ver)
				changed = true
				continue
			}
			return nil, false, err
		}
		budget -= len(res.Commands)
		bytesLeft -= resultSize(res)
		if len(res.Commands) > 0 || len(res.Responses) > 0 || res.MoreAvailable || (res.Status != 0 && res.Status != SyncStatusOK) ||
			sc.SyncKey == "0" || res.SyncKey != sc.SyncKey {
			changed = true
		}
		writeCollection(out, sc, res, c.ver)
	}
	return resp, changed, nil
}

// syncHeartbeat reads Wait (minutes, 12.1+) or HeartbeatInterval (seconds,
// 14.0+) of a hanging Sync; out of [lo, hi] is status 14.
func syncHeartbeat(req *wbxml.Element, lo, hi time.Duration) (time.Duration, error) {
	var d time.Duration
	if s := req.ChildText(wbxml.AirSync, "Wait"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return 0, CommandStatus(SyncStatusBadHeartbeat, "Wait is not a number")
		}
		d = time.Duration(n) * time.Minute
	} else if s := req.ChildText(wbxml.AirSync, "HeartbeatInterval"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return 0, CommandStatus(SyncStatusBadHeartbeat, "HeartbeatInterval is not a number")
		}
		d = time.Duration(n) * time.Second
	} else {
		return 0, nil
	}
	if d < lo || d > hi {
		return 0, CommandStatus(SyncStatusBadHeartbeat, "heartbeat out of range")
	}
	return d, nil
}

// maxSupported bounds a Supported list: the richest class (Contacts) has
// under a hundred elements.
const maxSupported = 200

// parseSyncCollection reads one request Collection. A non-zero status
// means the collection is answered with that status alone.
func parseSyncCollection(el *wbxml.Element, ver Version) (*SyncCollection, int) {
	sc := &SyncCollection{
		Version:        ver,
		CollectionID:   el.ChildText(wbxml.AirSync, "CollectionId"),
		WindowSize:     defaultWindowSize,
		DeletesAsMoves: true,
	}
	key := el.Child(wbxml.AirSync, "SyncKey")
	sc.Options.Class = el.ChildText(wbxml.AirSync, "Class")
	if sc.CollectionID == "" || key == nil {
		return sc, SyncStatusProtocolError
	}
	sc.SyncKey = key.Content()
	// GetChanges: empty or absent means true, except with key 0 (MS-ASCMD
	// 2.2.3.84).
	sc.GetChanges = sc.SyncKey != "0"
	if g := el.Child(wbxml.AirSync, "GetChanges"); g != nil {
		sc.GetChanges = g.Content() != "0"
	}
	if w, err := strconv.Atoi(el.ChildText(wbxml.AirSync, "WindowSize")); err == nil && w > 0 {
		sc.WindowSize = min(w, maxWindowSize)
	}
	if d := el.Child(wbxml.AirSync, "DeletesAsMoves"); d != nil {
		sc.DeletesAsMoves = d.Content() != "0"
	}
	// Options: several Options elements may each carry a Class (14.0+);
	// the Email one, or the only one, applies. TbSync puts Class inside.
	for _, opt := range el.All(wbxml.AirSync, "Options") {
		cls := opt.ChildText(wbxml.AirSync, "Class")
		if cls != "" && sc.Options.Class != "" && cls != sc.Options.Class {
			continue
		}
		o := parseOptions(opt)
		if o.Class == "" {
			o.Class = sc.Options.Class
		}
		sc.Options = o
	}
	sc.Options.Version = ver
	if sup := el.Child(wbxml.AirSync, "Supported"); sup != nil {
		sc.Supported = []string{}
		for _, c := range sup.Children {
			if c.Name != "" && len(sc.Supported) < maxSupported {
				sc.Supported = append(sc.Supported, c.Name)
			}
		}
	}
	if cmds := el.Child(wbxml.AirSync, "Commands"); cmds != nil {
		for _, cm := range cmds.Children {
			if cm.Space != wbxml.AirSync {
				continue
			}
			switch cm.Name {
			case "Add", "Change", "Delete", "Fetch":
				sc.Commands = append(sc.Commands, SyncCommand{
					Kind:     cm.Name,
					ServerID: cm.ChildText(wbxml.AirSync, "ServerId"),
					ClientID: cm.ChildText(wbxml.AirSync, "ClientId"),
					Data:     cm.Child(wbxml.AirSync, "ApplicationData"),
					// Only 16.x defines it; an older device never sends it.
					InstanceID: cm.ChildText(wbxml.AirSyncBase, "InstanceId"),
				})
			}
		}
	}
	return sc, 0
}

// parseOptions reads Sync/ItemOperations/GetItemEstimate Options.
func parseOptions(opt *wbxml.Element) SyncOptions {
	o := SyncOptions{Conflict: 1, MIMETruncation: -1, Class: opt.ChildText(wbxml.AirSync, "Class")}
	atoi := func(s string, def int) int {
		if n, err := strconv.Atoi(s); err == nil {
			return n
		}
		return def
	}
	o.FilterType = atoi(opt.ChildText(wbxml.AirSync, "FilterType"), 0)
	o.MIMESupport = atoi(opt.ChildText(wbxml.AirSync, "MIMESupport"), 0)
	o.MIMETruncation = atoi(opt.ChildText(wbxml.AirSync, "MIMETruncation"), -1)
	o.Conflict = atoi(opt.ChildText(wbxml.AirSync, "Conflict"), 1)
	o.MaxItems = atoi(opt.ChildText(wbxml.AirSync, "MaxItems"), 0)
	for _, bp := range opt.All(wbxml.AirSyncBase, "BodyPreference") {
		p := BodyPreference{Type: atoi(bp.ChildText(wbxml.AirSyncBase, "Type"), 0)}
		if p.Type < 1 || p.Type > 4 {
			continue
		}
		if n, err := strconv.ParseInt(bp.ChildText(wbxml.AirSyncBase, "TruncationSize"), 10, 64); err == nil && n > 0 {
			p.TruncationSize = n
		}
		p.AllOrNone = bp.ChildText(wbxml.AirSyncBase, "AllOrNone") == "1"
		p.Preview = min(max(atoi(bp.ChildText(wbxml.AirSyncBase, "Preview"), 0), 0), 255)
		o.BodyPrefs = append(o.BodyPrefs, p)
	}
	return o
}

// writeCollection adds one answered collection to the response, children
// in the order MS-ASCMD 2.2.3.29.2 lists them.
func writeCollection(out *wbxml.Element, sc *SyncCollection, res *SyncResult, ver Version) {
	col := out.Add(wbxml.AirSync, "Collection")
	if ver < V140 && sc.Options.Class != "" {
		col.AddText(wbxml.AirSync, "Class", sc.Options.Class)
	}
	key := res.SyncKey
	if key == "" || res.Status == SyncStatusInvalidKey {
		// MS-ASCMD 3.2.5.x: an invalid key sends the device back to 0.
		key = "0"
	}
	col.AddText(wbxml.AirSync, "SyncKey", key)
	col.AddText(wbxml.AirSync, "CollectionId", sc.CollectionID)
	status := res.Status
	if status == 0 {
		status = SyncStatusOK
	}
	col.AddText(wbxml.AirSync, "Status", strconv.Itoa(status))
	if res.MoreAvailable {
		col.Add(wbxml.AirSync, "MoreAvailable")
	}
	if len(res.Commands) > 0 {
		cmds := col.Add(wbxml.AirSync, "Commands")
		for _, it := range res.Commands {
			el := cmds.Add(wbxml.AirSync, it.Kind)
			el.AddText(wbxml.AirSync, "ServerId", it.ServerID)
			if it.Data != nil && (it.Kind == "Add" || it.Kind == "Change") {
				el.Append(asApplicationData(it.Data))
			}
		}
	}
	if len(res.Responses) > 0 {
		rs := col.Add(wbxml.AirSync, "Responses")
		for _, r := range res.Responses {
			el := rs.Add(wbxml.AirSync, r.Kind)
			if r.Kind == "Add" {
				el.AddText(wbxml.AirSync, "ClientId", r.ClientID)
			}
			if r.ServerID != "" {
				el.AddText(wbxml.AirSync, "ServerId", r.ServerID)
			}
			if r.InstanceID != "" && ver >= V160 {
				el.AddText(wbxml.AirSyncBase, "InstanceId", r.InstanceID)
			}
			st := r.Status
			if st == 0 {
				st = SyncStatusOK
			}
			el.AddText(wbxml.AirSync, "Status", strconv.Itoa(st))
			if r.Data != nil {
				el.Append(asApplicationData(r.Data))
			}
		}
	}
}

// asApplicationData makes sure item data sits in an ApplicationData
// element, whatever root the Backend used.
func asApplicationData(d *wbxml.Element) *wbxml.Element {
	if d.Is(wbxml.AirSync, "ApplicationData") {
		return d
	}
	return wbxml.New(wbxml.AirSync, "ApplicationData").Append(d.Children...)
}

func addCollectionStatus(out *wbxml.Element, sc *SyncCollection, status int, ver Version) {
	writeCollection(out, sc, &SyncResult{Status: status, SyncKey: sc.SyncKey}, ver)
}

func syncStatus(code int) *wbxml.Element {
	resp := wbxml.New(wbxml.AirSync, "Sync")
	resp.AddText(wbxml.AirSync, "Status", strconv.Itoa(code))
	return resp
}

// commandStatusOf extracts a command-specific status from an error.
func commandStatusOf(err error) (int, bool) {
	var e *Error
	if errors.As(err, &e) && e.Command && e.Status != 0 {
		return int(e.Status), true
	}
	return 0, false
}
