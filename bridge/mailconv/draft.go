package mailconv

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/idlebridge/idlebridge/activesync/items"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// Drafts at 16.x: a device saves a draft with a Sync Add (or a Change of
// its content) in the Drafts folder, carrying Email:To, Cc, Subject,
// Importance, Email2:Bcc and an AirSyncBase:Body (MS-ASCMD 2.2.3.7.2,
// MS-ASEMAIL 2.2.2 elements marked for 16.0 requests). IMAP cannot change
// a stored message, so each version is a new message: DraftMessage builds
// it, the mail engine APPENDs it with \Draft.

// ErrDraftSend: the Add or Change carries Email2:Send (MS-ASEMAIL
// 2.2.2.69), i.e. "send this draft", which the bridge does not do from a
// Sync; devices send with SendMail.
var ErrDraftSend = errors.New("mailconv: sending a draft from Sync is not supported")

// IsDraftContent reports whether a Change's ApplicationData carries a
// draft's content (recipients, subject, body) rather than only flags.
func IsDraftContent(appData *wbxml.Element) bool {
	d, err := items.DecodeDraft(appData, items.V160)
	return err == nil && d.HasContent()
}

// DraftMessage builds the RFC 5322 message of a draft from a Sync Add or
// Change's ApplicationData. from is the account's address; messageID
// names the draft (kept across its versions is not required: each
// version is a new message). Text that is not UTF-8 is made valid; line
// breaks in header values are dropped, so a device cannot inject fields.
func DraftMessage(appData *wbxml.Element, from, messageID string, now time.Time) ([]byte, error) {
	if appData == nil {
		return nil, errors.New("mailconv: draft without ApplicationData")
	}
	d, err := items.DecodeDraft(appData, items.V160)
	if err != nil {
		return nil, err
	}
	if d.Send {
		return nil, ErrDraftSend
	}
	var b bytes.Buffer
	field := func(name, value string) {
		value = headerValue(value)
		if value != "" {
			fmt.Fprintf(&b, "%s: %s\r\n", name, value)
		}
	}
	addresses := func(name string, v *string) {
		value := headerValue(deref(v))
		if value == "" {
			return
		}
		if list, err := mail.ParseAddressList(value); err == nil && len(list) > 0 {
			parts := make([]string, 0, len(list))
			for _, a := range list {
				parts = append(parts, a.String())
			}
			value = strings.Join(parts, ", ")
		} else {
			// A draft's recipients may be half typed: keep them as text.
			value = mime.QEncoding.Encode("utf-8", value)
		}
		fmt.Fprintf(&b, "%s: %s\r\n", name, value)
	}
	field("From", (&mail.Address{Address: from}).String())
	addresses("To", d.To)
	addresses("Cc", d.Cc)
	addresses("Bcc", d.Bcc)
	if s := headerValue(deref(d.Subject)); s != "" {
		field("Subject", mime.QEncoding.Encode("utf-8", s))
	}
	field("Date", now.Format(time.RFC1123Z))
	field("Message-ID", "<"+messageID+">")
	if d.Importance != nil {
		switch *d.Importance {
		case items.ImportanceLow:
			field("Importance", "low")
		case items.ImportanceHigh:
			field("Importance", "high")
		}
	}
	b.WriteString("MIME-Version: 1.0\r\n")
	var text string
	ctype := "text/plain"
	if d.Body != nil {
		text = d.Body.Data
		// MS-ASAIRS 2.2.2.22.1 Type: 1 plain text, 2 HTML (3 RTF and 4 MIME
		// are not what a device saves a draft as; their data is kept as text).
		if d.Body.Type == items.BodyHTML {
			ctype = "text/html"
		}
	}
	fmt.Fprintf(&b, "Content-Type: %s; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", ctype)
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\n", "\r\n"))); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	b.WriteString("\r\n")
	return b.Bytes(), nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// headerValue makes a device's text fit one header line.
func headerValue(s string) string {
	s = validUTF8(s)
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == 0 {
			return ' '
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
