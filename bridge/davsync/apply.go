package davsync

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/activesync/items"
	"github.com/idlebridge/idlebridge/bridge/calconv"
	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/upstream/dav"
)

// resend is a version no object has: recorded as what the device holds,
// it makes the next Sync send the server's object as a Change (a refused
// or lost edit: the device must see the server's truth again).
const resend = "!resend"

// Conflict option values (MS-ASCMD 2.2.3.34).
const (
	conflictClientWins = 0
	conflictServerWins = 1
)

// Apply carries out the device's Add, Change and Delete commands upstream.
// Each command gets its own status; one failing never stops the others.
func (j *job) Apply(ctx context.Context, cmds []activesync.SyncCommand) ([]activesync.SyncItemResponse, *state.Delta, error) {
	if j.cl == nil {
		return nil, nil, fmt.Errorf("davsync: device commands without upstream credentials")
	}
	applied := &state.Delta{Set: map[string]string{}}
	ed := newEdit()
	var resps []activesync.SyncItemResponse
	var ids []string
	for _, cmd := range cmds {
		if cmd.ServerID != "" {
			ids = append(ids, cmd.ServerID)
		}
	}
	held, err := engine.DeviceViewOf(ctx, j.call.Store, j.call.User, j.call.DeviceID, j.call.CollectionID, j.call.Header, j.call.Role, ids)
	if err != nil {
		return nil, nil, err
	}
	l, err := j.listing(ctx, false)
	if err != nil {
		return nil, nil, err
	}
	for _, cmd := range cmds {
		var r activesync.SyncItemResponse
		var aerr error
		switch cmd.Kind {
		case "Add":
			r, aerr = j.add(ctx, l, cmd, applied, ed)
		case "Change":
			r, aerr = j.change(ctx, l, cmd, held[cmd.ServerID], applied, ed)
		case "Delete":
			if cmd.InstanceID != "" {
				r, aerr = j.change(ctx, l, cmd, held[cmd.ServerID], applied, ed)
				break
			}
			r, aerr = j.delete(ctx, l, cmd, applied, ed)
		default:
			continue
		}
		if aerr != nil {
			if isOutage(aerr) {
				// The server is gone for now: fail the request (503), the
				// device resends it; nothing was recorded.
				return nil, nil, upstreamErr(aerr)
			}
			j.log.Warn("dav: device command failed", "cmd", cmd.Kind, "item", cmd.ServerID, "client_id", cmd.ClientID, "err", aerr)
		}
		if r.Kind == "Add" || r.Status != activesync.SyncStatusOK {
			// MS-ASCMD 2.2.3.177.17: an Add always has its response,
			// a Change or Delete only when it failed.
			resps = append(resps, r)
		}
	}
	for _, v := range applied.Set {
		if v == resend {
			j.resent = true
		}
	}
	if !ed.empty() {
		if _, _, err := updateListing(ctx, j.c.opts.Store, j.call.User, j.call.CollectionID, func(*listing) (*edit, error) { return ed, nil }); err != nil {
			return nil, nil, err
		}
		j.l = nil // reread with the device's changes
	}
	return resps, applied, nil
}

// isOutage: the server could not be asked (or failed), as opposed to
// refusing this one item.
func isOutage(err error) bool {
	var se *dav.StatusError
	if errors.As(err, &se) {
		return se.Temporary() || se.Code == 401
	}
	return !errors.Is(err, errItem)
}

// errItem marks a failure of one item (bad data from the device, an
// object the server refused): the command gets a status, the request
// goes on.
var errItem = errors.New("davsync: item refused")

func itemErr(err error) error { return fmt.Errorf("%w: %w", errItem, err) }

// get fetches one object (nil, nil when it is gone).
func (j *job) get(ctx context.Context, l *listing, href string) (*dav.Object, error) {
	objs, failed, err := j.cl.MultiGet(ctx, j.collectionOf(l, href), j.it.Collection(), []string{href})
	if err != nil {
		return nil, err
	}
	if len(objs) == 1 {
		return &objs[0], nil
	}
	if ferr := failed[href]; ferr != nil && !errors.Is(ferr, dav.ErrNotFound) {
		return nil, ferr
	}
	return nil, nil
}

