package bridge_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/internal/bridgetest"
	"github.com/idlebridge/idlebridge/internal/testenv"
	"github.com/idlebridge/idlebridge/upstream/dav"
)

const rrNS = wbxml.ResolveRecipients

// davAs is a client of the test Radicale as the bridge's user.
func davAs(t *testing.T, e *bridgetest.Env) (*dav.Client, string) {
	t.Helper()
	c, err := dav.New(dav.Config{URL: testenv.DAVURL(t), Username: e.User, Password: e.Password, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c, "/" + e.User + "/"
}

func putCards(t *testing.T, c *dav.Client, book string, cards map[string]string) {
	t.Helper()
	ctx := context.Background()
	if err := c.MakeAddressBook(ctx, book, "Book"); err != nil {
		t.Fatal(err)
	}
	for uid, body := range cards {
		if _, err := c.Create(ctx, book+uid+".vcf", dav.ContentVCard, []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:"+uid+"\r\n"+body+"END:VCARD\r\n")); err != nil {
			t.Fatal(err)
		}
	}
}

// ResolveRecipients through the HTTP front at 14.1 and 16.1, against the
// user's address books on the test Radicale and a domain's GAL book named
// in @<domain>.yaml: a known address resolves to its GAL entry, a shared
// name gives the candidates (GAL entries as Type 1, contacts as Type 2),
// an unknown one Status 4; the user's own availability is "not available"
// (Radicale has no free-busy-query).
func TestResolveRecipientsThroughTheFront(t *testing.T) {
	user := testenv.UniqueUser(t)
	_, domain, _ := strings.Cut(user, "@")
	e := bridgetest.Start(t, bridgetest.Options{DAV: true, User: user,
		Files: map[string]string{"@" + domain + ".yaml": "gal: {addressbook: /" + user + "/gal/}\n"}})
	c, home := davAs(t, e)
	putCards(t, c, home+"gal/", map[string]string{
		"g1": "FN:Jane Roe\r\nN:Roe;Jane;;;\r\nEMAIL:jane@corp.example\r\n",
		"g2": "FN:Richard Roe\r\nN:Roe;Richard;;;\r\nEMAIL:rich@corp.example\r\n",
	})
	putCards(t, c, home+"contacts/", map[string]string{
		"c1": "FN:Roe Family\r\nN:Family;Roe;;;\r\nEMAIL:family@home.example\r\n",
	})
	for _, version := range []string{"14.1", "16.1"} {
		t.Run(version, func(t *testing.T) {
			dev := e.Device(t, "rr"+strings.ReplaceAll(version, ".", ""), version)
			req := wbxml.New(rrNS, "ResolveRecipients")
			for _, to := range []string{"jane@corp.example", "Roe", "nobody@nowhere.example", e.User} {
				req.AddText(rrNS, "To", to)
			}
			av := req.Add(rrNS, "Options").Add(rrNS, "Availability")
			av.AddText(rrNS, "StartTime", "2026-01-05T08:00:00.000Z")
			av.AddText(rrNS, "EndTime", "2026-01-05T12:00:00.000Z")
			res, err := dev.Do(context.Background(), "ResolveRecipients", req)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status() != "1" {
				t.Fatalf("Status %q", res.Status())
			}
			rs := res.Doc.All(rrNS, "Response")
			if len(rs) != 4 {
				t.Fatalf("%d Responses", len(rs))
			}
			jane := rs[0].Child(rrNS, "Recipient")
			if rs[0].ChildText(rrNS, "Status") != "1" || jane.ChildText(rrNS, "DisplayName") != "Jane Roe" || jane.ChildText(rrNS, "Type") != "1" ||
				jane.Child(rrNS, "Availability").ChildText(rrNS, "Status") != "163" {
				t.Errorf("jane: status %s, %s %s type %s", rs[0].ChildText(rrNS, "Status"), jane.ChildText(rrNS, "DisplayName"),
					jane.ChildText(rrNS, "EmailAddress"), jane.ChildText(rrNS, "Type"))
			}
			var cands []string
			for _, r := range rs[1].All(rrNS, "Recipient") {
				cands = append(cands, r.ChildText(rrNS, "Type")+":"+r.ChildText(rrNS, "EmailAddress"))
				if r.Has(rrNS, "Availability") {
					t.Errorf("availability on a suggestion")
				}
			}
			if got := strings.Join(cands, ","); rs[1].ChildText(rrNS, "Status") != "2" || rs[1].ChildText(rrNS, "RecipientCount") != "3" ||
				got != "1:jane@corp.example,1:rich@corp.example,2:family@home.example" {
				t.Errorf("Roe: status %s count %s candidates %s", rs[1].ChildText(rrNS, "Status"), rs[1].ChildText(rrNS, "RecipientCount"), got)
			}
			if rs[2].ChildText(rrNS, "Status") != "4" {
				t.Errorf("unknown: status %s", rs[2].ChildText(rrNS, "Status"))
			}
			self := rs[3].Child(rrNS, "Recipient")
			if rs[3].ChildText(rrNS, "Status") != "1" || self.ChildText(rrNS, "EmailAddress") != e.User ||
				self.Child(rrNS, "Availability").ChildText(rrNS, "Status") != "163" {
				t.Errorf("self: status %s, %s", rs[3].ChildText(rrNS, "Status"), self.ChildText(rrNS, "EmailAddress"))
			}
		})
	}
}

// Availability of someone else from the free/busy file their card
// publishes (FBURL, RFC 6350 6.9.1), at 14.1 and 16.1: a VFREEBUSY on the
// user's own DAV server is fetched with the user's credentials and read
// into MergedFreeBusy (busy 09:00-10:00, tentative 10:30-11:00 in a
// 08:00-12:00 window of half hours); an FBURL on another server is not
// fetched ("not available", Status 163).
func TestAvailabilityFromFBURL(t *testing.T) {
	e := bridgetest.Start(t, bridgetest.Options{DAV: true})
	c, home := davAs(t, e)
	ctx := context.Background()
	if err := c.MakeCalendar(ctx, home+"freebusy/", "Free/busy", nil, ""); err != nil {
		t.Fatal(err)
	}
	fb := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//idlebridge test//EN\r\nBEGIN:VFREEBUSY\r\nUID:fb-bob\r\nDTSTAMP:20260101T000000Z\r\n" +
		"DTSTART:20260105T000000Z\r\nDTEND:20260112T000000Z\r\nFREEBUSY:20260105T090000Z/20260105T100000Z\r\n" +
		"FREEBUSY;FBTYPE=BUSY-TENTATIVE:20260105T103000Z/PT30M\r\nEND:VFREEBUSY\r\nEND:VCALENDAR\r\n"
	if _, err := c.Create(ctx, home+"freebusy/bob.ics", "text/calendar", []byte(fb)); err != nil {
		t.Fatal(err)
	}
	putCards(t, c, home+"contacts/", map[string]string{
		"bob":   "FN:Bob Busy\r\nN:Busy;Bob;;;\r\nEMAIL:bob@else.example\r\nFBURL:" + strings.TrimSuffix(testenv.DAVURL(t), "/") + home + "freebusy/bob.ics\r\n",
		"carol": "FN:Carol Far\r\nN:Far;Carol;;;\r\nEMAIL:carol@far.example\r\nFBURL:http://freebusy.invalid/carol.ifb\r\n",
	})
	for _, version := range []string{"14.1", "16.1"} {
		t.Run(version, func(t *testing.T) {
			dev := e.Device(t, "fb"+strings.ReplaceAll(version, ".", ""), version)
			req := wbxml.New(rrNS, "ResolveRecipients")
			req.AddText(rrNS, "To", "bob@else.example")
			req.AddText(rrNS, "To", "carol@far.example")
			av := req.Add(rrNS, "Options").Add(rrNS, "Availability")
			av.AddText(rrNS, "StartTime", "2026-01-05T08:00:00.000Z")
			av.AddText(rrNS, "EndTime", "2026-01-05T12:00:00.000Z")
			res, err := dev.Do(ctx, "ResolveRecipients", req)
			if err != nil || res.Status() != "1" {
				t.Fatalf("ResolveRecipients: %v", err)
			}
			rs := res.Doc.All(rrNS, "Response")
			if len(rs) != 2 {
				t.Fatalf("%d Responses", len(rs))
			}
			bob := rs[0].Child(rrNS, "Recipient").Child(rrNS, "Availability")
			if bob == nil || bob.ChildText(rrNS, "Status") != "1" || bob.ChildText(rrNS, "MergedFreeBusy") != "00220100" {
				t.Errorf("Bob's availability: %+v, want Status 1 and 00220100", bob)
			}
			carol := rs[1].Child(rrNS, "Recipient").Child(rrNS, "Availability")
			if carol == nil || carol.ChildText(rrNS, "Status") != "163" {
				t.Errorf("Carol's availability (another server): %+v, want Status 163", carol)
			}
		})
	}
}
