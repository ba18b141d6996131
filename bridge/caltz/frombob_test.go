package caltz

import (
	"testing"
	"time"
)

// TestFromBlobP2 is research note P2: a blob is matched by its rules for the
// event's year, the name only breaking ties.
func TestFromBlobP2(t *testing.T) {
	z := newZones(nil)
	blobOfZone := func(name string, year int) Blob {
		b, err := DecodeBlob(z.Blob(mustLoad(t, name), year))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	unnamed := func(b Blob) Blob { b.StandardName, b.DaylightName = "", ""; return b }
	motorola := blobOfZone("Europe/Berlin", 2026)
	motorola.DaylightBias = 60 // Milestone: +60 where -60 is meant
	absolute := unnamed(blobOfZone("Europe/Berlin", 2026))
	absolute.StandardDate = SystemTime{Year: 2026, Month: 10, DayOfWeek: 0, Day: 25, Hour: 3}
	absolute.DaylightDate = SystemTime{Year: 2026, Month: 3, DayOfWeek: 0, Day: 29, Hour: 2}
	// The US rules before 2007: first Sunday of April to last Sunday of October.
	us2006 := Blob{Bias: 300, DaylightBias: -60,
		StandardDate: SystemTime{Month: 10, Day: 5, Hour: 2},
		DaylightDate: SystemTime{Month: 4, Day: 1, Hour: 2}}
	sogoNY, err := DecodeBlobBase64("LAEAAEUAYQBzAHQAZQByAG4AIABTAHQAYQBuAGQAYQByAGQAIABUAGkAbQBlAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAsAAAABAAIAAAAAAAAAAAAAAEUAYQBzAHQAZQByAG4AIABEAGEAeQBsAGkAZwBoAHQAIABUAGkAbQBlAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAMAAAACAAIAAAAAAAAAxP///w==")
	if err != nil {
		t.Fatal(err)
	}
	romance := unnamed(blobOfZone("Europe/Berlin", 2026))
	romance.StandardName = "Romance Standard Time"

	for _, tc := range []struct {
		name   string
		blob   Blob
		year   int
		user   string
		want   string // "" = no match
		wantOK bool
	}{
		{"Berlin", blobOfZone("Europe/Berlin", 2026), 2026, "", "Europe/Berlin", true},
		{"Berlin unnamed, 001 default", unnamed(blobOfZone("Europe/Berlin", 2026)), 2026, "", "Europe/Berlin", true},
		{"Berlin rules named Romance", romance, 2026, "", "Europe/Paris", true},
		{"Berlin rules, user in Vienna", unnamed(blobOfZone("Europe/Berlin", 2026)), 2026, "Europe/Vienna", "Europe/Vienna", true},
		{"name beats user zone", romance, 2026, "Europe/Vienna", "Europe/Paris", true},
		{"user zone not matching is ignored", unnamed(blobOfZone("Europe/Berlin", 2026)), 2026, "Asia/Tokyo", "Europe/Berlin", true},
		{"New York", blobOfZone("America/New_York", 2026), 2026, "", "America/New_York", true},
		{"SOGo New York blob", sogoNY, 2026, "", "America/New_York", true},
		{"Sydney (southern)", blobOfZone("Australia/Sydney", 2026), 2026, "", "Australia/Sydney", true},
		{"Sydney unnamed", unnamed(blobOfZone("Australia/Sydney", 2026)), 2026, "", "Australia/Sydney", true},
		{"Kolkata (no DST)", blobOfZone("Asia/Kolkata", 2026), 2026, "", "Asia/Kolkata", true},
		{"Kolkata unnamed", unnamed(blobOfZone("Asia/Kolkata", 2026)), 2026, "", "Asia/Kolkata", true},
		{"DaylightBias +60 (Motorola)", motorola, 2026, "", "Europe/Berlin", true},
		{"absolute dates (wYear != 0)", absolute, 2026, "", "Europe/Berlin", true},
		{"US rules of 2006 in 2006", us2006, 2006, "", "America/New_York", true},
		{"US rules of 2006 in 2026", us2006, 2026, "", "", false},
		{"Berlin rules in 1975, when no +01 zone had them", blobOfZone("Europe/Berlin", 2026), 1975, "", "", false},
		{"odd offset", Blob{Bias: -65}, 2026, "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var user *time.Location
			if tc.user != "" {
				user = mustLoad(t, tc.user)
			}
			loc, ok, err := newZones(user).FromBlob(tc.blob.Encode(), tc.year)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tc.wantOK {
				t.Fatalf("ok = %v (%s), want %v", ok, loc, tc.wantOK)
			}
			if tc.want != "" && loc.String() != tc.want {
				t.Errorf("zone %s, want %s", loc, tc.want)
			}
			// Whatever was chosen follows the blob's rules in that year.
			want, err := locationFromBlob(tc.blob, "want")
			if err != nil {
				t.Fatal(err)
			}
			if tc.name == "DaylightBias +60 (Motorola)" {
				fixed := tc.blob
				fixed.DaylightBias = -60
				want, _ = locationFromBlob(fixed, "want")
			}
			if at := sameOffsets(loc, want, tc.year); !at.IsZero() {
				t.Errorf("%s and the blob disagree at %s", loc, at)
			}
		})
	}
}

