package calconv

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/items"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

func readTask(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/tasks/" + name + ".ics")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func dashes(s string) time.Time {
	t, err := time.Parse("2006-01-02T15:04:05.000Z", s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestTaskFromICal is research note P13 for tasks and §2.9: the DATE due
// date of a Berlin user as the local/UTC pair, PRIORITY, the absolute
// first alarm, completion and recurrence.
func TestTaskFromICal(t *testing.T) {
	res, err := TaskFromICal(readTask(t, "p13-todo"), berlinUser(t, items.V141))
	if err != nil {
		t.Fatal(err)
	}
	k := res.Item
	if !k.DueDate.Equal(dashes("2026-12-24T00:00:00.000Z")) || !k.UtcDueDate.Equal(dashes("2026-12-23T23:00:00.000Z")) {
		t.Errorf("due %v %v", k.DueDate, k.UtcDueDate)
	}
	if !k.StartDate.Equal(dashes("2026-12-20T00:00:00.000Z")) || !k.UtcStartDate.Equal(dashes("2026-12-19T23:00:00.000Z")) {
		t.Errorf("start %v %v", k.StartDate, k.UtcStartDate)
	}
	if *k.Importance != 2 || *k.Complete || !*k.ReminderSet || !k.ReminderTime.Equal(utc("20261223T080000Z")) || *k.Subject != "Buy presents" || k.Body.Data != "Books, socks" {
		t.Errorf("fields %+v", k)
	}
	res, err = TaskFromICal(readTask(t, "done-recurring"), berlinUser(t, items.V141))
	if err != nil {
		t.Fatal(err)
	}
	k = res.Item
	if !*k.Complete || !k.DateCompleted.Equal(utc("20261201T093000Z")) || *k.Importance != 0 || *k.Sensitivity != 3 ||
		k.Recurrence == nil || k.Recurrence.Type != items.RecurWeekly || *k.Recurrence.DayOfWeek != 4 || !k.Recurrence.Start.Equal(dashes("2026-12-01T09:00:00.000Z")) ||
		!k.UtcDueDate.Equal(utc("20261201T090000Z")) || !k.DueDate.Equal(dashes("2026-12-01T10:00:00.000Z")) {
		t.Errorf("done-recurring %+v %+v", k, k.Recurrence)
	}
	if _, err := TaskFromICal(readCase(t, "p1-berlin"), berlinUser(t, items.V141)); err != ErrNoTask {
		t.Errorf("VEVENT as task: %v", err)
	}
}

// TestTaskGolden renders the task inputs as 14.1 ApplicationData.
func TestTaskGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/tasks/*.ics")
	for _, f := range files {
		base := strings.TrimSuffix(filepath.Base(f), ".ics")
		data, _ := os.ReadFile(f)
		res, err := TaskFromICal(data, berlinUser(t, items.V141))
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "tasks/"+base+".14.1.xml", res.Item.Encode(items.V141).XML())
	}
}

func taskView(t *testing.T, stored []byte) *items.Task {
	t.Helper()
	res, err := TaskFromICal(stored, berlinUser(t, items.V141))
	if err != nil {
		t.Fatal(err)
	}
	b, err := wbxml.Encode(res.Item.Encode(items.V141))
	if err != nil {
		t.Fatal(err)
	}
	el, err := wbxml.Decode(b, wbxml.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	k, err := items.DecodeTask(el, items.V141)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestMergeTask: completing a task or moving its due date touches only
// those properties; the second alarm and X- properties survive; the DATE
// form of DUE is kept (P13 back).
func TestMergeTask(t *testing.T) {
	stored := readTask(t, "p13-todo")
	p, err := MergeTask(stored, taskView(t, stored), Ghosting{}, berlinUser(t, items.V141), mergeNow)
	if err != nil || p.Changed {
		t.Fatalf("unchanged task: %v %v\n%s", err, p, p.Data)
	}
	dev := taskView(t, stored)
	dev.Complete, dev.DateCompleted = items.Ptr(true), items.Ptr(utc("20261222T100000Z"))
	p, err = MergeTask(stored, dev, Ghosting{}, berlinUser(t, items.V141), mergeNow)
	if err != nil {
		t.Fatal(err)
	}
	if got := changedLines(t, stored, p.Data); !equalSets(got, []string{"STATUS", "COMPLETED", "PERCENT-COMPLETE", "DTSTAMP", "LAST-MODIFIED"}) {
		t.Errorf("complete changed %v\n%s", got, p.Data)
	}
	dev = taskView(t, stored)
	dev.UtcDueDate = items.Ptr(dashes("2026-12-24T23:00:00.000Z"))
	dev.DueDate = items.Ptr(dashes("2026-12-25T00:00:00.000Z"))
	p, err = MergeTask(stored, dev, Ghosting{}, berlinUser(t, items.V141), mergeNow)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(p.Data, []byte("DUE;VALUE=DATE:20261225\r\n")) || !bytes.Contains(p.Data, []byte("TRIGGER;RELATED=END:-P1D")) || !bytes.Contains(p.Data, []byte("X-APPLE-SORT-ORDER:12")) {
		t.Errorf("due move:\n%s", p.Data)
	}
	if got := changedLines(t, stored, p.Data); !equalSets(got, []string{"DUE", "DTSTAMP", "LAST-MODIFIED"}) {
		t.Errorf("due move changed %v", got)
	}
	// A new task from the device.
	p, err = MergeTask(nil, &items.Task{Subject: items.Ptr("Call mum"), UtcDueDate: items.Ptr(utc("20261205T160000Z")), Importance: items.Ptr(0),
		ReminderSet: items.Ptr(true), ReminderTime: items.Ptr(utc("20261205T150000Z"))}, Ghosting{}, berlinUser(t, items.V141), mergeNow)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"BEGIN:VTODO", "PRODID:", "SUMMARY:Call mum", "DUE:20261205T160000Z", "PRIORITY:9", "TRIGGER;VALUE=DATE-TIME:20261205T150000Z"} {
		if !bytes.Contains(p.Data, []byte(want)) {
			t.Errorf("new task lacks %q:\n%s", want, p.Data)
		}
	}
}
