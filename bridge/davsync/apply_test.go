package davsync

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/activesync/items"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/bridge/calconv"
	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/upstream/dav"
)

// objects lists the hrefs of a collection as another client sees them.
func (e *env) objects(coll string) map[string]string {
	e.t.Helper()
	list, _, err := e.other.List(e.ctx, coll)
	if err != nil {
		e.t.Fatal(err)
	}
	return list
}

// TestDeviceEdits is research note P5 and P9 against the test Radicale,
// for 14.1 and 16.1: the device's Add is a valid VEVENT in its zone under
// its UID (ClientUid at 16.1); the same Add resent (its answer lost) and
// an Add of a UID the server already holds update, never duplicate; a
// Change of the subject leaves both alarms and the X- properties as they
// were; a Delete removes the object; none of it comes back to the device.
func TestDeviceEdits(t *testing.T) {
	for _, v := range []activesync.Version{141, 161} {
		t.Run(v.String(), func(t *testing.T) {
			e := newEnv(t, Options{})
			coll := e.calendar("cal", "Cal", "VEVENT")
			fidelity := e.put(coll, "p5.ics", testdata(t, "p5-fidelity.ics"))
			f := folderFor(engine.Ref{Kind: engine.KindCalendar, Path: coll})
			s := e.syncer(f, v, 0)
			initial := s.all(100)
			if len(initial) != 1 {
				t.Fatalf("initial: %v", kinds(initial))
			}
			p5ID := initial[0].ServerID

			berlin, _ := time.LoadLocation("Europe/Berlin")
			dev := &items.Calendar{
				Event: items.Event{
					StartTime: items.Ptr(time.Date(2026, 10, 25, 8, 0, 0, 0, time.UTC)), EndTime: items.Ptr(time.Date(2026, 10, 25, 9, 0, 0, 0, time.UTC)),
					Subject: items.Ptr("Dentist"), AllDayEvent: items.Ptr(false), Reminder: items.Ptr(30), BusyStatus: items.Ptr(2),
				},
				TimeZone: e.core.items[engine.KindCalendar].(events).conv.zones.Blob(berlin, 2026),
			}
			uid := "device-add-" + strings.ReplaceAll(v.String(), ".", "")
			if v >= 160 {
				dev.ClientUID = items.Ptr(uid)
			} else {
				dev.UID = items.Ptr(uid)
			}
			add := []activesync.SyncCommand{{Kind: "Add", ClientID: "c1", Data: dev.Encode(items.Version(v))}}
			res := s.run(add, 100)
			if len(res.Responses) != 1 || res.Responses[0].Status != activesync.SyncStatusOK || res.Responses[0].ClientID != "c1" {
				t.Fatalf("Add: %+v", res.Responses)
			}
			addID := res.Responses[0].ServerID
			if v >= 160 {
				got, err := items.DecodeCalendar(res.Responses[0].Data, items.V161)
				if err != nil || got.UID == nil || *got.UID != uid {
					t.Errorf("16.1 Add response carries UID %v (%v), want %s", got, err, uid)
				}
			} else if res.Responses[0].Data != nil {
				t.Errorf("14.1 Add response carries data")
			}
			if len(res.Commands) != 0 {
				t.Errorf("the device's own Add came back: %v", kinds(res.Commands))
			}
			list := e.objects(coll)
			if len(list) != 2 {
				t.Fatalf("after Add the server holds %v", list)
			}
			href := coll + uid + ".ics"
			obj := e.get(href)
			if uidLine(obj.Data) != uid || !bytes.Contains(obj.Data, []byte("TZID=Europe/Berlin:20261025T100000")) {
				t.Errorf("stored Add:\n%s", obj.Data)
			}
			// The answer was lost: the device resends the same Add with the
			// same key. No second object; the same ServerId.
			res = s.runKey(s.prev, add, 100)
			if len(res.Responses) != 1 || res.Responses[0].ServerID != addID || res.Responses[0].Status != activesync.SyncStatusOK {
				t.Fatalf("resent Add: %+v, want ServerId %s", res.Responses, addID)
			}
			s.key = res.SyncKey
			if list := e.objects(coll); len(list) != 2 {
				t.Fatalf("after the resent Add the server holds %v", list)
			}
			// An Add whose UID another client stored under another name.
			dup := *dev
			dup.Subject = items.Ptr("Dinner again")
			if v >= 160 {
				dup.ClientUID = items.Ptr("p5-fidelity@example.com")
			} else {
				dup.UID = items.Ptr("p5-fidelity@example.com")
			}
			res = s.run([]activesync.SyncCommand{{Kind: "Add", ClientID: "c2", Data: dup.Encode(items.Version(v))}}, 100)
			if len(res.Responses) != 1 || res.Responses[0].ServerID != p5ID || res.Responses[0].Status != activesync.SyncStatusOK {
				t.Fatalf("Add of a stored UID: %+v, want ServerId %s", res.Responses, p5ID)
			}
			if list := e.objects(coll); len(list) != 2 {
				t.Fatalf("after an Add of a stored UID the server holds %v", list)
			}
			if got := e.get(fidelity); !bytes.Contains(got.Data, []byte("SUMMARY:Dinner again")) || !bytes.Contains(got.Data, []byte("X-WR-ALARMUID:A2")) {
				t.Errorf("object after Add of its UID:\n%s", got.Data)
			}

			// Change the subject: only SUMMARY (and the stamps) change.
			before := e.get(fidelity)
			change := &items.Calendar{Event: items.Event{Subject: items.Ptr("Dinner moved")}}
			if v < 160 {
				res, err := calconv.FromICal(before.Data, e.core.items[engine.KindCalendar].(events).conv.options(e.call(f, v, 0)))
				if err != nil {
					t.Fatal(err)
				}
				change = res.Item
				change.Subject = items.Ptr("Dinner moved")
			}
			res = s.run([]activesync.SyncCommand{{Kind: "Change", ServerID: p5ID, Data: change.Encode(items.Version(v))}}, 100)
			if len(res.Responses) != 0 && res.Responses[0].Status != activesync.SyncStatusOK {
				t.Fatalf("Change: %+v", res.Responses)
			}
			if len(res.Commands) != 0 {
				t.Errorf("the device's own Change came back: %v", kinds(res.Commands))
			}
			after := e.get(fidelity)
			if diff := changedProps(before.Data, after.Data); !slices.Equal(diff, []string{"DTSTAMP", "LAST-MODIFIED", "SUMMARY"}) && !slices.Equal(diff, []string{"LAST-MODIFIED", "SUMMARY"}) && !slices.Equal(diff, []string{"SUMMARY"}) {
				t.Errorf("Change of the subject changed %v\nbefore:\n%s\nafter:\n%s", diff, before.Data, after.Data)
			}
			for _, keep := range []string{"X-APPLE-TRAVEL-ADVISORY-BEHAVIOR:AUTOMATIC", "X-WR-ALARMUID:A1", "X-WR-ALARMUID:A2", "COLOR:crimson", "ATTACH;FMTTYPE"} {
				if !bytes.Contains(after.Data, []byte(keep)) {
					t.Errorf("Change lost %s", keep)
				}
			}

			// Delete.
			res = s.run([]activesync.SyncCommand{{Kind: "Delete", ServerID: addID}}, 100)
			for _, r := range res.Responses {
				if r.Status != activesync.SyncStatusOK {
					t.Errorf("Delete: %+v", r)
				}
			}
			if list := e.objects(coll); len(list) != 1 {
				t.Errorf("after Delete the server holds %v", list)
			}
			if more := s.all(100); len(more) != 0 {
				t.Errorf("the device's own edits came back: %v", kinds(more))
			}
		})
	}
}

