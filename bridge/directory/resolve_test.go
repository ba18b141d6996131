package directory

import (
	"bytes"
	"encoding/base64"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/accounts"
)

// ResolveRecipients against the test Radicale: an address resolves to its
// GAL entry exactly (with the KEY certificate), a shared name gives the
// candidates (GAL before contacts, one per address), an exact display
// name resolves, an unknown one does not; the user's own address resolves
// to the user, whose availability Radicale 3.1.8 cannot give (no
// free-busy-query): Status "not available".
func TestResolveRecipients(t *testing.T) {
	e := newEnv(t)
	gal := e.book(t, "gal")
	own := e.book(t, "contacts")
	cert := []byte{0x30, 0x82, 0x01, 0x0A, 0x02, 0x01, 0x00}
	e.put(t, gal, "r1", card("r1", "Jane Roe", "Roe;Jane;;;", "jane@example.org", "KEY;ENCODING=b;TYPE=X509:"+base64.StdEncoding.EncodeToString(cert)))
	e.put(t, gal, "r2", card("r2", "Richard Roe", "Roe;Richard;;;", "rich@example.org"))
	e.put(t, own, "c1", card("c1", "Roe Family", "Family;Roe;;;", "family@example.net"))
	e.put(t, own, "c2", card("c2", "Jane (home)", "Roe;Jane;;;", "jane@example.org")) // same address as the GAL entry
	e.put(t, own, "c3", card("c3", "Nomail Roe", "Roe;Nomail;;;", ""))
	cal := e.home + "cal/"
	if err := e.client.MakeCalendar(ctxT(t), cal, "Cal", []string{"VEVENT"}, ""); err != nil {
		t.Fatal(err)
	}
	s := e.service(t, accounts.GAL{AddressBook: gal}, Options{})
	start := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)
	q := &activesync.RecipientQuery{
		To:           []string{"JANE@example.org", "roe", "Richard Roe", "nobody@example.org", "Zebra", e.user, `"Rich" <rich@example.org>`},
		Certificates: activesync.CertificatesFull, Availability: true, Start: start, End: start.Add(2 * time.Hour), MaxAmbiguous: 100,
	}
	res, err := s.ResolveRecipients(ctxT(t), acct(e.user), "dev1", q)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(q.To) {
		t.Fatalf("%d results for %d To", len(res), len(q.To))
	}
	one := func(i int, typ int, name, addr string) activesync.Recipient {
		t.Helper()
		r := res[i]
		if r.Status != activesync.RecipientStatusResolved || len(r.Recipients) != 1 {
			t.Fatalf("%q: %+v", q.To[i], r)
		}
		rc := r.Recipients[0]
		if rc.Type != typ || rc.DisplayName != name || rc.EmailAddress != addr {
			t.Errorf("%q resolved to %+v", q.To[i], rc)
		}
		return rc
	}
	jane := one(0, activesync.RecipientTypeGAL, "Jane Roe", "jane@example.org")
	if len(jane.Certificates) != 1 || !bytes.Equal(jane.Certificates[0], cert) {
		t.Errorf("Jane's certificates: %x", jane.Certificates)
	}
	if jane.Availability == nil || jane.Availability.Status != activesync.AvailabilityStatusNotAvailable {
		t.Errorf("someone else's availability: %+v", jane.Availability)
	}
	amb := res[1]
	if amb.Status != activesync.RecipientStatusAmbiguous || len(amb.Recipients) != 3 {
		t.Fatalf("roe: %+v", amb)
	}
	want := []struct {
		typ        int
		name, addr string
	}{
		{activesync.RecipientTypeGAL, "Jane Roe", "jane@example.org"},
		{activesync.RecipientTypeGAL, "Richard Roe", "rich@example.org"},
		{activesync.RecipientTypeContact, "Roe Family", "family@example.net"},
	}
	for i, w := range want {
		if rc := amb.Recipients[i]; rc.Type != w.typ || rc.DisplayName != w.name || rc.EmailAddress != w.addr || rc.Availability != nil {
			t.Errorf("roe candidate %d = %+v, want %+v", i, rc, w)
		}
	}
	one(2, activesync.RecipientTypeGAL, "Richard Roe", "rich@example.org")
	if res[3].Status != activesync.RecipientStatusUnresolved || res[4].Status != activesync.RecipientStatusUnresolved {
		t.Errorf("unknown address / name: %+v / %+v", res[3], res[4])
	}
	self := one(5, activesync.RecipientTypeGAL, "Test User", e.user)
	if self.Availability == nil || self.Availability.Status != activesync.AvailabilityStatusNotAvailable {
		t.Errorf("own availability on a server without free-busy-query: %+v", self.Availability)
	}
	one(6, activesync.RecipientTypeGAL, "Richard Roe", "rich@example.org")

	// MaxAmbiguous bounds what is returned, the total stays.
	q2 := &activesync.RecipientQuery{To: []string{"roe"}, MaxAmbiguous: 1, Picture: true}
	res, err = s.ResolveRecipients(ctxT(t), acct(e.user), "dev1", q2)
	if err != nil {
		t.Fatal(err)
	}
	if r := res[0]; r.Status != activesync.RecipientStatusAmbiguous || r.Total != 3 || len(r.Recipients) != 1 ||
		r.Recipients[0].Picture == nil || r.Recipients[0].Picture.Status != activesync.PictureStatusNoPhoto {
		t.Errorf("MaxAmbiguous 1: %+v", r)
	}
}