// add creates the device's new item: PUT If-None-Match at a name from its
// UID. A resent Add (its answer was lost) finds its object there (412),
// an Add whose UID another client stored elsewhere is told by the server
// (409 no-uid-conflict): both update that object and answer its ServerId,
// so no duplicate is ever created (research note P9).
func (j *job) add(ctx context.Context, l *listing, cmd activesync.SyncCommand, applied *state.Delta, ed *edit) (activesync.SyncItemResponse, error) {
	r := activesync.SyncItemResponse{Kind: "Add", ClientID: cmd.ClientID, Status: activesync.SyncStatusConversionError}
	now := j.c.opts.Now()
	j.pruneClientIDs(l, ed, now)
	cidKey := ""
	if cmd.ClientID != "" {
		cidKey = metaClientID + j.call.DeviceID + "/" + cmd.ClientID
		if v, ok := l.meta[cidKey]; ok {
			// The device sent this Add before (its answer was lost) and
			// gave no UID to find it by: update what that Add made.
			href, _, _ := strings.Cut(v, " ")
			var etag string
			err := j.update(ctx, l, href, cmd, &etag)
			if err == nil {
				j.log.Info("dav: resent Add; updating the object it made", "href", href, "client_id", cmd.ClientID)
				id := j.idFor(l, href)
				r.ServerID, r.Status = id, activesync.SyncStatusOK
				applied.Set[id] = versionOr(etag)
				ed.set[href] = entry{etag: etag}
				return r, nil
			}
			if isOutage(err) {
				return r, err
			}
			// Gone or unusable: make it anew.
		}
	}
	var p *Patched
	var err error
	if vs, ok := j.it.(versioned); ok {
		p, err = vs.PatchNew(cmd.Data, j.call, j.addVersion(ctx, vs, l, ed))
	} else {
		p, err = j.it.Patch(nil, cmd.Data, j.call, now)
	}
	if err != nil {
		return r, itemErr(err)
	}
	target, err := j.addTarget(ctx, l)
	if err != nil {
		return r, err
	}
	href := strings.TrimSuffix(target, "/") + "/" + objectName(p.UID, j.it.Ext())
	etag, err := j.cl.Create(ctx, href, j.it.ContentType(), p.Data)
	created := err == nil
	if errors.Is(err, dav.ErrPrecondition) || errors.Is(err, dav.ErrConflict) {
		existing := href
		if errors.Is(err, dav.ErrConflict) {
			if existing, err = j.findUID(ctx, target, err, p.UID); err != nil {
				return r, err
			}
		}
		j.log.Info("dav: Add of an object the server holds; updating it", "href", existing, "uid", p.UID)
		var newTag string
		err = j.update(ctx, l, existing, cmd, &newTag)
		href, etag = existing, newTag
	}
	if err != nil {
		if isOutage(err) {
			return r, err
		}
		r.Status = activesync.SyncStatusConversionError
		return r, itemErr(err)
	}
	id := j.idFor(l, href)
	r.ServerID, r.Status = id, activesync.SyncStatusOK
	applied.Set[id] = versionOr(etag)
	ed.set[href] = entry{etag: etag}
	if h := j.organizerSends(); h != nil && created {
		// A new object (not a resent Add that updated one): invite.
		h(ctx, j.call.Principal, MethodRequest, p.Data)
	}
	if ar, ok := j.it.(addResponder); ok {
		r.Data = ar.AddResponse(p.UID, j.call)
	}
	if cidKey != "" {
		ed.meta[cidKey] = href + " " + strconv.FormatInt(now.Unix(), 10)
	}
	return r, nil
}

// metaClientID (+ device ID "/" ClientId) remembers which href a device's
// Add made, for a week: a task (MS-ASTASK has no UID) or an event sent
// without UID and ClientUid has nothing else to find it by when the Add
// is resent (MS-ASCMD 2.2.3.30.2: a ClientId is unique per device).
const (
	metaClientID  = "cid:"
	clientIDsKept = 7 * 24 * time.Hour
)

func (j *job) pruneClientIDs(l *listing, ed *edit, now time.Time) {
	for k, v := range l.meta {
		if !strings.HasPrefix(k, metaClientID) {
			continue
		}
		_, at, _ := strings.Cut(v, " ")
		if sec, err := strconv.ParseInt(at, 10, 64); err != nil || now.Sub(time.Unix(sec, 0)) > clientIDsKept {
			ed.meta[k] = ""
		}
	}
}

