package send

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"html"
	"mime"
	"regexp"
	"strings"
	"time"

	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/textproto"
)

// original is the message a SmartReply or SmartForward refers to.
type original struct {
	mailbox string
	uid     uint32
	hdr     textproto.Header
	root    *mimePart
}

// composed is what the send engine transmits and what it files in Sent.
type composed struct {
	wire []byte // without Bcc
	copy []byte // with Bcc: the user's Sent copy shows whom they Bcc'ed
}

// compose turns the device's message into the message to send. For
// SendMail it only adds what is missing (Date, Message-ID, From); the
// body bytes stay as the device sent them. For a reply or forward
// (without ReplaceMime) it extends the device's text parts with the
// original, and a forward carries the original's attachments.
//
// Decision (forward): the original's attachments are appended as parts
// of the new message, byte for byte, rather than attaching the original
// as message/rfc822: that is what a phone's user sees in the forward they
// composed, and what recipients' clients show as plain attachments.
func compose(hdr textproto.Header, body []byte, orig *original, kind string, replaceMime bool, user string, now time.Time) composed {
	var root *mimePart
	if orig != nil && !replaceMime {
		root = parseMIME(hdr, body)
		extendText(root, orig, kind)
		if kind == "SmartForward" {
			root = appendAttachments(root, attachmentsOf(orig.root))
		}
		hdr = root.hdr
	}
	// Lines too long for SMTP are re-encoded (lines.go); a message
	// without any is sent as the device wrote it.
	if root != nil {
		fitLines(root)
		hdr = root.hdr
	} else if hasLongLine(body) {
		if r := parseMIME(hdr, body); fitLines(r) {
			root, hdr = r, r.hdr
		}
	}
	fillHeader(&hdr, user, now)
	if orig != nil && kind == "SmartReply" {
		threadHeaders(&hdr, orig.hdr)
	}
	write := func(h textproto.Header) []byte {
		var b bytes.Buffer
		if root != nil {
			r := *root
			r.hdr = h
			_ = writeMIME(&b, &r)
		} else {
			_ = textproto.WriteHeader(&b, h)
			b.Write(body)
		}
		return b.Bytes()
	}
	// Bcc recipients are in the envelope only (RFC 5322 3.6.3, the
	// "removed" variant), so recipients do not learn of each other.
	wireHdr := hdr.Copy()
	wireHdr.Del("Bcc")
	return composed{wire: write(wireHdr), copy: write(hdr)}
}

// fillHeader adds Date, Message-ID and From when the device left them out
// (RFC 5322 3.6: Date and From are required; submission servers add a
// Message-ID of their own otherwise, which the Sent copy would lack).
func fillHeader(h *textproto.Header, user string, now time.Time) {
	if !h.Has("Date") {
		h.Set("Date", now.Format(time.RFC1123Z))
	}
	if !h.Has("Message-Id") {
		h.Set("Message-Id", newMessageID(user))
	}
	if !h.Has("From") {
		h.Set("From", "<"+user+">")
	}
}

