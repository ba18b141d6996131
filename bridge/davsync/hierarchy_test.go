package davsync

import (
	"errors"
	"testing"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/engine"
)

// TestHierarchyTypes is research note P15 against the test Radicale: a
// mixed calendar gives a calendar folder and a task list, the default
// ones get types 8 and 7, the others 13 and 15; folders are created,
// renamed and deleted through CalDAV; a default or mixed folder is not
// deleted.
func TestHierarchyTypes(t *testing.T) {
	e := newEnv(t, Options{})
	e.calendar("calendar", "Personal", "VEVENT", "VTODO")
	e.calendar("work", "Work", "VEVENT")
	e.calendar("todo", "Errands", "VTODO")
	fs := e.folders()
	want := map[string]int{
		"calendar Personal": activesync.FolderCalendar,
		"calendar Work":     activesync.FolderUserCalendar,
		"tasks Personal":    activesync.FolderTasks,
		"tasks Errands":     activesync.FolderUserTasks,
	}
	if len(fs) != len(want) {
		t.Fatalf("folders = %v, want %v", fs, want)
	}
	for k, typ := range want {
		if f, ok := fs[k]; !ok || f.Type != typ {
			t.Errorf("%s: %+v, want type %d", k, f, typ)
		}
	}
	ed := e.class.Hierarchy.(engine.FolderEditor)
	ref, err := ed.CreateFolder(e.ctx, e.p, engine.Ref{}, "Trips", activesync.FolderUserCalendar)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ed.CreateFolder(e.ctx, e.p, engine.Ref{}, "Trips", activesync.FolderUserCalendar); !isStatus(err, activesync.FolderStatusExists) {
		t.Errorf("second create = %v, want status Exists", err)
	}
	if _, err := ed.RenameFolder(e.ctx, e.p, ref, "Journeys"); err != nil {
		t.Fatal(err)
	}
	fs = e.folders()
	if f, ok := fs["calendar Journeys"]; !ok || f.Type != activesync.FolderUserCalendar || f.Ref != ref {
		t.Fatalf("after create and rename: %v", fs)
	}
	if err := ed.DeleteFolder(e.ctx, e.p, fs["calendar Personal"].Ref); !isStatus(err, activesync.FolderStatusSpecial) {
		t.Errorf("delete default = %v, want status Special", err)
	}
	if err := ed.DeleteFolder(e.ctx, e.p, ref); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.folders()["calendar Journeys"]; ok {
		t.Error("deleted calendar still listed")
	}
	// A mixed calendar that is not the default: neither side deletes it.
	e.calendar("shared", "Shared", "VEVENT", "VTODO")
	if err := ed.DeleteFolder(e.ctx, e.p, e.folders()["tasks Shared"].Ref); !isStatus(err, activesync.FolderStatusSpecial) {
		t.Errorf("delete one side of a mixed calendar = %v, want status Special", err)
	}
}

func isStatus(err error, code int) bool {
	var ae *activesync.Error
	return errors.As(err, &ae) && int(ae.Status) == code
}
