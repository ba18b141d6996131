package davsync

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/activesync/items"
	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/upstream/dav"
)

// TestSyncFromOtherClients: events and a task stored by other clients in
// a mixed calendar reach a 14.1 and a 16.1 device with the right fields;
// the VTODO only in the tasks folder. An empty incremental Sync then
// costs one small upstream request, and HasChanges none.
func TestSyncFromOtherClients(t *testing.T) {
	e := newEnv(t, Options{})
	coll := e.calendar("calendar", "Personal", "VEVENT", "VTODO")
	for _, name := range []string{"p1-berlin", "p3-allday", "p5-fidelity", "p8-series", "p13-todo"} {
		e.put(coll, name+".ics", testdata(t, name+".ics"))
	}
	fs := e.folders()
	cal, todo := folderFor(fs["calendar Personal"].Ref), folderFor(fs["tasks Personal"].Ref)
	for n, v := range []activesync.Version{141, 161} {
		e.device = "dev" + v.String()
		s := e.syncer(cal, v, 0)
		cmds := s.all(2) // windows of two: MoreAvailable
		if got := kinds(cmds); len(got) != 4+n || slices.ContainsFunc(got, func(k string) bool { return k != "Add" }) {
			t.Fatalf("%s: calendar got %v, want %d Adds", v, got, 4+n)
		}
		evs := s.events(cmds)
		berlin := evs["Standup, daily"]
		if berlin == nil || !berlin.StartTime.Equal(time.Date(2026, 7, 1, 7, 0, 0, 0, time.UTC)) || len(berlin.TimeZone) != 172 {
			t.Errorf("%s: Berlin event = %+v", v, berlin)
		}
		hol := evs["Holiday"]
		if hol == nil || hol.AllDayEvent == nil || !*hol.AllDayEvent {
			t.Fatalf("%s: all-day event = %+v", v, hol)
		}
		wantStart := time.Date(2026, 5, 13, 22, 0, 0, 0, time.UTC) // 14.1: local midnight (P3)
		if v >= 160 {
			wantStart = time.Date(2026, 5, 14, 0, 0, 0, 0, time.UTC)
		}
		if !hol.StartTime.Equal(wantStart) {
			t.Errorf("%s: all-day start %v, want %v", v, hol.StartTime, wantStart)
		}
		run := evs["Sunday run"]
		if run == nil || run.Recurrence == nil || run.Recurrence.Type != items.RecurWeekly || len(run.Exceptions) != 3 {
			t.Fatalf("%s: series = %+v", v, run)
		}
		for _, x := range run.Exceptions {
			if x.Start.Hour() != 7 || x.Start.Location() != time.UTC {
				t.Errorf("%s: exception start %v, want 07:00Z (09:00 Berlin summer time)", v, x.Start)
			}
		}
		if d := evs["Dinner"]; d == nil || d.Reminder == nil || *d.Reminder != 15 {
			t.Errorf("%s: two alarms: reminder = %+v, want 15", v, d)
		}
		ts := e.syncer(todo, v, 0)
		tcmds := ts.all(10)
		if len(tcmds) != 1 || tcmds[0].Kind != "Add" {
			t.Fatalf("%s: tasks got %v, want one Add", v, kinds(tcmds))
		}
		task, err := items.DecodeTask(tcmds[0].Data, items.Version(v))
		if err != nil || task.Subject == nil || *task.Subject != "Buy presents" {
			t.Fatalf("%s: task %+v, %v", v, task, err)
		}
		if !strings.HasPrefix(tcmds[0].ServerID, todo.id+":") || !strings.HasPrefix(cmds[0].ServerID, cal.id+":") || len(cmds[0].ServerID) > 64 {
			t.Errorf("server IDs %s, %s", cmds[0].ServerID, tcmds[0].ServerID)
		}

		// A window lost on the way: the previous key gets it again.
		e.put(coll, "late-"+v.String()+".ics", event("late-"+v.String(), "Late", "20261205T090000Z"))
		first := s.run(nil, 100)
		again := s.runKey(s.prev, nil, 100)
		if len(first.Commands) != 1 || len(again.Commands) != 1 || again.SyncKey != first.SyncKey || again.Commands[0].ServerID != first.Commands[0].ServerID {
			t.Fatalf("%s: resent key: %v (key %s) then %v (key %s)", v, kinds(first.Commands), first.SyncKey, kinds(again.Commands), again.SyncKey)
		}
		if res := s.run(nil, 100); len(res.Commands) != 0 {
			t.Fatalf("%s: after the resend: %v", v, kinds(res.Commands))
		}

		// Nothing changed: one request, key kept, and Ping's check costs none.
		e.wire.reset()
		key := s.key
		res := s.run(nil, 100)
		time.Sleep(50 * time.Millisecond)
		if len(res.Commands) != 0 || res.SyncKey != key {
			t.Fatalf("%s: empty sync: %v, key %s → %s", v, kinds(res.Commands), key, res.SyncKey)
		}
		if n := e.wire.requests.Load(); n != 1 {
			t.Errorf("%s: empty incremental Sync cost %s, want 1 request", v, e.wire)
		}
		t.Logf("%s: empty incremental Sync upstream: %s", v, e.wire)
		if total := e.wire.sent.Load() + e.wire.got.Load(); total > 2048 {
			t.Errorf("%s: empty incremental Sync moved %d bytes, want ≤ 2 KB", v, total)
		}
		e.wire.reset()
		if ch, err := e.eng.HasChanges(e.ctx, e.class.Source, e.call(cal, v, 0)); err != nil || ch {
			t.Errorf("%s: HasChanges = %v, %v", v, ch, err)
		}
		if n := e.wire.requests.Load(); n != 0 {
			t.Errorf("%s: HasChanges cost %s, want none", v, e.wire)
		}
	}
}

