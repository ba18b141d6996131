package davsync

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/idlebridge/idlebridge/bridge/accounts"
	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/upstream/dav"
)

// MeetingStore is what MeetingResponse (bridge/meetings.go) needs of a
// calendar folder: write an event found by UID, read an item's object,
// and tell whether the server schedules itself. The calendar class's
// Source implements it; the bridge finds it by type assertion, so
// engine.Class keeps its shape.
type MeetingStore interface {
	// StoreMeeting writes the event of uid into the calendar folder
	// (folderID, ref): the object holding that UID is patched, or a new
	// one is created at the name a device's Add of that UID would get, so
	// a later Add of the same UID finds it. patch receives the stored
	// bytes (nil for a new object) and returns what to write, or nil to
	// write nothing (the ServerId is then that of the object found, "" for
	// none). The listing
	// records the object at once, so the ServerId returned is the one the
	// next calendar Sync sends it under.
	// serverReplies false writes with Schedule-Reply: F, so a server that
	// schedules itself does not answer the organizer for the user.
	StoreMeeting(ctx context.Context, p *accounts.Principal, folderID string, ref engine.Ref, uid string, serverReplies bool, patch func(stored []byte) ([]byte, error)) (serverID string, err error)
	// HoldsUID reports whether the calendar collection holds an event of
	// uid (a meeting answered or cancelled goes where it already is).
	HoldsUID(ctx context.Context, p *accounts.Principal, ref engine.Ref, uid string) (bool, error)
	// ReadItem returns the stored object of an item of the folder.
	ReadItem(ctx context.Context, p *accounts.Principal, folderID string, ref engine.Ref, serverID string) ([]byte, error)
	// SchedulesItself reports RFC 6638 calendar-auto-schedule on the
	// calendar home: the server sends iTIP itself.
	SchedulesItself(ctx context.Context, p *accounts.Principal) bool
}

var _ MeetingStore = source{}

// StoreMeeting implements MeetingStore.
func (s source) StoreMeeting(ctx context.Context, p *accounts.Principal, folderID string, ref engine.Ref, uid string, serverReplies bool, patch func([]byte) ([]byte, error)) (string, error) {
	var opts []dav.WriteOption
	if !serverReplies {
		opts = append(opts, dav.NoScheduleReply)
	}
	ce, err := s.c.clients.get(p, serviceCalDAV)
	if err != nil {
		return "", err
	}
	it, ok := s.c.items[engine.KindCalendar]
	if !ok {
		return "", engine.ErrGone
	}
	cl := ce.client
	newHref := strings.TrimSuffix(ref.Path, "/") + "/" + objectName(uid, it.Ext())
	var href, etag string
	for range 3 {
		obj, err := s.findByUID(ctx, cl, ref.Path, uid, newHref)
		if err != nil {
			return "", err
		}
		var stored []byte
		if obj != nil {
			stored = obj.Data
		}
		data, err := patch(stored)
		if err != nil {
			return "", err
		}
		if data == nil {
			if obj == nil {
				return "", nil
			}
			etag, href = obj.ETag, obj.Href
		} else if obj != nil {
			href = obj.Href
			etag, err = cl.Update(ctx, href, obj.ETag, it.ContentType(), data, opts...)
		} else {
			href = newHref
			etag, err = cl.Create(ctx, href, it.ContentType(), data, opts...)
		}
		if data != nil && (errors.Is(err, dav.ErrPrecondition) || errors.Is(err, dav.ErrConflict)) {
			continue // someone wrote it meanwhile: read it again and patch that
		}
		if err != nil {
			return "", err
		}
		l, _, err := updateListing(ctx, s.c.opts.Store, principalOf(p), folderID, func(*listing) (*edit, error) {
			ed := newEdit()
			ed.set[href] = entry{etag: versionOr(etag)}
			return ed, nil
		})
		if err != nil {
			return "", err
		}
		return l.byHref[href], nil
	}
	return "", fmt.Errorf("davsync: the event of UID %q keeps changing", uid)
}

// findByUID returns the object holding uid in the collection: at the
// name a device's Add would use first (one GET), else by a UID query.
func (s source) findByUID(ctx context.Context, cl *dav.Client, coll, uid, guess string) (*dav.Object, error) {
	hrefs := []string{guess}
	found, err := cl.ListMatching(ctx, coll, "VEVENT", "UID", uid)
	if err != nil {
		return nil, err
	}
	for h := range found {
		if h != guess {
			hrefs = append(hrefs, h)
		}
	}
	objs, _, err := cl.MultiGet(ctx, coll, dav.KindCalendar, hrefs)
	if err != nil && !errors.Is(err, dav.ErrNotFound) {
		return nil, err
	}
	for i := range objs {
		if uidOf(objs[i].Data) == uid {
			return &objs[i], nil
		}
	}
	return nil, nil
}

// HoldsUID implements MeetingStore.
func (s source) HoldsUID(ctx context.Context, p *accounts.Principal, ref engine.Ref, uid string) (bool, error) {
	ce, err := s.c.clients.get(p, serviceCalDAV)
	if err != nil {
		return false, err
	}
	it, ok := s.c.items[engine.KindCalendar]
	if !ok {
		return false, engine.ErrGone
	}
	obj, err := s.findByUID(ctx, ce.client, ref.Path, uid, strings.TrimSuffix(ref.Path, "/")+"/"+objectName(uid, it.Ext()))
	return obj != nil, err
}

// ReadItem implements MeetingStore.
func (s source) ReadItem(ctx context.Context, p *accounts.Principal, folderID string, ref engine.Ref, serverID string) ([]byte, error) {
	ce, err := s.c.clients.get(p, serviceCalDAV)
	if err != nil {
		return nil, err
	}
	l, err := loadListing(ctx, s.c.opts.Store, principalOf(p), folderID)
	if err != nil {
		return nil, err
	}
	e, ok := l.items[serverID]
	if !ok {
		return nil, dav.ErrNotFound
	}
	objs, _, err := ce.client.MultiGet(ctx, ref.Path, dav.KindCalendar, []string{e.href})
	if err != nil {
		return nil, err
	}
	if len(objs) != 1 {
		return nil, dav.ErrNotFound
	}
	return objs[0].Data, nil
}

// SchedulesItself implements MeetingStore.
func (s source) SchedulesItself(ctx context.Context, p *accounts.Principal) bool {
	ce, err := s.c.clients.get(p, serviceCalDAV)
	if err != nil {
		return false
	}
	d, err := ce.discovery(ctx)
	if err != nil || d.CalendarHome == "" {
		return false
	}
	caps, err := ce.client.Capabilities(ctx, d.CalendarHome)
	return err == nil && caps["calendar-auto-schedule"]
}