// TestFromBlobNoMatchKeepsRules: a blob no zone has still yields its own
// offsets and transitions, never UTC.
func TestFromBlobNoMatchKeepsRules(t *testing.T) {
	b := Blob{Bias: -90, DaylightBias: -30, // +01:30, +02:00 in summer
		StandardDate: SystemTime{Month: 9, Day: 5, DayOfWeek: 6, Hour: 4},
		DaylightDate: SystemTime{Month: 4, Day: 2, DayOfWeek: 6, Hour: 1}}
	loc, ok, err := newZones(nil).FromBlob(b.Encode(), 2026)
	if err != nil || ok {
		t.Fatalf("ok=%v err=%v, want a built zone", ok, err)
	}
	for _, tc := range []struct {
		at   string
		want int
	}{
		{"2026-04-10T23:29:00Z", 90 * 60},  // Sat 11 April 00:59 local, before
		{"2026-04-10T23:30:00Z", 120 * 60}, // 01:00 local → 01:30
		{"2026-09-26T01:59:00Z", 120 * 60}, // last Saturday of September 03:59
		{"2026-09-26T02:00:00Z", 90 * 60},  // 04:00 → 03:30
		{"2031-07-01T00:00:00Z", 120 * 60}, // the rule recurs
		{"2026-01-15T12:00:00Z", 90 * 60},
	} {
		at, _ := time.Parse(time.RFC3339, tc.at)
		if _, off := at.In(loc).Zone(); off != tc.want {
			t.Errorf("%s: offset %d, want %d", tc.at, off, tc.want)
		}
	}
	if fixed, ok, _ := newZones(nil).FromBlob(Blob{Bias: -65}.Encode(), 2026); ok || fixed.String() != "UTC+01:05" {
		t.Errorf("no-DST blob: %s ok=%v, want fixed UTC+01:05", fixed, ok)
	} else if _, off := time.Now().In(fixed).Zone(); off != 65*60 {
		t.Errorf("fixed offset %d", off)
	}
}

// TestWeeklySeriesAcrossDST: a weekly 09:00 Berlin series read through the
// device's blob stays 09:00 local across 2026-03-29 (UTC 08:00 → 07:00).
func TestWeeklySeriesAcrossDST(t *testing.T) {
	z := newZones(nil)
	raw := z.Blob(mustLoad(t, "Europe/Berlin"), 2026)
	b, _ := DecodeBlob(raw)
	matched, ok, err := z.FromBlob(raw, 2026)
	if err != nil || !ok {
		t.Fatalf("FromBlob: %v %v", ok, err)
	}
	built, err := locationFromBlob(b, "built") // the no-match path
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"2026-03-22T08:00:00Z", "2026-03-29T07:00:00Z", "2026-04-05T07:00:00Z"}
	for _, loc := range []*time.Location{matched, built} {
		for i, w := range want {
			got := time.Date(2026, time.March, 22+7*i, 9, 0, 0, 0, loc).UTC().Format(time.RFC3339)
			if got != w {
				t.Errorf("%s occurrence %d: %s, want %s", loc, i, got, w)
			}
		}
	}
}

