package dav

import (
	"slices"
	"testing"
	"time"
)

// A read-only calendar as servers shared to a user report it (SabreDAV
// style prefixes, absolute hrefs, split propstats).
const sharedCalendar = `<?xml version="1.0" encoding="utf-8"?>
<d:multistatus xmlns:d="DAV:" xmlns:cal="urn:ietf:params:xml:ns:caldav" xmlns:cs="http://calendarserver.org/ns/" xmlns:x1="http://apple.com/ns/ical/">
 <d:response>
  <d:href>https://dav.example/remote.php/dav/calendars/bob/shared%20one/</d:href>
  <d:propstat><d:prop>
   <d:resourcetype><d:collection/><cal:calendar/></d:resourcetype>
   <d:displayname>Team &amp; Co</d:displayname>
   <d:current-user-privilege-set><d:privilege><d:read/></d:privilege><d:privilege><d:read-current-user-privilege-set/></d:privilege></d:current-user-privilege-set>
   <cal:supported-calendar-component-set><cal:comp name="vevent"/></cal:supported-calendar-component-set>
   <x1:calendar-color>#0082c9</x1:calendar-color>
   <cs:getctag>http://sabre.io/ns/sync/42</cs:getctag>
   <d:sync-token>http://sabre.io/ns/sync/42</d:sync-token>
  </d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>
  <d:propstat><d:prop><d:supported-report-set/></d:prop><d:status>HTTP/1.1 404 Not Found</d:status></d:propstat>
 </d:response>
</d:multistatus>`

func TestToCollectionReadOnlyShared(t *testing.T) {
	ms, err := parseMultistatus([]byte(sharedCalendar))
	if err != nil {
		t.Fatal(err)
	}
	col, ok := toCollection(&ms.Responses[0])
	if !ok {
		t.Fatal("not a collection")
	}
	want := Collection{Href: "/remote.php/dav/calendars/bob/shared%20one/", Kind: KindCalendar, DisplayName: "Team & Co",
		Color: "#0082c9", ReadOnly: true, SyncToken: "http://sabre.io/ns/sync/42", CTag: "http://sabre.io/ns/sync/42"}
	if col.Href != want.Href || col.DisplayName != want.DisplayName || col.Color != want.Color || !col.ReadOnly ||
		col.SyncToken != want.SyncToken || col.CTag != want.CTag || col.SyncCollection || !col.Supports("VEVENT") || col.Supports("VTODO") {
		t.Fatalf("got %+v, want %+v with components [VEVENT]", col, want)
	}
}

func TestParseMultistatusRejectsNonDAV(t *testing.T) {
	for _, body := range []string{"", "<html><body>login</body></html>", `<multistatus xmlns="urn:other"/>`, "not xml"} {
		if _, err := parseMultistatus([]byte(body)); err == nil {
			t.Errorf("%q parsed as a multistatus", body)
		}
	}
}

func TestNormHref(t *testing.T) {
	for in, want := range map[string]string{
		"/a%40b/c%20d.ics":              "/a@b/c%20d.ics",
		"/a@b/c d.ics":                  "/a@b/c%20d.ics",
		"https://h.example/a%40b/x.ics": "/a@b/x.ics",
		" /cal/ ":                       "/cal/",
	} {
		if got := normHref(in); got != want {
			t.Errorf("normHref(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseMultistatus(f *testing.F) {
	f.Add([]byte(sharedCalendar))
	f.Add([]byte(v4AddressBook))
	f.Add([]byte(`<multistatus xmlns="DAV:"><response><href>/c/a.ics</href><status>HTTP/1.1 404 Not Found</status></response><sync-token>t</sync-token></multistatus>`))
	f.Add([]byte(`<multistatus xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><response><href>/c/a.ics</href><propstat><prop><getetag>"x"</getetag><C:calendar-data>BEGIN:VCALENDAR</C:calendar-data></prop><status>HTTP/1.1 200 OK</status></propstat></response></multistatus>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ms, err := parseMultistatus(body)
		if err != nil {
			return
		}
		for i := range ms.Responses {
			r := &ms.Responses[i]
			_ = r.href()
			_ = statusCode(r.Status)
			p := r.found()
			_ = p.supportsReport(nsDAV, "sync-collection")
			if col, ok := toCollection(r); ok {
				_ = col.Supports("VEVENT")
			}
		}
	})
}

func FuzzParseDAVError(f *testing.F) {
	f.Add([]byte(`<?xml version='1.0' encoding='utf-8'?><error xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><C:no-uid-conflict /></error>`))
	f.Add([]byte(`<D:error xmlns:D="DAV:"><D:valid-sync-token/></D:error>`))
	f.Add([]byte(`<D:error xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><C:no-uid-conflict><D:href>/x</D:href></C:no-uid-conflict></D:error>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		cond, href, ok := parseDAVError(body)
		if !ok && (cond != "" || href != "") {
			t.Fatalf("not ok but %q %q", cond, href)
		}
	})
}

func FuzzParseRetryAfter(f *testing.F) {
	now := time.Date(2026, 12, 1, 20, 0, 0, 0, time.UTC)
	f.Add("120")
	f.Add("Tue, 01 Dec 2026 21:00:00 GMT")
	f.Add("-5")
	f.Add("99999999999999999999")
	f.Fuzz(func(t *testing.T, v string) {
		if d := parseRetryAfter(v, now); d < 0 || d > 24*time.Hour {
			t.Fatalf("parseRetryAfter(%q) = %v", v, d)
		}
	})
}

// An address book as SabreDAV-style servers describe it: the vCard
// versions it takes (RFC 6352 6.2.2), a jCard type that is no vCard, and
// an address-data-type whose version attribute is left to its default.
const v4AddressBook = `<?xml version="1.0" encoding="utf-8"?>
<d:multistatus xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav">
 <d:response>
  <d:href>/dav/addressbooks/bob/v4only/</d:href>
  <d:propstat><d:prop>
   <d:resourcetype><d:collection/><card:addressbook/></d:resourcetype>
   <card:supported-address-data>
    <card:address-data-type content-type="text/vcard" version="4.0"/>
    <card:address-data-type content-type="application/vcard+json" version="4.0"/>
   </card:supported-address-data>
  </d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>
 </d:response>
 <d:response>
  <d:href>/dav/addressbooks/bob/defaults/</d:href>
  <d:propstat><d:prop>
   <d:resourcetype><d:collection/><card:addressbook/></d:resourcetype>
   <card:supported-address-data><card:address-data-type/></card:supported-address-data>
  </d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>
 </d:response>
 <d:response>
  <d:href>/dav/addressbooks/bob/silent/</d:href>
  <d:propstat><d:prop><d:resourcetype><d:collection/><card:addressbook/></d:resourcetype></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>
  <d:propstat><d:prop><card:supported-address-data/></d:prop><d:status>HTTP/1.1 404 Not Found</d:status></d:propstat>
 </d:response>
</d:multistatus>`

func TestToCollectionVCardVersions(t *testing.T) {
	ms, err := parseMultistatus([]byte(v4AddressBook))
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"4.0"}, {"3.0"}, nil}
	for i, r := range ms.Responses {
		col, ok := toCollection(&r)
		if !ok || col.Kind != KindAddressBook {
			t.Fatalf("%d: not an address book: %+v", i, col)
		}
		if !slices.Equal(col.VCardVersions, want[i]) || (col.VCardVersions == nil) != (want[i] == nil) {
			t.Errorf("%s: versions %q, want %q", col.Href, col.VCardVersions, want[i])
		}
	}
}
