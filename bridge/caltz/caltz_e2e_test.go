package caltz

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"
	"github.com/idlebridge/idlebridge/internal/testenv"
	"github.com/idlebridge/idlebridge/upstream/dav"
)

// TestVTimezoneOnRadicale writes events whose TZID only our VTIMEZONE
// explains to the test Radicale and asks the server, by a calendar-query
// time range (RFC 4791 9.9), where it thinks they are: the server must
// read our VTIMEZONE as we meant it (an hour's error would miss the range).
// Read back, Resolve gives the same instant.
func TestVTimezoneOnRadicale(t *testing.T) {
	base := testenv.DAVURL(t)
	user := testenv.UniqueUser(t)
	c, err := dav.New(dav.Config{URL: base, Username: user, Password: "secret", Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	coll := "/" + user + "/tz/"
	if err := c.MakeCalendar(ctx, coll, "tz", []string{"VEVENT"}, ""); err != nil {
		t.Fatal(err)
	}
	z := newZones(nil)
	odd, err := locationFromBlob(Blob{Bias: -90, DaylightBias: -60,
		StandardDate: SystemTime{Month: 10, Day: 1, Hour: 3},
		DaylightDate: SystemTime{Month: 4, Day: 2, Hour: 2}}, "UTC+01:30 custom")
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct {
		loc  *time.Location
		want string // DTSTART 2026-07-01 09:00 local, in UTC
	}{
		{mustLoad(t, "Europe/Berlin"), "2026-07-01T07:00:00Z"},
		{mustLoad(t, "Australia/Sydney"), "2026-06-30T23:00:00Z"},
		{odd, "2026-07-01T06:30:00Z"}, // +02:30 in July
	} {
		t.Run(tc.loc.String(), func(t *testing.T) {
			start := time.Date(2026, 7, 1, 9, 0, 0, 0, tc.loc)
			cal := ical.NewCalendar()
			cal.Props.SetText(ical.PropVersion, "2.0")
			cal.Props.SetText(ical.PropProductID, "-//idlebridge//caltz e2e//EN")
			ev := ical.NewEvent()
			ev.Props.SetText(ical.PropUID, "tz-"+string(rune('a'+i))+"@idlebridge.test")
			ev.Props.SetDateTime(ical.PropDateTimeStamp, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			ev.Props.SetDateTime(ical.PropDateTimeStart, start)
			ev.Props.SetDateTime(ical.PropDateTimeEnd, start.Add(30*time.Minute))
			ev.Props.SetText(ical.PropSummary, "tz")
			cal.Children = append(cal.Children, z.VTimezone(tc.loc, start, start), ev.Component)
			var buf bytes.Buffer
			if err := ical.NewEncoder(&buf).Encode(cal); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(buf.String(), "DTSTART;TZID=") || !strings.Contains(buf.String(), tc.loc.String()) {
				t.Fatalf("unexpected DTSTART in\n%s", buf.String())
			}
			href := coll + "ev" + string(rune('a'+i)) + ".ics"
			if _, err := c.Create(ctx, href, "text/calendar; charset=utf-8", buf.Bytes()); err != nil {
				t.Fatalf("PUT: %v\n%s", err, buf.String())
			}
			want, _ := time.Parse(time.RFC3339, tc.want)
			for _, q := range []struct {
				from, to time.Time
				in       bool
			}{
				{want.Add(-5 * time.Minute), want.Add(5 * time.Minute), true},
				{want.Add(-2 * time.Hour), want.Add(-5 * time.Minute), false},
				{want.Add(35 * time.Minute), want.Add(2 * time.Hour), false},
			} {
				got, err := c.ListRange(ctx, coll, "VEVENT", q.from, q.to)
				if err != nil {
					t.Fatal(err)
				}
				if _, in := got[href]; in != q.in {
					t.Errorf("server's time range [%s, %s): listed=%v, want %v", q.from, q.to, in, q.in)
				}
			}
			objs, failed, err := c.MultiGet(ctx, coll, dav.KindCalendar, []string{href})
			if err != nil || len(failed) > 0 || len(objs) != 1 {
				t.Fatalf("GET: %v %v %d", err, failed, len(objs))
			}
			at, _ := startOf(t, z, string(objs[0].Data))
			if !at.Equal(want) {
				t.Errorf("read back %s, want %s", at.UTC(), want)
			}
		})
	}
}
