package items

import (
	"strconv"
	"strings"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// Draft is what a 16.x device saves in the Drafts folder with a Sync Add,
// or changes there with a Change (MS-ASCMD 2.2.3.7.2; MS-ASEMAIL 2.2.2
// elements marked for 16.0 requests): recipients, subject, importance and
// body. nil fields were not sent.
type Draft struct {
	To, Cc, Bcc, Subject *string
	Importance           *int // 0 low, 1 normal, 2 high
	Body                 *Body
	// Send is Email2:Send (MS-ASEMAIL 2.2.2.69): "send this draft now".
	Send bool
}

// Importance levels (MS-ASEMAIL 2.2.2.40).
const (
	ImportanceLow    = 0
	ImportanceNormal = 1
	ImportanceHigh   = 2
)

// HasContent reports whether the ApplicationData carried a draft's content
// rather than only flags (a Change may be either).
func (d *Draft) HasContent() bool {
	return d.To != nil || d.Cc != nil || d.Bcc != nil || d.Subject != nil || d.Importance != nil || d.Body != nil || d.Send
}

// DecodeDraft reads a device's draft. Like the flags change, it never
// fails, because a draft is the user's half-written text and refusing it
// loses it: an Importance that is not 0, 1 or 2 reads as normal, and a
// body Type that is not a number as plain text. The error is always nil.
func DecodeDraft(app *wbxml.Element, _ Version) (*Draft, error) {
	d := &Draft{}
	if app == nil {
		return d, nil
	}
	d.To = optString(emailTo.child(app))
	d.Cc = optString(emailCc.child(app))
	d.Bcc = optString(email2Bcc.child(app))
	d.Subject = optString(emailSubject.child(app))
	if el := emailImportance.child(app); el != nil {
		n, ok := canonicalInt(el.Content())
		if !ok || n > ImportanceHigh {
			n = ImportanceNormal
		}
		d.Importance = &n
	}
	if el := baseBody.child(app); el != nil {
		t, ok := canonicalInt(baseType.child(el).Content())
		if !ok {
			t = BodyPlain
		}
		d.Body = &Body{Type: t, Data: text(baseData.child(el))}
	}
	d.Send = email2Send.child(app) != nil
	return d, nil
}

// canonicalInt reads a non-negative number written the one way MS-ASDTYPE
// writes integers (no sign, no leading zeros), ignoring surrounding space.
func canonicalInt(s string) (int, bool) {
	s = strings.TrimSpace(s)
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || strconv.Itoa(n) != s {
		return 0, false
	}
	return n, true
}

// Encode returns the ApplicationData of the draft as a device sends it.
func (d *Draft) Encode(_ Version) *wbxml.Element {
	app := wbxml.New(wbxml.AirSync, "ApplicationData")
	for _, f := range []struct {
		tag emailTag
		v   *string
	}{{emailTo, d.To}, {emailCc, d.Cc}, {emailSubject, d.Subject}} {
		if f.v != nil {
			f.tag.text(app, *f.v)
		}
	}
	if d.Bcc != nil {
		email2Bcc.text(app, *d.Bcc)
	}
	if d.Importance != nil {
		emailImportance.text(app, itoa(*d.Importance))
	}
	d.Body.encode(app)
	if d.Send {
		email2Send.add(app)
	}
	return app
}