// update merges the device's item into the object at href (a resent Add)
// and writes it with If-Match; etag receives the new ETag.
func (j *job) update(ctx context.Context, l *listing, href string, cmd activesync.SyncCommand, etag *string) error {
	for range 2 {
		obj, err := j.get(ctx, l, href)
		if err != nil {
			return err
		}
		if obj == nil {
			return itemErr(fmt.Errorf("object %s vanished", href))
		}
		p, err := j.it.Patch(obj.Data, cmd.Data, j.call, j.c.opts.Now())
		if err != nil {
			return itemErr(err)
		}
		if !p.Changed {
			*etag = obj.ETag
			return nil
		}
		*etag, err = j.cl.Update(ctx, href, obj.ETag, j.it.ContentType(), p.Data)
		if !errors.Is(err, dav.ErrPrecondition) {
			return err
		}
	}
	return itemErr(fmt.Errorf("object %s keeps changing", href))
}

// findUID finds the href that holds uid in coll, after a 409
// no-uid-conflict.
func (j *job) findUID(ctx context.Context, coll string, cerr error, uid string) (string, error) {
	var se *dav.StatusError
	if errors.As(cerr, &se) && se.ConflictHref != "" {
		return se.ConflictHref, nil
	}
	comp := j.it.Component()
	found, err := j.cl.ListMatching(ctx, coll, comp, "UID", uid)
	if err != nil {
		return "", err
	}
	var hrefs []string
	for h := range found {
		hrefs = append(hrefs, h)
	}
	objs, _, err := j.cl.MultiGet(ctx, coll, j.it.Collection(), hrefs)
	if err != nil {
		return "", err
	}
	for _, o := range objs {
		if uidOf(o.Data) == uid {
			return o.Href, nil
		}
	}
	return "", itemErr(fmt.Errorf("server reports a UID conflict for %q but no object holds it: %w", uid, cerr))
}

// uidOf reads the UID of a stored object ("" when it has none).
func uidOf(data []byte) string {
	cal, err := calconv.ParseICal(data)
	if err != nil {
		return ""
	}
	for _, c := range cal.Children {
		if p := c.Props.Get("UID"); p != nil {
			return p.Value
		}
	}
	return ""
}

// idFor is the server ID href has (or will have once the edit is stored).
func (j *job) idFor(l *listing, href string) string {
	if id, ok := l.byHref[href]; ok {
		return id
	}
	return itemID(j.call.CollectionID, href, func(id string) bool { _, taken := l.items[id]; return taken })
}

func versionOr(etag string) string {
	if etag == "" {
		// The server sent no ETag (RFC 4791 5.3.4 allows it): the next
		// poll learns it and the device gets the object once more.
		return resend
	}
	return etag
}

// change patches the stored object with the device's Change. A server
// object edited since the device last saw it is a conflict: by default
// the server wins (MS-ASCMD 2.2.3.34), the device is told (Status 7) and
// gets the server's object with its next Sync.
//
// A Change or Delete with a 16.x InstanceId is for one occurrence of a
// series: it patches the series' object (an override, an EXDATE) the
// same way, never the series as a whole.
func (j *job) change(ctx context.Context, l *listing, cmd activesync.SyncCommand, held string, applied *state.Delta, ed *edit) (activesync.SyncItemResponse, error) {
	r := activesync.SyncItemResponse{Kind: cmd.Kind, ServerID: cmd.ServerID, InstanceID: cmd.InstanceID, Status: activesync.SyncStatusNotFound}
	e, ok := l.items[cmd.ServerID]
	if !ok || e.foreign {
		return r, nil
	}
	patch, err := j.patcher(cmd)
	if err != nil {
		r.Status = activesync.SyncStatusConversionError
		return r, itemErr(err)
	}
	for try := 0; ; try++ {
		obj, err := j.get(ctx, l, e.href)
		if err != nil {
			return r, err
		}
		if obj == nil {
			return r, nil
		}
		if held != "" && held != obj.ETag && j.call.Options.Conflict != conflictClientWins {
			r.Status = activesync.SyncStatusConflict
			applied.Set[cmd.ServerID] = resend
			j.log.Info("dav: device changed an object edited upstream meanwhile; server wins", "item", cmd.ServerID, "href", e.href)
			return r, nil
		}
		p, err := patch(obj.Data)
		if errors.Is(err, calconv.ErrNoInstance) {
			// The device believes in an occurrence the series does not
			// have: it gets the server's series again.
			applied.Set[cmd.ServerID] = resend
			return r, itemErr(err)
		}
		if err != nil {
			r.Status = activesync.SyncStatusConversionError
			if errors.Is(err, calconv.ErrReadOnly) {
				// What EAS cannot express must not be overwritten by what
				// the device never saw (P7): refuse, resend the server's.
				applied.Set[cmd.ServerID] = resend
			}
			return r, itemErr(err)
		}
		if !p.Changed {
			r.Status = activesync.SyncStatusOK
			if p.Partial {
				applied.Set[cmd.ServerID] = resend
			}
			return r, nil
		}
		etag, err := j.cl.Update(ctx, e.href, obj.ETag, j.it.ContentType(), p.Data)
		if errors.Is(err, dav.ErrPrecondition) && try == 0 {
			held = "" // lost a race with another writer: read again
			if j.call.Options.Conflict != conflictClientWins {
				held = obj.ETag
			}
			continue
		}
		if err != nil {
			if isOutage(err) {
				return r, err
			}
			r.Status = activesync.SyncStatusConversionError
			return r, itemErr(err)
		}
		r.Status = activesync.SyncStatusOK
		applied.Set[cmd.ServerID] = versionOr(etag)
		if p.Partial {
			j.log.Info("dav: part of the device's change has no place in the object; sending it the server's", "item", cmd.ServerID, "href", e.href)
			applied.Set[cmd.ServerID] = resend
		}
		ed.set[e.href] = entry{etag: etag}
		if h := j.organizerSends(); h != nil {
			h(ctx, j.call.Principal, MethodRequest, p.Data)
		}
		return r, nil
	}
}

