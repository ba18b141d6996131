package davsync

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/bridge/engine"
)

// TestFilterWindows: a calendar Sync with FilterType 4 (two weeks back)
// gets the recent events and a series begun long ago that reaches into
// the window, not the old ones; a task list with FilterType 8 gets the
// incomplete tasks only.
func TestFilterWindows(t *testing.T) {
	now := time.Now().UTC()
	e := newEnv(t, Options{Now: func() time.Time { return now }})
	coll := e.calendar("calendar", "Personal", "VEVENT", "VTODO")
	stamp := func(d time.Duration) string { return now.Add(d).Format("20060102T150405Z") }
	e.put(coll, "old.ics", event("old", "Old", stamp(-60*24*time.Hour)))
	recent := e.put(coll, "recent.ics", event("recent", "Recent", stamp(-3*24*time.Hour)))
	e.put(coll, "future.ics", event("future", "Future", stamp(30*24*time.Hour)))
	e.put(coll, "series.ics", []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:series\r\nDTSTAMP:20250101T000000Z\r\n"+
		"DTSTART:"+stamp(-400*24*time.Hour)+"\r\nDURATION:PT1H\r\nRRULE:FREQ=WEEKLY\r\nSUMMARY:Weekly\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
	// A zoned series begun long ago (the research note's P8 object, from
	// March 2026, weekly until 2026-06-28) only counts while it reaches
	// into the window.
	e.put(coll, "p8.ics", testdata(t, "p8-series.ics"))
	todo := func(uid, extra string) []byte {
		return []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VTODO\r\nUID:" + uid +
			"\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:" + uid + "\r\n" + extra + "END:VTODO\r\nEND:VCALENDAR\r\n")
	}
	open := e.put(coll, "t-open.ics", todo("open", ""))
	e.put(coll, "t-done.ics", todo("done", "STATUS:COMPLETED\r\nCOMPLETED:20260102T000000Z\r\n"))
	e.put(coll, "t-done2.ics", todo("done2", "STATUS:COMPLETED\r\n"))
	fs := e.folders()
	cal, tl := folderFor(fs["calendar Personal"].Ref), folderFor(fs["tasks Personal"].Ref)

	s := e.syncer(cal, 161, 4)
	evs := s.events(s.all(100))
	var got []string
	for k := range evs {
		got = append(got, k)
	}
	slices.Sort(got)
	if want := []string{"Future", "Recent", "Weekly"}; !slices.Equal(got, want) {
		t.Errorf("FilterType 4: %v, want %v", got, want)
	}
	e.device = "other"
	all := e.syncer(cal, 161, 0)
	if n := len(all.all(100)); n != 5 {
		t.Errorf("FilterType 0 on another device: %d events, want 5", n)
	}
	e.device = "dev1"
	ts := e.syncer(tl, 161, 8)
	tcmds := ts.all(100)
	if len(tcmds) != 1 {
		t.Fatalf("FilterType 8: %v, want the open task only", kinds(tcmds))
	}

	// The laptop moves the recent event two months back: it leaves the
	// two-week window, a SoftDelete (it is still on the server).
	obj := e.get(recent)
	if _, err := e.other.Update(e.ctx, recent, obj.ETag, "text/calendar", event("recent", "Recent", stamp(-60*24*time.Hour))); err != nil {
		t.Fatal(err)
	}
	if got := kinds(s.all(100)); !slices.Equal(got, []string{"SoftDelete"}) {
		t.Errorf("event moved out of the window: %v, want one SoftDelete", got)
	}
	// The open task is completed elsewhere: FilterType 8 soft-deletes it.
	obj = e.get(open)
	if _, err := e.other.Update(e.ctx, open, obj.ETag, "text/calendar", todo("open", "STATUS:COMPLETED\r\nCOMPLETED:20261201T000000Z\r\n")); err != nil {
		t.Fatal(err)
	}
	if got := kinds(ts.all(100)); !slices.Equal(got, []string{"SoftDelete"}) {
		t.Errorf("task completed: %v, want one SoftDelete", got)
	}
	// Days pass: the window moves on without any edit, and an event it
	// leaves behind is soft-deleted.
	e.put(coll, "ten.ics", event("ten", "Ten days ago", stamp(-10*24*time.Hour)))
	if got := kinds(s.all(100)); !slices.Equal(got, []string{"Add"}) {
		t.Fatalf("event ten days back: %v, want an Add", got)
	}
	now = now.Add(5 * 24 * time.Hour)
	if got := kinds(s.all(100)); !slices.Equal(got, []string{"SoftDelete"}) {
		t.Errorf("five days later: %v, want the now fifteen-day-old event soft-deleted", got)
	}
}

// brokenEvents fails to convert the objects whose href is in bad.
type brokenEvents struct {
	Items
	bad map[string]bool
}

func (b brokenEvents) Encode(data []byte, call *engine.Call) (*wbxml.Element, error) {
	if b.bad[uidLine(data)] {
		return nil, errors.New("test: cannot convert")
	}
	return b.Items.Encode(data, call)
}

// TestBrokenObjectGivesUp: an object that does not convert never stalls
// the folder; it is skipped, retried, and after GiveUpAfter tries left
// on the device's record unsent, so it stops coming back — until it is
// edited, when it is tried again.
func TestBrokenObjectGivesUp(t *testing.T) {
	e := newEnv(t, Options{GiveUpAfter: 2})
	ev := e.core.items[engine.KindCalendar]
	e.core.items[engine.KindCalendar] = brokenEvents{ev, map[string]bool{"bad": true}}
	coll := e.calendar("cal", "Cal", "VEVENT")
	e.put(coll, "a.ics", event("a", "A", "20261201T090000Z"))
	bad := e.put(coll, "bad.ics", event("bad", "Bad", "20261202T090000Z"))
	e.put(coll, "c.ics", event("c", "C", "20261203T090000Z"))
	f := folderFor(engine.Ref{Kind: engine.KindCalendar, Path: coll})
	s := e.syncer(f, 141, 0)
	if got := s.all(100); len(got) != 2 {
		t.Fatalf("first pass: %v, want the two good events", kinds(got))
	}
	// The second try gives up: nothing is sent, the key moves (recorded).
	res := s.run(nil, 100)
	if len(res.Commands) != 0 {
		t.Fatalf("second pass sent %v", kinds(res.Commands))
	}
	key := s.key
	if res := s.run(nil, 100); len(res.Commands) != 0 || res.SyncKey != key {
		t.Fatalf("after giving up: %v, key %s → %s", kinds(res.Commands), key, res.SyncKey)
	}
	if ch, err := e.eng.HasChanges(e.ctx, e.class.Source, e.call(f, 141, 0)); err != nil || ch {
		t.Errorf("HasChanges after giving up = %v, %v", ch, err)
	}
	// Fixed upstream: it converts now and arrives as a Change.
	e.core.items[engine.KindCalendar] = ev
	obj := e.get(bad)
	if _, err := e.other.Update(e.ctx, bad, obj.ETag, "text/calendar", event("bad", "Fixed", "20261202T090000Z")); err != nil {
		t.Fatal(err)
	}
	got := s.all(100)
	if k := kinds(got); !slices.Equal(k, []string{"Change"}) || s.events(got)["Fixed"] == nil {
		t.Errorf("after the fix: %v", k)
	}
}