// changedProps lists the property names whose lines differ (unfolded).
func changedProps(a, b []byte) []string {
	la, lb := lines(a), lines(b)
	seen := map[string]bool{}
	var out []string
	note := func(l string) {
		name, _, _ := strings.Cut(l, ":")
		name, _, _ = strings.Cut(name, ";")
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	for l, n := range la {
		if lb[l] != n {
			note(l)
		}
	}
	for l, n := range lb {
		if la[l] != n {
			note(l)
		}
	}
	slices.Sort(out)
	return out
}

func lines(data []byte) map[string]int {
	s := strings.ReplaceAll(string(data), "\r\n ", "")
	s = strings.ReplaceAll(s, "\n ", "")
	out := map[string]int{}
	for _, l := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		if l != "" {
			out[l]++
		}
	}
	return out
}

// TestConflictServerWins: the device changes an event someone edited
// upstream since the device's last Sync. The server's object stays, the
// device is told (Status 7) and gets the server's version next.
func TestConflictServerWins(t *testing.T) {
	e := newEnv(t, Options{})
	coll := e.calendar("cal", "Cal", "VEVENT")
	href := e.put(coll, "x.ics", event("x", "Original", "20261201T090000Z"))
	f := folderFor(engine.Ref{Kind: engine.KindCalendar, Path: coll})
	s := e.syncer(f, 161, 0)
	id := s.all(100)[0].ServerID
	obj := e.get(href)
	if _, err := e.other.Update(e.ctx, href, obj.ETag, dav.ContentCalendar, event("x", "Laptop edit", "20261201T090000Z")); err != nil {
		t.Fatal(err)
	}
	change := &items.Calendar{Event: items.Event{Subject: items.Ptr("Phone edit")}}
	res := s.run([]activesync.SyncCommand{{Kind: "Change", ServerID: id, Data: change.Encode(items.V161)}}, 100)
	if len(res.Responses) != 1 || res.Responses[0].Status != activesync.SyncStatusConflict {
		t.Fatalf("conflicting Change: %+v", res.Responses)
	}
	if got := e.get(href); !bytes.Contains(got.Data, []byte("SUMMARY:Laptop edit")) {
		t.Errorf("server object after a conflict:\n%s", got.Data)
	}
	got := res.Commands
	if len(got) == 0 {
		got = s.all(100)
	}
	if evs := s.events(got); evs["Laptop edit"] == nil {
		t.Errorf("device did not get the server's version: %v", kinds(got))
	}
}