// patcher is how a Change or an occurrence's Delete patches a stored
// object.
func (j *job) patcher(cmd activesync.SyncCommand) (func(stored []byte) (*Patched, error), error) {
	now := j.c.opts.Now()
	if cmd.InstanceID == "" {
		if cmd.Kind == "Delete" {
			return nil, fmt.Errorf("davsync: a Delete without InstanceId is not a patch")
		}
		return func(stored []byte) (*Patched, error) { return j.it.Patch(stored, cmd.Data, j.call, now) }, nil
	}
	occ, ok := j.it.(occurrences)
	if !ok {
		return nil, fmt.Errorf("davsync: InstanceId on a %s item", j.it.Kind())
	}
	inst, err := items.ParseDate(cmd.InstanceID)
	if err != nil {
		return nil, err
	}
	if cmd.Kind == "Delete" {
		return func(stored []byte) (*Patched, error) { return occ.DeleteInstance(stored, inst, j.call, now) }, nil
	}
	return func(stored []byte) (*Patched, error) { return occ.PatchInstance(stored, cmd.Data, inst, j.call, now) }, nil
}

// delete removes the object if it is still what the listing knows; one
// edited upstream meanwhile survives when the server wins, and comes back
// to the device with its next Sync.
func (j *job) delete(ctx context.Context, l *listing, cmd activesync.SyncCommand, applied *state.Delta, ed *edit) (activesync.SyncItemResponse, error) {
	r := activesync.SyncItemResponse{Kind: "Delete", ServerID: cmd.ServerID, Status: activesync.SyncStatusOK}
	applied.Del = append(applied.Del, cmd.ServerID)
	e, ok := l.items[cmd.ServerID]
	if !ok || e.foreign {
		r.Status = activesync.SyncStatusNotFound
		return r, nil
	}
	etag := e.etag
	if j.call.Options.Conflict == conflictClientWins {
		etag = ""
	}
	var before []byte // what the attendees are told is cancelled
	h := j.organizerSends()
	if h != nil {
		if obj, gerr := j.get(ctx, l, e.href); gerr == nil && obj != nil {
			before = obj.Data
		}
	}
	err := j.cl.Delete(ctx, e.href, etag)
	switch {
	case err == nil:
		ed.del = append(ed.del, e.href)
		if h != nil && before != nil {
			h(ctx, j.call.Principal, MethodCancel, before)
		}
	case errors.Is(err, dav.ErrNotFound):
		ed.del = append(ed.del, e.href)
	case errors.Is(err, dav.ErrPrecondition):
		j.log.Info("dav: device deleted an object edited upstream meanwhile; server wins, it comes back", "item", cmd.ServerID, "href", e.href)
	default:
		if isOutage(err) {
			return r, err
		}
		r.Status = activesync.SyncStatusConversionError
		return r, itemErr(err)
	}
	return r, nil
}
