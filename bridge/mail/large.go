package mail

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"mime"
	"net/mail"
	"strings"
	"time"

	"github.com/idlebridge/idlebridge/bridge/mailid"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

// readLarge rebuilds a large message from what the server already parsed
// (ENVELOPE and BODYSTRUCTURE) plus only its small text parts, so that a
// message of hundreds of megabytes costs a few kilobytes and cannot time
// out a Sync window. The rebuilt MIME tree mirrors the original one part
// for part, so part paths, and thus attachment FileReferences, stay those
// of the real message; attachment bodies are left empty and are fetched
// on demand by ItemOperations/GetAttachment. mailconv is told the message
// is truncated.
func (m *Engine) readLarge(ctx context.Context, s *imap.Session, sum *imap.Summary) ([]byte, error) {
	var b bytes.Buffer
	writeEnvelope(&b, sum.Envelope)
	b.WriteString("MIME-Version: 1.0\r\n")
	if err := m.writePart(ctx, s, &b, sum.UID, sum.Body); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func writeEnvelope(b *bytes.Buffer, e *imap.Envelope) {
	if e == nil {
		return
	}
	addrs := func(field string, list []imap.Address) {
		if len(list) == 0 {
			return
		}
		parts := make([]string, 0, len(list))
		for _, a := range list {
			parts = append(parts, (&mail.Address{Name: a.Name, Address: a.Email}).String())
		}
		fmt.Fprintf(b, "%s: %s\r\n", field, strings.Join(parts, ", "))
	}
	addrs("From", e.From)
	addrs("Sender", e.Sender)
	addrs("Reply-To", e.ReplyTo)
	addrs("To", e.To)
	addrs("Cc", e.Cc)
	if e.Subject != "" {
		fmt.Fprintf(b, "Subject: %s\r\n", headerSafe(mime.QEncoding.Encode("utf-8", e.Subject)))
	}
	if !e.Date.IsZero() {
		fmt.Fprintf(b, "Date: %s\r\n", e.Date.Format(time.RFC1123Z))
	}
	if e.MessageID != "" {
		fmt.Fprintf(b, "Message-ID: <%s>\r\n", headerSafe(strings.Trim(e.MessageID, "<>")))
	}
	if len(e.InReplyTo) > 0 {
		fmt.Fprintf(b, "In-Reply-To: <%s>\r\n", headerSafe(strings.Trim(e.InReplyTo[0], "<>")))
	}
}

// headerSafe drops line breaks a hostile server could use to inject
// header fields into the rebuilt message.
func headerSafe(s string) string {
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
}

// writePart writes one part's header and, for small text parts, its body
// as stored (still transfer-encoded, as the header says).
func (m *Engine) writePart(ctx context.Context, s *imap.Session, b *bytes.Buffer, uid uint32, p *imap.BodyPart) error {
	if p.Type == "multipart" {
		boundary := "ib-" + strings.ReplaceAll(mailid.FormatPartPath(p.Path), ".", "-") + "-boundary"
		params := map[string]string{"boundary": boundary}
		fmt.Fprintf(b, "Content-Type: %s\r\n\r\n", mime.FormatMediaType(p.MIMEType(), params))
		for _, c := range p.Children {
			fmt.Fprintf(b, "--%s\r\n", boundary)
			if err := m.writePart(ctx, s, b, uid, c); err != nil {
				return err
			}
			b.WriteString("\r\n")
		}
		fmt.Fprintf(b, "--%s--\r\n", boundary)
		return nil
	}
	params := maps.Clone(p.Params)
	ctype := mime.FormatMediaType(p.MIMEType(), params)
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	fmt.Fprintf(b, "Content-Type: %s\r\n", ctype)
	if p.Encoding != "" {
		fmt.Fprintf(b, "Content-Transfer-Encoding: %s\r\n", headerSafe(p.Encoding))
	}
	if p.ID != "" {
		fmt.Fprintf(b, "Content-ID: %s\r\n", headerSafe(p.ID))
	}
	if p.Disposition != "" || p.Filename != "" {
		disp := p.Disposition
		if disp == "" {
			disp = "attachment"
		}
		dp := map[string]string{}
		if p.Filename != "" {
			dp["filename"] = p.Filename
		}
		if v := mime.FormatMediaType(disp, dp); v != "" {
			fmt.Fprintf(b, "Content-Disposition: %s\r\n", v)
		}
	}
	b.WriteString("\r\n")
	isText := p.Type == "text" && (p.Subtype == "plain" || p.Subtype == "html")
	if isText && p.Disposition != "attachment" && int64(p.Size) <= m.opts.LargeMessage && len(p.Path) > 0 {
		if _, err := s.FetchSection(ctx, uid, p.Path, b); err != nil {
			return err
		}
	}
	return nil
}