// TestResentTaskAdd: a task has no UID in MS-ASTASK, so a resent Add is
// found by its ClientId: one object on the server, the same ServerId.
func TestResentTaskAdd(t *testing.T) {
	e := newEnv(t, Options{})
	coll := e.calendar("todo", "Todo", "VTODO")
	f := folderFor(engine.Ref{Kind: engine.KindTasks, Path: coll})
	s := e.syncer(f, 141, 0)
	s.all(100)
	task := &items.Task{Subject: items.Ptr("Call the plumber"), Importance: items.Ptr(2)}
	add := []activesync.SyncCommand{{Kind: "Add", ClientID: "t-1", Data: task.Encode(items.V141)}}
	res := s.run(add, 100)
	if len(res.Responses) != 1 || res.Responses[0].Status != activesync.SyncStatusOK {
		t.Fatalf("Add: %+v", res.Responses)
	}
	again := s.runKey(s.prev, add, 100)
	if len(again.Responses) != 1 || again.Responses[0].ServerID != res.Responses[0].ServerID {
		t.Fatalf("resent Add: %+v, want ServerId %s", again.Responses, res.Responses[0].ServerID)
	}
	s.key = again.SyncKey
	if list := e.objects(coll); len(list) != 1 {
		t.Fatalf("after a resent task Add the server holds %v", list)
	}
	// Another Add with a new ClientId is a new task.
	res = s.run([]activesync.SyncCommand{{Kind: "Add", ClientID: "t-2", Data: task.Encode(items.V141)}}, 100)
	if len(res.Responses) != 1 || res.Responses[0].Status != activesync.SyncStatusOK {
		t.Fatalf("second Add: %+v", res.Responses)
	}
	if list := e.objects(coll); len(list) != 2 {
		t.Fatalf("after a second Add the server holds %v", list)
	}
}

// TestBadDeviceCommands: an Add the bridge cannot read, a Change and a
// Delete of IDs the folder does not hold get their own statuses; the good
// Add in the same request is stored, and nothing panics.
func TestBadDeviceCommands(t *testing.T) {
	e := newEnv(t, Options{})
	coll := e.calendar("cal", "Cal", "VEVENT")
	f := folderFor(engine.Ref{Kind: engine.KindCalendar, Path: coll})
	s := e.syncer(f, 141, 0)
	s.all(100)
	bad := wbxml.New(wbxml.AirSync, "ApplicationData")
	bad.AddText(wbxml.Calendar, "Reminder", "soon")
	good := (&items.Calendar{Event: items.Event{StartTime: items.Ptr(time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)),
		EndTime: items.Ptr(time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)), Subject: items.Ptr("Fine")}, UID: items.Ptr("fine-1")}).Encode(items.V141)
	res := s.run([]activesync.SyncCommand{
		{Kind: "Add", ClientID: "bad", Data: bad},
		{Kind: "Add", ClientID: "empty"},
		{Kind: "Change", ServerID: f.id + ":nosuchitem", Data: good},
		{Kind: "Delete", ServerID: f.id + ":nosuchitem"},
		{Kind: "Add", ClientID: "good", Data: good},
	}, 100)
	status := map[string]int{}
	for _, r := range res.Responses {
		status[r.Kind+" "+r.ClientID] = r.Status
	}
	want := map[string]int{
		"Add bad": activesync.SyncStatusConversionError, "Add empty": activesync.SyncStatusConversionError,
		"Change ": activesync.SyncStatusNotFound, "Delete ": activesync.SyncStatusNotFound, "Add good": activesync.SyncStatusOK,
	}
	for k, v := range want {
		if status[k] != v {
			t.Errorf("%s: status %d, want %d (all: %v)", k, status[k], v, status)
		}
	}
	if list := e.objects(coll); len(list) != 1 {
		t.Errorf("server holds %v, want the good Add only", list)
	}
}
