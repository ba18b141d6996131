package bridge_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/activesync/items"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

const ghostEvent = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//laptop//EN\r\nBEGIN:VEVENT\r\n" +
	"UID:ghost-1@laptop\r\nDTSTAMP:20260601T080000Z\r\nDTSTART:20260701T090000Z\r\nDTEND:20260701T100000Z\r\n" +
	"SUMMARY:Review\r\nLOCATION:Room 4\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

// At 14.1 an element a Change leaves out is cleared when the device's
// Supported list (sent with key 0) names it, and kept — ghosted — when it
// does not (MS-ASCMD 2.2.3.179): a phone that never shows locations must
// not wipe the laptop's LOCATION when it renames the event. A device that
// sent no Supported list ghosts nothing.
func TestCalendarGhostingBySupported(t *testing.T) {
	for _, tc := range []struct {
		name         string
		supported    []string // nil: no Supported element
		keepLocation bool
	}{
		{"location not supported", []string{"Subject", "StartTime", "EndTime", "TimeZone", "AllDayEvent"}, true},
		{"location supported", []string{"Subject", "StartTime", "EndTime", "Location"}, false},
		{"no Supported", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := startCalendar(t, time.Hour, false)
			href := c.put(t, "ghost.ics", []byte(ghostEvent))
			ctx := context.Background()
			dev := c.Device(t, "ghost"+strings.ReplaceAll(tc.name, " ", ""), "14.1")
			fs, err := dev.FolderSync(ctx, "0")
			if err != nil || fs.Status != "1" {
				t.Fatalf("FolderSync: %v %+v", err, fs)
			}
			calF, ok := client.FolderByType(fs.Add, 8)
			if !ok {
				t.Fatal("no calendar folder")
			}
			opts := client.SyncOptions{WindowSize: 10}
			if tc.supported != nil {
				sup := wbxml.New(wbxml.AirSync, "Supported")
				for _, n := range tc.supported {
					sup.Add(wbxml.Calendar, n)
				}
				opts.Supported = sup
			}
			got, key, err := dev.SyncAll(ctx, calF.ServerID, opts)
			if err != nil || len(got) != 1 {
				t.Fatalf("sync: %d items, %v", len(got), err)
			}
			var id string
			for k := range got {
				id = k
			}
			change := &items.Calendar{Event: items.Event{
				Subject:   items.Ptr("Review, moved"),
				StartTime: items.Ptr(time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC)),
				EndTime:   items.Ptr(time.Date(2026, 7, 1, 10, 0, 0, 0, time.UTC)),
			}}
			r, err := dev.Sync(ctx, calF.ServerID, key, client.SyncOptions{WindowSize: 10,
				Commands: calCommands("Change", id, change.Encode(items.V141))})
			if err != nil || r.Status != "1" {
				t.Fatalf("change: %v %+v", err, r)
			}
			obj, ok := c.get(t, href)
			if !ok {
				t.Fatal("the event is gone from the server")
			}
			ics := string(obj.Data)
			if !strings.Contains(ics, "SUMMARY:Review\\, moved") {
				t.Errorf("the subject did not change:\n%s", ics)
			}
			if kept := strings.Contains(ics, "LOCATION:Room 4"); kept != tc.keepLocation {
				t.Errorf("LOCATION kept = %v, want %v:\n%s", kept, tc.keepLocation, ics)
			}
		})
	}
}
