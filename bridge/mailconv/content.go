package mailconv

// content is what a message tree holds for the Email item: the text bodies
// and the attachments, found without descending into attached messages.
type content struct {
	plain, html *entity
	attachments []*entity
	calendar    *entity // the iTIP part of an invitation (meeting.go)
}

// analyze classifies the leaves of the tree: the first text/plain and the
// first text/html that are not marked as attachments form the body; every
// other leaf (and every message/rfc822 part) is an attachment.
func analyze(t *tree) *content {
	c := &content{}
	t.root.walk(false, func(e *entity) bool {
		if e.isMultipart() {
			return true
		}
		c.noteCalendar(e)
		if !isAttachment(e) {
			switch {
			case e.mediaType == "text/plain" && c.plain == nil:
				c.plain = e
				return true
			case e.mediaType == "text/html" && c.html == nil:
				c.html = e
				return true
			}
		}
		c.attachments = append(c.attachments, e)
		return true
	})
	return c
}

// isAttachment reports whether a text part is meant as a file rather than
// as body text: Content-Disposition attachment, or a file name without an
// explicit inline disposition.
func isAttachment(e *entity) bool {
	disp, params := parseValueParams(e.hdr.get("Content-Disposition"))
	if disp == "attachment" {
		return true
	}
	if disp == "inline" {
		return false
	}
	return params["filename"] != "" || e.params["name"] != ""
}

// text returns the decoded UTF-8 text of a text part.
func (e *entity) text() string {
	raw := decodeTransfer(e.hdr.get("Content-Transfer-Encoding"), e.body)
	cs := e.params["charset"]
	if cs == "" && e.mediaType == "text/html" {
		cs = htmlDeclaredCharset(raw)
	}
	return decodeCharset(raw, cs)
}

// plainText is the body as plain text: the text/plain part, else the HTML
// rendered as text.
func (c *content) plainText() string {
	switch {
	case c.plain != nil:
		return c.plain.text()
	case c.html != nil:
		return htmlToText(c.html.text())
	}
	return ""
}

// htmlText is the body as HTML: the text/html part, else the plain text
// wrapped in HTML.
func (c *content) htmlText() string {
	switch {
	case c.html != nil:
		return rewriteMetaCharset(c.html.text())
	case c.plain != nil:
		return plainToHTML(c.plain.text())
	}
	return ""
}

// nativeType is AirSyncBase:NativeBodyType: HTML when the message has an
// HTML part, else plain.
func (c *content) nativeType() int {
	if c.html != nil {
		return BodyHTML
	}
	return BodyPlain
}