func BenchmarkFromBlob(b *testing.B) {
	z := newZones(nil)
	raw := z.Blob(mustLoad(b, "Europe/Berlin"), 2026)
	unnamed, _ := DecodeBlob(raw)
	unnamed.StandardName, unnamed.DaylightName = "", ""
	for _, bc := range []struct {
		name  string
		raw   []byte
		years int // >1: a different year each call, beyond the cache
	}{
		{"Berlin-cached-year", raw, 1},
		{"unnamed-cached-year", unnamed.Encode(), 1},
		{"Berlin-uncached-year", raw, 200},
		{"nomatch-cached-year", Blob{Bias: -65}.Encode(), 1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			if _, _, err := z.FromBlob(bc.raw, 2026); err != nil { // load outside the timer
				b.Fatal(err)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, _, err := z.FromBlob(bc.raw, 2026+i%bc.years); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// TestFromBlobAbsoluteNoMatch: a wYear != 0 blob nobody matches becomes a
// zone switching on those dates.
func TestFromBlobAbsoluteNoMatch(t *testing.T) {
	b := Blob{Bias: -90, DaylightBias: -60,
		StandardDate: SystemTime{Year: 2026, Month: 9, Day: 20, Hour: 3},
		DaylightDate: SystemTime{Year: 2026, Month: 3, Day: 15, Hour: 2}}
	loc, ok, err := newZones(nil).FromBlob(b.Encode(), 2026)
	if err != nil || ok {
		t.Fatalf("ok=%v err=%v", ok, err)
	}
	for at, want := range map[string]int{
		"2026-03-15T00:29:00Z": 90 * 60, "2026-03-15T00:30:00Z": 150 * 60, // 02:00 local
		"2026-09-20T00:29:00Z": 150 * 60, "2026-09-20T00:30:00Z": 90 * 60, // 03:00 local
	} {
		tt, _ := time.Parse(time.RFC3339, at)
		if _, off := tt.In(loc).Zone(); off != want {
			t.Errorf("%s: offset %d, want %d", at, off, want)
		}
	}
}

// TestAllDayP3Support is caltz's share of research note P3 (all-day events
// on 12.x–14.1 travel as local midnight in the item's TimeZone): the Berlin
// blob's zone puts 2026-05-14 at 20260513T220000Z, and a New York device's
// blob read back turns its midnight into the same date.
func TestAllDayP3Support(t *testing.T) {
	z := newZones(nil)
	for _, tc := range []struct {
		zone, utc string
	}{
		{"Europe/Berlin", "2026-05-13T22:00:00Z"},
		{"America/New_York", "2026-05-14T04:00:00Z"},
		{"Australia/Sydney", "2026-05-13T14:00:00Z"},
	} {
		loc, ok, err := z.FromBlob(z.Blob(mustLoad(t, tc.zone), 2026), 2026)
		if err != nil || !ok {
			t.Fatalf("%s: %v %v", tc.zone, ok, err)
		}
		if got := time.Date(2026, 5, 14, 0, 0, 0, 0, loc).UTC().Format(time.RFC3339); got != tc.utc {
			t.Errorf("%s: midnight is %s, want %s", tc.zone, got, tc.utc)
		}
		at, _ := time.Parse(time.RFC3339, tc.utc)
		if d := at.In(loc); d.Format("2006-01-02 15:04") != "2026-05-14 00:00" {
			t.Errorf("%s: %s reads as %s", tc.zone, tc.utc, d)
		}
	}
}

// BenchmarkLoad is the one-time cost of the candidate zones (first
// FromBlob or Resolve of a Windows name): time and the heap it keeps.
func BenchmarkLoad(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		z := newZones(nil)
		z.load()
		_ = z.rulesFor(2026)
	}
}
