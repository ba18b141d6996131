package calconv

import (
	"context"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/items"
	"github.com/idlebridge/idlebridge/internal/testenv"
	"github.com/idlebridge/idlebridge/upstream/dav"
)

// TestMergeFidelityRadicale is research note P5 ⓡ against the test
// Radicale: the golden object is stored by "another client", read back as
// the server serves it, a 14.1 and then a 16.1 device edit the subject,
// and what the server serves afterwards differs from before only in
// SUMMARY, DTSTAMP and LAST-MODIFIED. A device Add is accepted as a valid
// VEVENT with its zone, and reads back with the same times.
func TestMergeFidelityRadicale(t *testing.T) {
	base := testenv.DAVURL(t)
	user := testenv.UniqueUser(t)
	c, err := dav.New(dav.Config{URL: base, Username: user, Password: "secret", Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	coll := "/" + user + "/cal/"
	if err := c.MakeCalendar(ctx, coll, "Calendar", []string{"VEVENT"}, ""); err != nil {
		t.Fatal(err)
	}
	get := func(href string) dav.Object {
		t.Helper()
		objs, failed, err := c.MultiGet(ctx, coll, dav.KindCalendar, []string{href})
		if err != nil || len(failed) > 0 || len(objs) != 1 {
			t.Fatalf("multiget %s: %v %v %d", href, err, failed, len(objs))
		}
		return objs[0]
	}
	href := coll + "p5.ics"
	if _, err := c.Create(ctx, href, "text/calendar", readCase(t, "p5-fidelity")); err != nil {
		t.Fatal(err)
	}
	for _, v := range []items.Version{items.V141, items.V161} {
		before := get(href)
		dev := &items.Calendar{Event: items.Event{Subject: items.Ptr("Edited at " + versionName(v))}}
		if v < items.V160 {
			dev = deviceView(t, before.Data, v)
			dev.Subject = items.Ptr("Edited at " + versionName(v))
		}
		p, err := Merge(before.Data, dev, Ghosting{}, berlinUser(t, v), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Update(ctx, href, before.ETag, "text/calendar", p.Data); err != nil {
			t.Fatalf("%s: PUT: %v", versionName(v), err)
		}
		after := get(href)
		// DTSTAMP and LAST-MODIFIED may equal the last edit's (same second).
		if got := changedLines(t, before.Data, after.Data); !subset(got, "SUMMARY", "DTSTAMP", "LAST-MODIFIED") || !contains(got, "SUMMARY") {
			t.Errorf("%s: the server's object changed in %v\nbefore:\n%s\nafter:\n%s", versionName(v), got, before.Data, after.Data)
		}
	}

	// A device Add: Radicale validates it (a broken VEVENT is a 4xx).
	berlin := mustLoad(t, "Europe/Berlin")
	add := &items.Calendar{
		Event: items.Event{StartTime: items.Ptr(utc("20261025T080000Z")), EndTime: items.Ptr(utc("20261025T090000Z")),
			Subject: items.Ptr("Across the DST change"), AllDayEvent: items.Ptr(false), Reminder: items.Ptr(5)},
		TimeZone:   testZones().Blob(berlin, 2026),
		UID:        items.Ptr("device-add-1"),
		Recurrence: &items.Recurrence{Type: items.RecurWeekly, DayOfWeek: items.Ptr(1), Interval: items.Ptr(1), Occurrences: items.Ptr(3)},
	}
	p, err := Merge(nil, add, Ghosting{}, berlinUser(t, items.V141), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(ctx, coll+p.UID+".ics", "text/calendar", p.Data); err != nil {
		t.Fatalf("PUT new: %v\n%s", err, p.Data)
	}
	res, err := FromICal(get(coll+p.UID+".ics").Data, berlinUser(t, items.V141))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Item.StartTime.Equal(*add.StartTime) || *res.Item.UID != "device-add-1" || res.Item.Recurrence == nil || string(res.Item.TimeZone) != string(add.TimeZone) {
		t.Errorf("read back %+v", res.Item)
	}
}

func subset(got []string, allowed ...string) bool {
	for _, g := range got {
		if !contains(allowed, g) {
			return false
		}
	}
	return true
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
