package activesync

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

func recipientResolver(b Backend) bool { _, ok := b.(RecipientResolver); return ok }

// Limits of ResolveRecipients (MS-ASCMD 2.2.3.183 To, 2.2.3.16
// Availability, 2.2.3.107 MergedFreeBusy).
const (
	maxResolveTo           = 1000
	maxResolveToLength     = 256
	maxAvailabilityTo      = 100
	maxOptionValue         = 9999
	maxMergedFreeBusySlots = 32 * 1024
	freeBusySlot           = 30 * time.Minute
	defaultMaxAmbiguous    = 100 // when the device sets no bound
)

// recipientRequest is the decoded request with the front's own limits.
type recipientRequest struct {
	RecipientQuery
	maxCertificates int // -1: no bound
	maxAmbiguous    int
	maxPictures     int // 0: no bound
}

// parseResolveRecipients decodes a ResolveRecipients request; ok is false
// for one the spec calls a protocol error (no To, too many, a bad option
// value or time).
func parseResolveRecipients(req *wbxml.Element) (*recipientRequest, bool) {
	const ns = wbxml.ResolveRecipients
	r := &recipientRequest{maxCertificates: -1, maxAmbiguous: defaultMaxAmbiguous}
	r.Certificates = CertificatesNotWanted
	if req == nil || !req.Is(ns, "ResolveRecipients") {
		return nil, false
	}
	for _, to := range req.All(ns, "To") {
		v := strings.TrimSpace(to.Content())
		if v == "" || len(v) > maxResolveToLength {
			return nil, false
		}
		r.To = append(r.To, v)
	}
	if len(r.To) == 0 || len(r.To) > maxResolveTo {
		return nil, false
	}
	opt := req.Child(ns, "Options")
	if opt == nil {
		return r, true
	}
	num := func(el *wbxml.Element, name string, lo, hi int) (int, bool, bool) {
		x := el.Child(ns, name)
		if x == nil {
			return 0, false, true
		}
		n, err := strconv.Atoi(strings.TrimSpace(x.Content()))
		if err != nil || n < lo || n > hi {
			return 0, true, false
		}
		return n, true, true
	}
	n, set, ok := num(opt, "CertificateRetrieval", CertificatesNotWanted, CertificatesMini)
	if !ok {
		return nil, false
	}
	if set {
		r.Certificates = n
	}
	if n, set, ok = num(opt, "MaxCertificates", 0, maxOptionValue); !ok {
		return nil, false
	} else if set {
		r.maxCertificates = n
	}
	if n, set, ok = num(opt, "MaxAmbiguousRecipients", 0, maxOptionValue); !ok {
		return nil, false
	} else if set {
		r.maxAmbiguous = n
	}
	if av := opt.Child(ns, "Availability"); av != nil {
		start, ok1 := parseEASTime(av.ChildText(ns, "StartTime"))
		end, ok2 := parseEASTime(av.ChildText(ns, "EndTime"))
		if !ok1 || !ok2 || !end.After(start) {
			return nil, false
		}
		// MergedFreeBusy holds at most 32 KB: a longer span is cut (the
		// client asks again from where the answer ends).
		if limit := start.Add(maxMergedFreeBusySlots * freeBusySlot); end.After(limit) {
			end = limit
		}
		r.Availability, r.Start, r.End = true, start, end
	}
	if pic := opt.Child(ns, "Picture"); pic != nil {
		r.Picture = true
		if n, _, ok = num(pic, "MaxSize", 0, 1<<30); !ok {
			return nil, false
		}
		r.MaxPictureSize = n
		if n, _, ok = num(pic, "MaxPictures", 0, maxOptionValue); !ok {
			return nil, false
		}
		r.maxPictures = n
	}
	r.MaxAmbiguous, r.MaxPictures = r.maxAmbiguous, r.maxPictures
	return r, true
}

// parseEASTime reads an MS-ASDTYPE dateTime (2.3: 2016-01-02T08:00:00.000Z);
// the forms without milliseconds or with an offset are taken too.
func parseEASTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02T15:04:05.000Z", time.RFC3339Nano, "20060102T150405Z"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// handleResolveRecipients answers ResolveRecipients (MS-ASCMD 2.2.1.15).
func handleResolveRecipients(ctx context.Context, c *call) (*wbxml.Element, error) {
	const ns = wbxml.ResolveRecipients
	resp := wbxml.New(ns, "ResolveRecipients")
	req, ok := parseResolveRecipients(c.req)
	if !ok {
		resp.AddText(ns, "Status", strconv.Itoa(ResolveStatusProtocolError))
		return resp, nil
	}
	if c.ver < V141 {
		// Pictures came with 14.1 (MS-ASCMD 2.2.3.135.2).
		req.Picture, req.MaxPictureSize, req.maxPictures = false, 0, 0
	}
	results, err := c.s.Backend.(RecipientResolver).ResolveRecipients(ctx, c.acct, c.q.DeviceID, &req.RecipientQuery)
	if err != nil {
		code, ok := commandStatusOf(err)
		if !ok {
			return nil, err
		}
		resp.AddText(ns, "Status", strconv.Itoa(code))
		return resp, nil
	}
	resp.AddText(ns, "Status", strconv.Itoa(ResolveStatusOK))
	enc := recipientEncoder{req: req, certsLeft: req.maxCertificates, picturesLeft: req.maxPictures}
	for i, to := range req.To {
		var res RecipientResult
		if i < len(results) {
			res = results[i]
		} else {
			res.Status = RecipientStatusUnresolved
		}
		enc.response(resp.Add(ns, "Response"), to, res)
	}
	return resp, nil
}

