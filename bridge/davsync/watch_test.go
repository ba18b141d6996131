package davsync

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/bridge/state"
)

// TestWatcherWakes: with a short interval, an event PUT by another client
// is announced for its folder (and only then); a parked device's
// re-check (HasChanges) then sees it from the store, and the next Sync
// brings it. The latency from PUT to announcement is logged over 20 edits.
func TestWatcherWakes(t *testing.T) {
	e := newEnv(t, Options{PollActive: 100 * time.Millisecond, PollIdle: time.Hour})
	coll := e.calendar("cal", "Cal", "VEVENT")
	other := e.calendar("other", "Other", "VEVENT")
	e.put(coll, "a.ics", event("a", "A", "20261201T090000Z"))
	f := folderFor(engine.Ref{Kind: engine.KindCalendar, Path: coll})
	g := folderFor(engine.Ref{Kind: engine.KindCalendar, Path: other})
	s := e.syncer(f, 141, 0)
	s.all(100)
	e.core.touch(e.p.User.Address)

	var mu sync.Mutex
	var calls []string
	got := make(chan string, 100)
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	h := e.class.Watcher.Watch(ctx, e.p, map[string]engine.Ref{f.id: f.ref}, func(id string) {
		mu.Lock()
		calls = append(calls, id)
		mu.Unlock()
		got <- id
	})
	// The first poll announces the folder once (its listing's version is
	// new to this watcher); then quiet.
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("no first announcement")
	}
	time.Sleep(500 * time.Millisecond)
	mu.Lock()
	if len(calls) != 1 {
		t.Fatalf("calls while nothing changed: %v", calls)
	}
	mu.Unlock()
	if ch, _ := e.eng.HasChanges(e.ctx, e.class.Source, e.call(f, 141, 0)); ch {
		t.Fatal("HasChanges before any edit")
	}
	h.Update(e.p, map[string]engine.Ref{f.id: f.ref, g.id: g.ref})

	var lat []time.Duration
	for i := range 20 {
		start := time.Now()
		e.put(coll, fmt.Sprintf("e%d.ics", i), event(fmt.Sprintf("e%d", i), fmt.Sprintf("E%d", i), "20261202T090000Z"))
	wait:
		for {
			select {
			case id := <-got:
				if id == f.id {
					break wait
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("edit %d not announced", i)
			}
		}
		lat = append(lat, time.Since(start))
		if ch, err := e.eng.HasChanges(e.ctx, e.class.Source, e.call(f, 141, 0)); err != nil || !ch {
			t.Fatalf("edit %d: HasChanges = %v, %v", i, ch, err)
		}
		if res := s.run(nil, 100); len(res.Commands) != 1 || res.Commands[0].Kind != "Add" {
			t.Fatalf("edit %d: Sync brought %v", i, kinds(res.Commands))
		}
	}
	slices.Sort(lat)
	t.Logf("PUT → watcher announcement over %d edits, interval 100ms: median %v, max %v", len(lat), lat[len(lat)/2], lat[len(lat)-1])
}

// TestMoveBetweenCalendars: MoveItems is PUT in the destination and
// DELETE in the source, and the new ID is the destination's.
func TestMoveBetweenCalendars(t *testing.T) {
	e := newEnv(t, Options{})
	a := e.calendar("a", "A", "VEVENT")
	b := e.calendar("b", "B", "VEVENT")
	e.put(a, "m.ics", testdata(t, "p5-fidelity.ics"))
	fa := folderFor(engine.Ref{Kind: engine.KindCalendar, Path: a})
	fb := folderFor(engine.Ref{Kind: engine.KindCalendar, Path: b})
	sa, sb := e.syncer(fa, 141, 0), e.syncer(fb, 141, 0)
	id := sa.all(100)[0].ServerID
	sb.all(100)
	job, err := e.class.Source.Open(e.ctx, e.call(fa, 141, 0))
	if err != nil {
		t.Fatal(err)
	}
	newID, err := job.(engine.Mover).Move(e.ctx, id, fb.ref, fb.id)
	if err != nil {
		t.Fatal(err)
	}
	if folderOf(newID) != fb.id {
		t.Errorf("new ID %s not in folder %s", newID, fb.id)
	}
	if la, lb := e.objects(a), e.objects(b); len(la) != 0 || len(lb) != 1 {
		t.Fatalf("after move: a %v, b %v", la, lb)
	}
	if _, ok := e.objects(b)[b+"m.ics"]; !ok {
		t.Errorf("moved object not at %sm.ics", b)
	}
	if _, err := job.(engine.Mover).Move(e.ctx, id, fa.ref, fa.id); !isStatus(err, activesync.MoveStatusSameFolder) {
		t.Errorf("moving within one folder = %v", err)
	}
	if _, err := job.(engine.Mover).Move(e.ctx, newID, fb.ref, fb.id); !isStatus(err, activesync.MoveStatusBadSource) {
		t.Errorf("moving an ID the folder does not hold = %v", err)
	}
}

