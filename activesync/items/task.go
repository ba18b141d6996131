package items

import (
	"time"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// Task is one item of the Tasks class (MS-ASTASK 2.2.2). Dates come in
// pairs: StartDate/DueDate are the user's local wall time written as if it
// were UTC, UtcStartDate/UtcDueDate the real instant (MS-ASTASK 2.2.2.9,
// 2.2.2.30); all are MS-ASDTYPE 2.3 dateTime.
type Task struct {
	Subject       *string
	Body          *Body
	Complete      *bool
	DateCompleted *time.Time
	StartDate     *time.Time
	UtcStartDate  *time.Time
	DueDate       *time.Time
	UtcDueDate    *time.Time
	Importance    *int // 0 low, 1 normal, 2 high
	Sensitivity   *int
	ReminderSet   *bool
	ReminderTime  *time.Time
	Categories    []string // nil absent, empty = sent empty
	Recurrence    *Recurrence
}

// Encode returns the ApplicationData element for a response.
func (t *Task) Encode(v Version) *wbxml.Element {
	app := wbxml.New(wbxml.AirSync, "ApplicationData")
	t.Body.encode(app)
	if t.Subject != nil {
		taskSubject.text(app, *t.Subject)
	}
	if t.Importance != nil {
		taskImportance.text(app, itoa(*t.Importance))
	}
	for _, f := range []struct {
		tag taskTag
		v   *time.Time
	}{{taskUtcStartDate, t.UtcStartDate}, {taskStartDate, t.StartDate}, {taskUtcDueDate, t.UtcDueDate}, {taskDueDate, t.DueDate}} {
		if f.v != nil {
			f.tag.text(app, FormatDashes(*f.v))
		}
	}
	if len(t.Categories) > 0 {
		cats := taskCategories.add(app)
		for _, c := range t.Categories {
			taskCategory.text(cats, c)
		}
	}
	t.Recurrence.encode(app, taskRecTags, v)
	if t.Complete != nil {
		taskComplete.text(app, btoa(*t.Complete))
	}
	// MS-ASTASK 2.2.2.8: DateCompleted is required when Complete is 1.
	if t.DateCompleted != nil {
		taskDateCompleted.text(app, FormatDashes(*t.DateCompleted))
	}
	if t.Sensitivity != nil {
		taskSensitivity.text(app, itoa(*t.Sensitivity))
	}
	if t.ReminderTime != nil {
		taskReminderTime.text(app, FormatDashes(*t.ReminderTime))
	}
	if t.ReminderSet != nil {
		taskReminderSet.text(app, btoa(*t.ReminderSet))
	}
	return app
}

// DecodeTask reads the ApplicationData of a device's Add or Change.
func DecodeTask(app *wbxml.Element, _ Version) (*Task, error) {
	t := &Task{Subject: optString(taskSubject.child(app))}
	var err error
	if t.Body, err = decodeBody(app); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		tag taskTag
		dst **time.Time
	}{{taskDateCompleted, &t.DateCompleted}, {taskStartDate, &t.StartDate}, {taskUtcStartDate, &t.UtcStartDate},
		{taskDueDate, &t.DueDate}, {taskUtcDueDate, &t.UtcDueDate}, {taskReminderTime, &t.ReminderTime}} {
		if *f.dst, err = optTime(f.tag.child(app)); err != nil {
			return nil, err
		}
	}
	for _, f := range []struct {
		tag taskTag
		dst **bool
	}{{taskComplete, &t.Complete}, {taskReminderSet, &t.ReminderSet}} {
		if *f.dst, err = optBool(f.tag.child(app), string(f.tag)); err != nil {
			return nil, err
		}
	}
	for _, f := range []struct {
		tag taskTag
		dst **int
	}{{taskImportance, &t.Importance}, {taskSensitivity, &t.Sensitivity}} {
		if *f.dst, err = optInt(f.tag.child(app), string(f.tag)); err != nil {
			return nil, err
		}
	}
	if cats := taskCategories.child(app); cats != nil {
		t.Categories = []string{}
		for _, c := range taskCategory.all(cats) {
			t.Categories = append(t.Categories, text(c))
		}
	}
	if t.Recurrence, err = decodeRecurrence(app, taskRecTags); err != nil {
		return nil, err
	}
	return t, nil
}
