package directory

import (
	"testing"
	"time"
)

// A VFREEBUSY as RFC 4791 7.10.1 answers it, merged into 30-minute digits:
// busy, tentative and unavailable periods by start/end and start/duration,
// the higher level winning a shared slot, a period reaching past the window
// cut, FREE adding nothing.
func TestMergedFreeBusy(t *testing.T) {
	const vfb = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Example Corp.//CalDAV Server//EN\r\nBEGIN:VFREEBUSY\r\n" +
		"DTSTAMP:20260105T120000Z\r\nDTSTART:20260105T080000Z\r\nDTEND:20260105T120000Z\r\n" +
		"FREEBUSY:20260105T083000Z/20260105T093000Z\r\n" +
		"FREEBUSY;FBTYPE=BUSY-TENTATIVE:20260105T100000Z/PT30M,20260105T091500Z/PT10M\r\n" +
		"FREEBUSY;FBTYPE=BUSY-UNAVAILABLE:20260105T113000Z/20260105T140000Z\r\n" +
		"FREEBUSY;FBTYPE=FREE:20260105T080000Z/PT4H\r\n" +
		"END:VFREEBUSY\r\nEND:VCALENDAR\r\n"
	p, err := parseFreeBusy([]byte(vfb))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)
	got := mergedFreeBusy(p, start, start.Add(4*time.Hour))
	// 08:00 08:30 09:00 09:30 10:00 10:30 11:00 11:30
	if want := "02201003"; got != want {
		t.Fatalf("MergedFreeBusy = %q, want %q", got, want)
	}
	if got := mergedFreeBusy(p, start, start.Add(45*time.Minute)); got != "02" {
		t.Errorf("partial last slot: %q", got)
	}
	if got := mergedFreeBusy(nil, start, start.Add(time.Hour)); got != "00" {
		t.Errorf("no periods: %q", got)
	}
}

func TestParseFreeBusyBad(t *testing.T) {
	for _, in := range []string{
		"not ical",
		"BEGIN:VCALENDAR\r\nBEGIN:VFREEBUSY\r\nFREEBUSY:20260105T083000Z\r\nEND:VFREEBUSY\r\nEND:VCALENDAR\r\n",
		"BEGIN:VCALENDAR\r\nBEGIN:VFREEBUSY\r\nFREEBUSY:20260105T083000Z/PXYZ\r\nEND:VFREEBUSY\r\nEND:VCALENDAR\r\n",
		"BEGIN:VCALENDAR\r\nBEGIN:VFREEBUSY\r\nFREEBUSY:20260105T093000Z/20260105T083000Z\r\nEND:VFREEBUSY\r\nEND:VCALENDAR\r\n",
	} {
		if _, err := parseFreeBusy([]byte(in)); err == nil {
			t.Errorf("accepted %q", in)
		}
	}
	for in, want := range map[string]time.Duration{"PT30M": 30 * time.Minute, "P1DT2H": 26 * time.Hour, "P1W": 7 * 24 * time.Hour, "+PT1H0M10S": time.Hour + 10*time.Second} {
		if d, err := parseDuration(in); err != nil || d != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", in, d, err, want)
		}
	}
}

// FuzzParseFreeBusy: a server's free/busy answer never panics the bridge
// and merges into exactly one digit per slot.
func FuzzParseFreeBusy(f *testing.F) {
	f.Add([]byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VFREEBUSY\r\nFREEBUSY;FBTYPE=BUSY-TENTATIVE:20260105T100000Z/PT30M,20260105T091500Z/20260105T100000Z\r\nEND:VFREEBUSY\r\nEND:VCALENDAR\r\n"))
	start := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parseFreeBusy(data)
		if err != nil {
			return
		}
		s := mergedFreeBusy(p, start, start.Add(10*time.Hour))
		if len(s) != 20 {
			t.Fatalf("%d digits for 10 hours", len(s))
		}
		for _, c := range s {
			if c < '0' || c > '3' {
				t.Fatalf("digit %q", c)
			}
		}
	})
}

// FuzzParseRecord: any card a server holds reads into a record or an
// error, never a panic, and a record matches its own display name.
func FuzzParseRecord(f *testing.F) {
	f.Add([]byte(card("u", "Jane Roe", "Roe;Jane;;;", "jane@example.org", "KEY;ENCODING=b;TYPE=X509:MIIB", "NICKNAME:jr", "ORG:Acme;Sales")))
	f.Add([]byte("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:A\r\nKEY:data:application/pkix-cert;base64,AAEC\r\nEND:VCARD\r\n"))
	f.Add([]byte("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:B\r\nEMAIL:b@example.org\r\nFBURL;MEDIATYPE=text/calendar:https://dav.example.org/fb/b.ifb\r\nEND:VCARD\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := parseRecord("/b/x.vcf", classGAL, data)
		if err != nil {
			return
		}
		if ts := terms(r.entry.DisplayName); len(ts) > 0 && !r.matches(ts) {
			t.Fatalf("record does not match its own name %q (keys %q)", r.entry.DisplayName, r.keys)
		}
	})
}
