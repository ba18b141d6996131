package activesync

import (
	"testing"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// FuzzResolveRecipientsRequest: whatever a device sends, the decoder
// answers without panicking, and what it accepts stays within the spec's
// bounds; encoding an answer for it never fails.
func FuzzResolveRecipientsRequest(f *testing.F) {
	const ns = wbxml.ResolveRecipients
	req := wbxml.New(ns, "ResolveRecipients")
	req.AddText(ns, "To", "jane@example.org")
	req.AddText(ns, "To", "Jane")
	o := req.Add(ns, "Options")
	o.AddText(ns, "CertificateRetrieval", "2")
	o.AddText(ns, "MaxCertificates", "3")
	o.AddText(ns, "MaxAmbiguousRecipients", "2")
	av := o.Add(ns, "Availability")
	av.AddText(ns, "StartTime", "2026-01-05T08:00:00.000Z")
	av.AddText(ns, "EndTime", "2026-01-05T18:00:00.000Z")
	p := o.Add(ns, "Picture")
	p.AddText(ns, "MaxSize", "10240")
	p.AddText(ns, "MaxPictures", "1")
	seed, err := wbxml.Encode(req)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, raw []byte) {
		el, err := wbxml.Decode(raw, wbxml.DefaultLimits)
		if err != nil {
			return
		}
		r, ok := parseResolveRecipients(el)
		if !ok {
			return
		}
		if len(r.To) == 0 || len(r.To) > maxResolveTo || r.maxAmbiguous < 0 || r.maxAmbiguous > maxOptionValue {
			t.Fatalf("accepted out of bounds: %d To, MaxAmbiguous %d", len(r.To), r.maxAmbiguous)
		}
		if r.Availability && (!r.End.After(r.Start) || r.End.Sub(r.Start) > maxMergedFreeBusySlots*freeBusySlot) {
			t.Fatalf("availability window %v..%v", r.Start, r.End)
		}
		resp := wbxml.New(ns, "ResolveRecipients")
		enc := recipientEncoder{req: r, certsLeft: r.maxCertificates}
		for _, to := range r.To {
			enc.response(resp.Add(ns, "Response"), to, RecipientResult{Status: RecipientStatusAmbiguous, Total: 3,
				Recipients: []Recipient{{DisplayName: to, EmailAddress: to, Certificates: [][]byte{{1}}, Picture: &GALPicture{Status: 1, Data: []byte{2}}}}})
		}
		if _, err := wbxml.Encode(resp); err != nil {
			t.Fatalf("answer does not encode: %v", err)
		}
	})
}
