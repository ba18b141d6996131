package activesync_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// fakeResolver answers every To from a table and records the query.
type fakeResolver struct {
	*fakeBackend
	mu      sync.Mutex
	got     *activesync.RecipientQuery
	answers map[string]activesync.RecipientResult
	err     error
}

func (f *fakeResolver) ResolveRecipients(ctx context.Context, acct activesync.Account, deviceID string, q *activesync.RecipientQuery) ([]activesync.RecipientResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cp := *q
	f.got = &cp
	if f.err != nil {
		return nil, f.err
	}
	var out []activesync.RecipientResult
	for _, to := range q.To {
		r, ok := f.answers[to]
		if !ok {
			r.Status = activesync.RecipientStatusUnresolved
		}
		out = append(out, r)
	}
	return out, nil
}

func newResolveHarness(t *testing.T) (*fakeResolver, *client.Client) {
	t.Helper()
	fr := &fakeResolver{fakeBackend: newFakeBackend(), answers: map[string]activesync.RecipientResult{}}
	s := &activesync.Server{Backend: fr, PublicURL: "https://mail.example.com", MaxRequestBytes: 1 << 20}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	c := &client.Client{BaseURL: ts.URL, User: "alice@example.com", Password: "secret", DeviceID: "dev1", Version: "14.1"}
	if _, err := c.Provision(context.Background()); err != nil {
		t.Fatal(err)
	}
	return fr, c
}

const rr = wbxml.ResolveRecipients

func resolveReq(to []string, opts func(o *wbxml.Element)) *wbxml.Element {
	r := wbxml.New(rr, "ResolveRecipients")
	for _, x := range to {
		r.AddText(rr, "To", x)
	}
	if opts != nil {
		opts(r.Add(rr, "Options"))
	}
	return r
}

// The front decodes the options, applies the answer-wide limits and
// writes the statuses by the spec: resolved, ambiguous, ambiguous-partial
// with the total count, unresolved; certificates only for resolved
// recipients, cut by MaxCertificates; availability only for resolved ones;
// pictures cut by MaxPictures.
func TestResolveRecipientsFront(t *testing.T) {
	fr, c := newResolveHarness(t)
	jane := activesync.Recipient{Type: 1, DisplayName: "Jane Roe", EmailAddress: "jane@example.org",
		Certificates: [][]byte{{0x30, 0x01}, {0x30, 0x02}}, Availability: &activesync.Availability{Status: 1, MergedFreeBusy: "0220"},
		Picture: &activesync.GALPicture{Status: 1, Data: []byte("jpeg")}}
	john := activesync.Recipient{Type: 2, DisplayName: "John Roe", EmailAddress: "john@example.org", Picture: &activesync.GALPicture{Status: 1, Data: []byte("jpg2")}}
	ann := activesync.Recipient{Type: 1, DisplayName: "Ann Roe", EmailAddress: "ann@example.org", Certificates: [][]byte{{0x30, 0x03}}}
	fr.answers["jane@example.org"] = activesync.RecipientResult{Status: 1, Recipients: []activesync.Recipient{jane}}
	fr.answers["Roe"] = activesync.RecipientResult{Status: 2, Recipients: []activesync.Recipient{john, ann, jane}}
	fr.answers["Ann"] = activesync.RecipientResult{Status: 1, Recipients: []activesync.Recipient{ann}}
	res, err := c.Do(context.Background(), "ResolveRecipients", resolveReq([]string{"jane@example.org", "Roe", "nobody", "Ann"}, func(o *wbxml.Element) {
		o.AddText(rr, "CertificateRetrieval", "2")
		o.AddText(rr, "MaxCertificates", "2")
		o.AddText(rr, "MaxAmbiguousRecipients", "2")
		av := o.Add(rr, "Availability")
		av.AddText(rr, "StartTime", "2026-01-05T08:00:00.000Z")
		av.AddText(rr, "EndTime", "2026-01-05T10:00:00.000Z")
		p := o.Add(rr, "Picture")
		p.AddText(rr, "MaxSize", "100")
		p.AddText(rr, "MaxPictures", "2")
	}))
	if err != nil {
		t.Fatal(err)
	}
	q := fr.got
	if q.Certificates != activesync.CertificatesFull || !q.Availability || !q.Picture || q.MaxPictureSize != 100 || q.MaxAmbiguous != 2 ||
		!q.Start.Equal(time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)) || !q.End.Equal(time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("query = %+v", q)
	}
	if res.Status() != "1" {
		t.Fatalf("Status %q", res.Status())
	}
	resps := res.Doc.All(rr, "Response")
	if len(resps) != 4 {
		t.Fatalf("%d Responses, want 4", len(resps))
	}
	// 1: resolved, with both certificates (the budget of 2), availability, picture.
	r0 := resps[0]
	if r0.ChildText(rr, "To") != "jane@example.org" || r0.ChildText(rr, "Status") != "1" || r0.ChildText(rr, "RecipientCount") != "1" {
		t.Errorf("resolved: %s", outline(r0))
	}
	rc := r0.Child(rr, "Recipient")
	if rc.ChildText(rr, "EmailAddress") != "jane@example.org" || rc.ChildText(rr, "Type") != "1" ||
		rc.Child(rr, "Availability").ChildText(rr, "MergedFreeBusy") != "0220" ||
		len(rc.Child(rr, "Certificates").All(rr, "Certificate")) != 2 || rc.Child(rr, "Certificates").ChildText(rr, "Status") != "1" ||
		string(rc.Child(rr, "Picture").Child(rr, "Data").Opaque) != "jpeg" {
		t.Errorf("resolved recipient: %s", outline(rc))
	}
	// 2: three candidates, two shown: partial, count 3, no certificates or availability.
	r1 := resps[1]
	if r1.ChildText(rr, "Status") != "3" || r1.ChildText(rr, "RecipientCount") != "3" || len(r1.All(rr, "Recipient")) != 2 {
		t.Errorf("ambiguous: %s", outline(r1))
	}
	for _, x := range r1.All(rr, "Recipient") {
		if x.Has(rr, "Certificates") || x.Has(rr, "Availability") {
			t.Errorf("suggestion with certificates or availability: %s", outline(x))
		}
	}
	// The second picture (John's) was the last one allowed; Ann has none.
	if p := r1.All(rr, "Recipient")[0].Child(rr, "Picture"); p.ChildText(rr, "Status") != "1" {
		t.Errorf("second picture: %s", outline(p))
	}
	if p := r1.All(rr, "Recipient")[1].Child(rr, "Picture"); p.ChildText(rr, "Status") != "173" {
		t.Errorf("no photo: %s", outline(p))
	}
	if resps[2].ChildText(rr, "Status") != "4" || resps[2].Has(rr, "Recipient") {
		t.Errorf("unresolved: %s", outline(resps[2]))
	}
	// 4: Ann's certificate exceeds what MaxCertificates left: Status 8 with the count.
	certs := resps[3].Child(rr, "Recipient").Child(rr, "Certificates")
	if certs.ChildText(rr, "Status") != "8" || certs.ChildText(rr, "CertificateCount") != "1" || certs.Has(rr, "Certificate") {
		t.Errorf("over MaxCertificates: %s", outline(certs))
	}
}