// TestWatcherOneRequestPerCollection: the calendar and the task list of
// one mixed calendar cost one request per quiet poll between them, and
// an edit is still seen by both.
func TestWatcherOneRequestPerCollection(t *testing.T) {
	e := newEnv(t, Options{})
	coll := e.calendar("calendar", "Personal", "VEVENT", "VTODO")
	e.put(coll, "a.ics", event("a", "A", "20261201T090000Z"))
	cal := folderFor(engine.Ref{Kind: engine.KindCalendar, Path: coll})
	tl := folderFor(engine.Ref{Kind: engine.KindTasks, Path: coll})
	var announced []string
	h := &watch{c: e.core, changed: func(id string) { announced = append(announced, id) }, seen: map[string]string{}}
	h.Update(e.p, map[string]engine.Ref{cal.id: cal.ref, tl.id: tl.ref})
	for range 2 { // list both, then climb to sync-collection
		if _, err := h.pollOnce(e.ctx); err != nil {
			t.Fatal(err)
		}
	}
	announced = nil
	e.wire.reset()
	if _, err := h.pollOnce(e.ctx); err != nil {
		t.Fatal(err)
	}
	if n := e.wire.requests.Load(); n != 1 || len(announced) != 0 {
		t.Errorf("quiet poll of a mixed calendar: %s, announced %v; want 1 request, nothing", e.wire, announced)
	}
	e.put(coll, "b.ics", event("b", "B", "20261202T090000Z"))
	if _, err := h.pollOnce(e.ctx); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(announced, []string{cal.id}) {
		t.Errorf("after a new event: announced %v, want the calendar folder only", announced)
	}
	e.wire.reset()
	if _, err := h.pollOnce(e.ctx); err != nil {
		t.Fatal(err)
	}
	if n := e.wire.requests.Load(); n != 1 {
		t.Errorf("quiet again: %s, want 1 request", e.wire)
	}
}

// TestPollIntervalFollowsActivity: the watcher polls at PollActive while
// the user made a request within ActiveFor, on this instance (touch) or on
// any (a device's LastActive, which a Ping does not move), and at PollIdle
// once that is longer ago.
func TestPollIntervalFollowsActivity(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	e := newEnv(t, Options{PollActive: 10 * time.Second, PollIdle: time.Minute, ActiveFor: 5 * time.Minute, Now: clock})
	h := &watch{c: e.core, seen: map[string]string{}}
	h.Update(e.p, nil)
	interval := func() time.Duration {
		t.Helper()
		d, err := h.pollOnce(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if d := interval(); d != time.Minute {
		t.Errorf("no request yet: %v, want the idle interval", d)
	}
	e.core.touch(e.p.User.Address)
	if d := interval(); d != 10*time.Second {
		t.Errorf("just after a request: %v, want the active interval", d)
	}
	advance(6 * time.Minute)
	if d := interval(); d != time.Minute {
		t.Errorf("six minutes later: %v, want the idle interval", d)
	}
	// A request served by another instance shows in the device record.
	if _, err := e.store.UpdateDevice(e.ctx, e.p.User.Address, "tablet", func(d *state.Device) error { d.LastActive = clock().Add(-time.Minute); return nil }); err != nil {
		t.Fatal(err)
	}
	if d := interval(); d != 10*time.Second {
		t.Errorf("after another instance's request: %v, want the active interval", d)
	}
}
