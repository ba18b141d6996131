package davsync

import (
	"bytes"
	"testing"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/activesync/items"
	"github.com/idlebridge/idlebridge/bridge/engine"
)

// TestOccurrenceEditsAt16 is research note P8 at 16.1 against the test
// Radicale: a Change with InstanceId renames one occurrence of the series
// (an override on the server, the series, its EXDATEs and its other
// override untouched), a Delete with InstanceId removes one occurrence
// (an EXDATE) and leaves the series on the server and on the device; an
// InstanceId the series has no occurrence at is refused with Status 8 and
// the device is sent the series again. Before, both commands were applied
// to the whole series: the Change moved and renamed it, the Delete
// deleted it.
func TestOccurrenceEditsAt16(t *testing.T) {
	e := newEnv(t, Options{})
	coll := e.calendar("cal", "Cal", "VEVENT")
	href := e.put(coll, "p8.ics", testdata(t, "p8-series.ics"))
	f := folderFor(engine.Ref{Kind: engine.KindCalendar, Path: coll})
	s := e.syncer(f, 161, 0)
	initial := s.all(100)
	if len(initial) != 1 {
		t.Fatalf("initial: %v", kinds(initial))
	}
	id := initial[0].ServerID

	change := &items.Calendar{Event: items.Event{Subject: items.Ptr("Hill run")}}
	res := s.run([]activesync.SyncCommand{{Kind: "Change", ServerID: id, InstanceID: "20260517T070000Z", Data: change.Encode(items.V161)}}, 100)
	if len(res.Responses) != 0 {
		t.Fatalf("Change of an occurrence: %+v", res.Responses)
	}
	if len(res.Commands) != 0 {
		t.Errorf("the device's own change came back: %v", kinds(res.Commands))
	}
	obj := e.get(href)
	text := bytes.ReplaceAll(obj.Data, []byte("\r\n"), []byte("\n"))
	for _, want := range []string{"RECURRENCE-ID;TZID=Europe/Berlin:20260517T090000", "SUMMARY:Hill run", "SUMMARY:Sunday run\n",
		"DTSTART;TZID=Europe/Berlin:20260322T090000", "EXDATE;TZID=Europe/Berlin:20260426T090000,20260531T090000", "SUMMARY:Sunday run (late)"} {
		if !bytes.Contains(text, []byte(want)) {
			t.Errorf("server object lacks %q:\n%s", want, obj.Data)
		}
	}

	res = s.run([]activesync.SyncCommand{{Kind: "Delete", ServerID: id, InstanceID: "20260524T070000Z"}}, 100)
	if len(res.Responses) != 0 || len(res.Commands) != 0 {
		t.Fatalf("Delete of an occurrence: responses %+v, commands %v", res.Responses, kinds(res.Commands))
	}
	obj = e.get(href)
	if !bytes.Contains(obj.Data, []byte("EXDATE;TZID=Europe/Berlin:20260524T090000")) || !bytes.Contains(obj.Data, []byte("SUMMARY:Hill run")) {
		t.Errorf("server object after the occurrence's Delete:\n%s", obj.Data)
	}
	if list := e.objects(coll); len(list) != 1 {
		t.Fatalf("the series is gone from the server: %v", list)
	}

	// Nothing at 18 May (a Monday): refused, and the series comes back.
	res = s.run([]activesync.SyncCommand{{Kind: "Change", ServerID: id, InstanceID: "20260518T070000Z", Data: change.Encode(items.V161)}}, 100)
	if len(res.Responses) != 1 || res.Responses[0].Status != activesync.SyncStatusNotFound || res.Responses[0].InstanceID != "20260518T070000Z" {
		t.Fatalf("Change of no occurrence: %+v", res.Responses)
	}
	if got := e.get(href); !bytes.Equal(got.Data, obj.Data) {
		t.Errorf("a refused Change wrote:\n%s", got.Data)
	}
	got := res.Commands
	if len(got) == 0 {
		got = s.all(100)
	}
	ev := s.events(got)["Sunday run"]
	if len(got) != 1 || got[0].Kind != "Change" || got[0].ServerID != id || ev == nil {
		t.Fatalf("after the refusal the device got %v", kinds(got))
	}
	var renamed, deleted bool
	for _, x := range ev.Exceptions {
		switch items.FormatCompact(x.Start) {
		case "20260517T070000Z":
			renamed = !x.Deleted && x.Subject != nil && *x.Subject == "Hill run"
		case "20260524T070000Z":
			deleted = x.Deleted
		}
	}
	if !renamed || !deleted {
		t.Errorf("series as the device now holds it: exceptions %+v", ev.Exceptions)
	}
}
