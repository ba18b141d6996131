package items

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

func sampleTask() *Task {
	due := time.Date(2026, 12, 24, 0, 0, 0, 0, time.UTC)
	return &Task{
		Subject: Ptr("Buy presents"), Body: &Body{Type: BodyPlain, Data: "list"},
		Complete: Ptr(false), StartDate: Ptr(due.AddDate(0, 0, -1)), UtcStartDate: Ptr(due.AddDate(0, 0, -1).Add(-time.Hour)),
		DueDate: Ptr(due), UtcDueDate: Ptr(due.Add(-time.Hour)), Importance: Ptr(2), Sensitivity: Ptr(0),
		ReminderSet: Ptr(true), ReminderTime: Ptr(due.Add(-10 * time.Hour)), Categories: []string{"Home"},
		Recurrence: &Recurrence{Type: RecurYearly, DayOfMonth: Ptr(24), MonthOfYear: Ptr(12), Start: Ptr(due), Regenerate: Ptr(false), DeadOccur: Ptr(false)},
	}
}

func TestTaskRoundTrip(t *testing.T) {
	for _, v := range []Version{V121, V141, V161} {
		app := sampleTask().Encode(v)
		xml := app.XML()
		// MS-ASTASK dates are MS-ASDTYPE 2.3 with dashes, never compact.
		if !strings.Contains(xml, ">2026-12-23T23:00:00.000Z</UtcDueDate>") || !strings.Contains(xml, ">2026-12-24T00:00:00.000Z</Start>") {
			t.Fatalf("%d: dates:\n%s", v, xml)
		}
		b, err := wbxml.Encode(app)
		if err != nil {
			t.Fatal(err)
		}
		el, err := wbxml.Decode(b, wbxml.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeTask(el, v)
		if err != nil {
			t.Fatal(err)
		}
		want := sampleTask()
		want.Body.EstimatedDataSize = 0
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%d:\n got %+v\nwant %+v", v, got, want)
		}
	}
}

func TestDecodeTaskEmptyAndGarbage(t *testing.T) {
	doc := `<ApplicationData xmlns="AirSync:" xmlns:t="Tasks:"><t:Recurrence/><t:Categories/><t:Subject/><t:DueDate>20261224T000000Z</t:DueDate></ApplicationData>`
	el, err := wbxml.ParseXML(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	task, err := DecodeTask(el, V141)
	if err != nil {
		t.Fatal(err)
	}
	if task.Recurrence != nil || task.Categories == nil || task.Subject == nil || task.DueDate == nil || task.Complete != nil {
		t.Errorf("got %+v", task)
	}
	for _, body := range []string{`<t:Complete>yes</t:Complete>`, `<t:DueDate>soon</t:DueDate>`, `<t:Recurrence><t:Type>1</t:Type><t:Start>x</t:Start></t:Recurrence>`} {
		el, _ := wbxml.ParseXML(strings.NewReader(`<ApplicationData xmlns="AirSync:" xmlns:t="Tasks:">` + body + `</ApplicationData>`))
		if _, err := DecodeTask(el, V141); err == nil {
			t.Errorf("accepted %s", body)
		}
	}
}