// TestStaleTokenNoDuplicates is research note P10: between two polls one
// object is deleted and one added (same count), another edited twice in
// a second; then the stored sync token is made stale (Radicale answers
// 403 valid-sync-token). The device gets exactly one Delete, one Add and
// one Change, and nothing twice.
func TestStaleTokenNoDuplicates(t *testing.T) {
	e := newEnv(t, Options{})
	coll := e.calendar("cal", "Cal", "VEVENT")
	a := e.put(coll, "a.ics", event("a", "A", "20261201T090000Z"))
	e.put(coll, "b.ics", event("b", "B", "20261202T090000Z"))
	c := e.put(coll, "c.ics", event("c", "C", "20261203T090000Z"))
	f := folderFor(engine.Ref{Kind: engine.KindCalendar, Path: coll})
	s := e.syncer(f, 141, 0)
	if got := s.all(100); len(got) != 3 {
		t.Fatalf("initial: %v", kinds(got))
	}
	if err := e.other.Delete(e.ctx, a, ""); err != nil {
		t.Fatal(err)
	}
	e.put(coll, "d.ics", event("d", "D", "20261204T090000Z"))
	for _, subj := range []string{"C1", "C2"} {
		obj := e.get(c)
		if _, err := e.other.Update(e.ctx, c, obj.ETag, "text/calendar", event("c", subj, "20261203T090000Z")); err != nil {
			t.Fatal(err)
		}
	}
	// The token the bridge holds is no longer known to the server.
	if _, _, err := updateListing(e.ctx, e.store, e.p.User.Address, f.id, func(l *listing) (*edit, error) {
		ed := newEdit()
		ed.cursor = &dav.Cursor{SyncToken: "http://radicale.org/ns/sync/0000000000000000000000000000000000000000000000000000000000000000"}
		return ed, nil
	}); err != nil {
		t.Fatal(err)
	}
	got := s.all(100)
	if k := kinds(got); !slices.Equal(k, []string{"Add", "Change", "Delete"}) {
		t.Fatalf("after stale token: %v, want Add, Change, Delete", k)
	}
	evs := s.events(got)
	if evs["D"] == nil || evs["C2"] == nil {
		t.Errorf("got %v", evs)
	}
	if again := s.all(100); len(again) != 0 {
		t.Errorf("second pass: %v, want nothing", kinds(again))
	}
	l, err := loadListing(e.ctx, e.store, e.p.User.Address, f.id)
	if err != nil || !strings.HasPrefix(l.meta[metaToken], "http://radicale.org/ns/sync/") || strings.HasSuffix(l.meta[metaToken], "0000") {
		t.Errorf("token after the listing = %q, %v: want a fresh one (the ladder climbs back)", l.meta[metaToken], err)
	}
}

// event is a minimal VEVENT in UTC.
func event(uid, summary, start string) []byte {
	end := start[:9] + "10" + start[11:]
	return []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:" + uid +
		"\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:" + start + "\r\nDTEND:" + end + "\r\nSUMMARY:" + summary +
		"\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
}