func TestResolveRecipientsRefused(t *testing.T) {
	fr, c := newResolveHarness(t)
	ctx := context.Background()
	long := strings.Repeat("a", 257)
	for name, req := range map[string]*wbxml.Element{
		"no To":         resolveReq(nil, nil),
		"To too long":   resolveReq([]string{long}, nil),
		"bad retrieval": resolveReq([]string{"a"}, func(o *wbxml.Element) { o.AddText(rr, "CertificateRetrieval", "4") }),
		"bad ambiguous": resolveReq([]string{"a"}, func(o *wbxml.Element) { o.AddText(rr, "MaxAmbiguousRecipients", "10000") }),
		"end before start": resolveReq([]string{"a"}, func(o *wbxml.Element) {
			av := o.Add(rr, "Availability")
			av.AddText(rr, "StartTime", "2026-01-05T10:00:00.000Z")
			av.AddText(rr, "EndTime", "2026-01-05T08:00:00.000Z")
		}),
		"bad time": resolveReq([]string{"a"}, func(o *wbxml.Element) {
			av := o.Add(rr, "Availability")
			av.AddText(rr, "StartTime", "yesterday")
			av.AddText(rr, "EndTime", "2026-01-05T08:00:00.000Z")
		}),
	} {
		fr.got = nil
		res, err := c.Do(ctx, "ResolveRecipients", req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if res.Status() != "5" || res.Doc.Has(rr, "Response") || fr.got != nil {
			t.Errorf("%s: Status %q, backend asked: %v", name, res.Status(), fr.got != nil)
		}
	}
	fr.err = activesync.CommandStatus(activesync.ResolveStatusServerError, "directory down")
	res, err := c.Do(ctx, "ResolveRecipients", resolveReq([]string{"a"}, nil))
	if err != nil || res.Status() != "6" {
		t.Fatalf("backend failure: %v, Status %q", err, res.Status())
	}
}

func outline(e *wbxml.Element) string {
	if e == nil {
		return "<nil>"
	}
	var b strings.Builder
	var walk func(e *wbxml.Element)
	walk = func(e *wbxml.Element) {
		b.WriteString("<" + e.Name + ">")
		if len(e.Children) == 0 {
			b.WriteString(e.Content())
		}
		for _, c := range e.Children {
			walk(c)
		}
		b.WriteString("</" + e.Name + ">")
	}
	walk(e)
	return b.String()
}
