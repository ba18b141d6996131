package dav

import (
	"maps"
	"slices"
	"testing"
)

// TestListMatching: the VTODO side of a mixed calendar, completed tasks
// (by COMPLETED or by STATUS) and an object found by UID, all from
// ETag-only calendar-queries against the test Radicale.
func TestListMatching(t *testing.T) {
	c, _, home := radicale(t)
	ctx := ctxT(t)
	cal := newCalendar(t, c, home, "mixed")
	put := func(name, ics string) {
		t.Helper()
		if _, err := c.Create(ctx, cal+name, ContentCalendar, []byte(ics)); err != nil {
			t.Fatal(err)
		}
	}
	todo := func(uid, extra string) string {
		return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VTODO\r\nUID:" + uid +
			"\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:" + uid + "\r\n" + extra + "END:VTODO\r\nEND:VCALENDAR\r\n"
	}
	put("ev.ics", string(event("m-ev", "Event")))
	put("open.ics", todo("m-open", ""))
	put("inproc.ics", todo("m-inproc", "STATUS:IN-PROCESS\r\n"))
	put("done1.ics", todo("m-done1", "STATUS:COMPLETED\r\nCOMPLETED:20260102T000000Z\r\n"))
	put("done2.ics", todo("m-done2", "STATUS:COMPLETED\r\n"))
	put("done3.ics", todo("m-done3", "COMPLETED:20260102T000000Z\r\n"))

	keys := func(m map[string]string, err error) []string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return slices.Sorted(maps.Keys(m))
	}
	h := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, cal+n)
		}
		slices.Sort(out)
		return out
	}
	if got, want := keys(c.ListMatching(ctx, cal, "VTODO", "", "")), h("open.ics", "inproc.ics", "done1.ics", "done2.ics", "done3.ics"); !slices.Equal(got, want) {
		t.Errorf("VTODOs = %v, want %v", got, want)
	}
	if got, want := keys(c.ListMatching(ctx, cal, "VEVENT", "", "")), h("ev.ics"); !slices.Equal(got, want) {
		t.Errorf("VEVENTs = %v, want %v", got, want)
	}
	if got, want := keys(c.ListMatching(ctx, cal, "VTODO", "COMPLETED", "")), h("done1.ics", "done3.ics"); !slices.Equal(got, want) {
		t.Errorf("with COMPLETED = %v, want %v", got, want)
	}
	if got, want := keys(c.ListMatching(ctx, cal, "VTODO", "STATUS", "COMPLETED")), h("done1.ics", "done2.ics"); !slices.Equal(got, want) {
		t.Errorf("STATUS COMPLETED = %v, want %v", got, want)
	}
	if got, want := keys(c.ListMatching(ctx, cal, "VEVENT", "UID", "m-ev")), h("ev.ics"); !slices.Equal(got, want) {
		t.Errorf("UID m-ev = %v, want %v", got, want)
	}
	if got := keys(c.ListMatching(ctx, cal, "VEVENT", "UID", "nobody")); len(got) != 0 {
		t.Errorf("UID nobody = %v, want none", got)
	}
}