// recipientEncoder writes Responses, applying the limits that span the
// whole answer (MaxCertificates, MaxPictures) in request order.
type recipientEncoder struct {
	req          *recipientRequest
	certsLeft    int // -1: no bound
	picturesLeft int // counts down from MaxPictures; unused when it is 0
	pictures     int
}

func (e *recipientEncoder) response(r *wbxml.Element, to string, res RecipientResult) {
	const ns = wbxml.ResolveRecipients
	recips := res.Recipients
	status := res.Status
	total := max(res.Total, len(recips))
	switch {
	case total == 0 || status == RecipientStatusUnresolved:
		status, recips = RecipientStatusUnresolved, nil
	case status == RecipientStatusResolved && len(recips) > 0:
		recips, total = recips[:1], 1
	default:
		status = RecipientStatusAmbiguous
		recips = recips[:min(len(recips), e.req.maxAmbiguous)]
		if total > len(recips) {
			status = RecipientStatusAmbiguousPartial
		}
	}
	r.AddText(ns, "To", to)
	r.AddText(ns, "Status", strconv.Itoa(status))
	if status == RecipientStatusUnresolved {
		return
	}
	r.AddText(ns, "RecipientCount", strconv.Itoa(total))
	for _, rc := range recips {
		e.recipient(r.Add(ns, "Recipient"), rc, status == RecipientStatusResolved)
	}
}

func (e *recipientEncoder) recipient(el *wbxml.Element, rc Recipient, resolved bool) {
	const ns = wbxml.ResolveRecipients
	typ := rc.Type
	if typ != RecipientTypeContact {
		typ = RecipientTypeGAL
	}
	el.AddText(ns, "Type", strconv.Itoa(typ))
	el.AddText(ns, "DisplayName", rc.DisplayName)
	el.AddText(ns, "EmailAddress", rc.EmailAddress)
	// Availability only for a recipient that resolved to one entry
	// (MS-ASCMD 2.2.3.16); more than 100 To with it asked is Status 160.
	if e.req.Availability && resolved {
		av := el.Add(ns, "Availability")
		switch {
		case len(e.req.To) > maxAvailabilityTo:
			av.AddText(ns, "Status", strconv.Itoa(AvailabilityStatusTooManyRecipients))
		case rc.Availability == nil:
			av.AddText(ns, "Status", strconv.Itoa(AvailabilityStatusNotAvailable))
		default:
			av.AddText(ns, "Status", strconv.Itoa(rc.Availability.Status))
			if rc.Availability.Status == AvailabilityStatusOK {
				av.AddText(ns, "MergedFreeBusy", rc.Availability.MergedFreeBusy)
			}
		}
	}
	if e.req.Certificates != CertificatesNotWanted && resolved {
		e.certificates(el.Add(ns, "Certificates"), rc.Certificates)
	}
	if e.req.Picture {
		e.picture(el.Add(ns, "Picture"), rc.Picture)
	}
}

func (e *recipientEncoder) certificates(el *wbxml.Element, certs [][]byte) {
	const ns = wbxml.ResolveRecipients
	switch {
	case len(certs) == 0:
		el.AddText(ns, "Status", strconv.Itoa(CertificatesStatusNone))
		return
	case e.certsLeft >= 0 && len(certs) > e.certsLeft:
		// MaxCertificates spans the answer: the recipient's certificates
		// are left out and counted (MS-ASCMD 2.2.3.21).
		el.AddText(ns, "Status", strconv.Itoa(CertificatesStatusLimited))
		el.AddText(ns, "CertificateCount", strconv.Itoa(len(certs)))
		el.AddText(ns, "RecipientCount", "1")
		return
	}
	if e.certsLeft >= 0 {
		e.certsLeft -= len(certs)
	}
	el.AddText(ns, "Status", strconv.Itoa(CertificatesStatusOK))
	el.AddText(ns, "CertificateCount", strconv.Itoa(len(certs)))
	el.AddText(ns, "RecipientCount", "1")
	// Mini certificates (CertificatesMini) are an Exchange format no
	// address book holds; the full certificate serves the same purpose.
	for _, c := range certs {
		el.AddText(ns, "Certificate", base64.StdEncoding.EncodeToString(c))
	}
}

func (e *recipientEncoder) picture(el *wbxml.Element, p *GALPicture) {
	const ns = wbxml.ResolveRecipients
	switch {
	case p == nil || p.Status == 0:
		el.AddText(ns, "Status", strconv.Itoa(PictureStatusNoPhoto))
	case p.Status != PictureStatusOK:
		el.AddText(ns, "Status", strconv.Itoa(p.Status))
	case e.req.maxPictures > 0 && e.pictures >= e.req.maxPictures:
		el.AddText(ns, "Status", strconv.Itoa(PictureStatusMaxPictures))
	case e.req.MaxPictureSize > 0 && len(p.Data) > e.req.MaxPictureSize:
		el.AddText(ns, "Status", strconv.Itoa(PictureStatusTooLarge))
	default:
		e.pictures++
		el.AddText(ns, "Status", strconv.Itoa(PictureStatusOK))
		el.AddOpaque(ns, "Data", p.Data) // a byte array (MS-ASCMD 2.2.3.39.3)
	}
}