func newMessageID(user string) string {
	domain := "localhost"
	if i := strings.LastIndexByte(user, '@'); i >= 0 && i < len(user)-1 {
		domain = user[i+1:]
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "<" + hex.EncodeToString(b[:]) + "@" + domain + ">"
}

// threadHeaders sets In-Reply-To and References of a reply from the
// original (RFC 5322 3.6.4) unless the device set them.
func threadHeaders(h *textproto.Header, orig textproto.Header) {
	id := strings.TrimSpace(orig.Get("Message-Id"))
	if id == "" {
		return
	}
	if !h.Has("In-Reply-To") {
		h.Set("In-Reply-To", id)
	}
	if !h.Has("References") {
		refs := strings.Join(strings.Fields(unfold(orig.Get("References"))), " ")
		if refs == "" {
			refs = strings.TrimSpace(orig.Get("In-Reply-To"))
		}
		if refs != "" {
			refs += " "
		}
		h.Set("References", refs+id)
	}
}

// extendText appends the original to the device's text parts: quoted for
// a reply ("On <date>, <from> wrote:" and "> " lines; a blockquote in
// HTML), under a "Forwarded message" block for a forward.
func extendText(root *mimePart, orig *original, kind string) {
	plain, htmlPart := bodyLeaves(root)
	oPlain, oHTML := bodyLeaves(orig.root)
	origText := ""
	switch {
	case oPlain != nil:
		origText = decodeText(oPlain)
	case oHTML != nil:
		origText = htmlToText(decodeText(oHTML))
	}
	origHTML := ""
	if oHTML != nil {
		origHTML = htmlBody(decodeText(oHTML))
	} else {
		origHTML = strings.ReplaceAll(html.EscapeString(origText), "\n", "<br>\n")
	}
	intro := introLines(orig.hdr, kind)
	if plain != nil {
		text := strings.TrimRight(decodeText(plain), "\r\n") + "\r\n\r\n" + strings.Join(intro, "\r\n") + "\r\n"
		if kind == "SmartReply" {
			text += quoteText(origText)
		} else {
			text += "\r\n" + normalizeNewlines(origText)
		}
		setText(plain, "text/plain", text)
	}
	if htmlPart != nil {
		var b strings.Builder
		b.WriteString("<div>")
		for i, l := range intro {
			if i > 0 {
				b.WriteString("<br>")
			}
			b.WriteString(html.EscapeString(l))
		}
		b.WriteString("</div>")
		if kind == "SmartReply" {
			b.WriteString(`<blockquote type="cite" style="margin:0 0 0 .8ex;border-left:1px solid #ccc;padding-left:1ex">`)
			b.WriteString(origHTML)
			b.WriteString("</blockquote>")
		} else {
			b.WriteString("<div>" + origHTML + "</div>")
		}
		setText(htmlPart, "text/html", insertBeforeBodyEnd(decodeText(htmlPart), b.String()))
	}
}

// introLines is the line(s) that introduce the original.
func introLines(h textproto.Header, kind string) []string {
	from := decodeHeader(h.Get("From"))
	date := strings.TrimSpace(h.Get("Date"))
	if kind == "SmartReply" {
		return []string{"On " + date + ", " + from + " wrote:"}
	}
	lines := []string{"---------- Forwarded message ----------", "From: " + from}
	if date != "" {
		lines = append(lines, "Date: "+date)
	}
	if s := decodeHeader(h.Get("Subject")); s != "" {
		lines = append(lines, "Subject: "+s)
	}
	if to := decodeHeader(h.Get("To")); to != "" {
		lines = append(lines, "To: "+to)
	}
	return lines
}

func decodeHeader(v string) string {
	d := mime.WordDecoder{CharsetReader: charset.Reader}
	if s, err := d.DecodeHeader(unfold(v)); err == nil {
		return strings.TrimSpace(s)
	}
	return strings.TrimSpace(unfold(v))
}

func normalizeNewlines(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\n", "\r\n")
}

// quoteText prefixes every line with "> " (">" for lines already quoted,
// as mail clients do).
func quoteText(s string) string {
	s = strings.TrimRight(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, ">") {
			b.WriteString(">" + l + "\r\n")
		} else {
			b.WriteString("> " + l + "\r\n")
		}
	}
	return b.String()
}

var (
	reBodyOpen  = regexp.MustCompile(`(?is)<body[^>]*>`)
	reBodyClose = regexp.MustCompile(`(?is)</body\s*>`)
	reDropBlock = regexp.MustCompile(`(?is)<(head|style|script)[^>]*>.*?</(head|style|script)\s*>`)
	reBreak     = regexp.MustCompile(`(?i)<(br|/p|/div|/tr|/li|/h[1-6])[^>]*>`)
	reTag       = regexp.MustCompile(`(?s)<[^>]*>`)
)

// htmlBody returns what is inside <body>, or the whole document.
func htmlBody(doc string) string {
	if loc := reBodyOpen.FindStringIndex(doc); loc != nil {
		doc = doc[loc[1]:]
	}
	if loc := reBodyClose.FindStringIndex(doc); loc != nil {
		doc = doc[:loc[0]]
	}
	return doc
}

// insertBeforeBodyEnd puts frag before </body>, or at the end.
func insertBeforeBodyEnd(doc, frag string) string {
	locs := reBodyClose.FindAllStringIndex(doc, -1)
	if len(locs) == 0 {
		return doc + frag
	}
	at := locs[len(locs)-1][0]
	return doc[:at] + frag + doc[at:]
}

// htmlToText is a rough rendering of HTML as text for quoting when the
// original has no text/plain part.
func htmlToText(doc string) string {
	doc = reDropBlock.ReplaceAllString(doc, "")
	doc = reBreak.ReplaceAllString(doc, "\n")
	doc = reTag.ReplaceAllString(doc, "")
	return strings.TrimSpace(html.UnescapeString(doc))
}
