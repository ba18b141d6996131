package davsync

import (
	"testing"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/engine"
)

// TestCalendarGoneUpstream: a calendar deleted by another client makes
// the device's next Sync Status 12 (FolderSync first), and once a poll
// has seen it gone a parked Ping's re-check reports it without asking
// the server again.
func TestCalendarGoneUpstream(t *testing.T) {
	e := newEnv(t, Options{})
	coll := e.calendar("cal", "Cal", "VEVENT")
	e.put(coll, "a.ics", event("a", "A", "20261201T090000Z"))
	f := folderFor(engine.Ref{Kind: engine.KindCalendar, Path: coll})
	s := e.syncer(f, 141, 0)
	s.all(100)
	if err := e.other.DeleteCollection(e.ctx, coll); err != nil {
		t.Fatal(err)
	}
	res, err := e.eng.Sync(e.ctx, e.class.Source, e.call(f, 141, 0), &activesync.SyncCollection{
		Version: 141, CollectionID: f.id, SyncKey: s.key, GetChanges: true, WindowSize: 100,
	})
	if err != nil || res.Status != activesync.SyncStatusHierarchyChanged {
		t.Fatalf("Sync of a deleted calendar: %+v, %v; want status 12", res, err)
	}
	e.wire.reset()
	if ch, err := e.eng.HasChanges(e.ctx, e.class.Source, e.call(f, 141, 0)); err != nil || !ch {
		t.Errorf("HasChanges of a deleted calendar = %v, %v", ch, err)
	}
	if n := e.wire.requests.Load(); n != 0 {
		t.Errorf("HasChanges asked the server: %s", e.wire)
	}
}

// TestCalDAVRemovedFromUserFile: a Sync of a calendar folder of a user
// whose file no longer names a CalDAV server is Status 12, not a failure.
func TestCalDAVRemovedFromUserFile(t *testing.T) {
	e := newEnv(t, Options{})
	coll := e.calendar("cal", "Cal", "VEVENT")
	f := folderFor(engine.Ref{Kind: engine.KindCalendar, Path: coll})
	s := e.syncer(f, 141, 0)
	s.all(100)
	e.p.User.CalDAV = ""
	res, err := e.eng.Sync(e.ctx, e.class.Source, e.call(f, 141, 0), &activesync.SyncCollection{
		Version: 141, CollectionID: f.id, SyncKey: s.key, GetChanges: true, WindowSize: 100,
	})
	if err != nil || res.Status != activesync.SyncStatusHierarchyChanged {
		t.Fatalf("Sync without CalDAV: %+v, %v; want status 12", res, err)
	}
}
