package send

import (
	"errors"
	"fmt"
	"mime"
	"net/mail"
	"strings"

	"github.com/emersion/go-message/charset"
)

// maxRecipients bounds one message's envelope; submission servers refuse
// far fewer anyway (RFC 5321 4.5.3.1.8 requires only 100).
const maxRecipients = 1000

// errBadAddress is wrapped when a recipient header cannot be read.
var errBadAddress = errors.New("unreadable recipient address")

// ParseRecipients returns the envelope recipients named by address-list
// header values (To, Cc, Bcc as the device wrote them): bare addresses,
// lower-cased domain kept as written, duplicates removed (case-
// insensitively), group syntax flattened ("team: a@x, b@y;"), RFC 2047
// display names decoded and dropped. Devices sometimes separate addresses
// with ';' (Outlook style); that is accepted. An address that cannot be
// read fails the whole list: silently dropping a recipient is worse than
// refusing the message.
func ParseRecipients(values ...string) ([]string, error) {
	p := mail.AddressParser{WordDecoder: &mime.WordDecoder{CharsetReader: charset.Reader}}
	var out []string
	seen := map[string]bool{}
	for _, v := range values {
		v = unfold(v)
		if strings.TrimSpace(v) == "" {
			continue
		}
		list, err := p.ParseList(v)
		if err != nil {
			list, err = p.ParseList(semicolonsToCommas(v))
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errBadAddress, err)
		}
		for _, a := range list {
			addr := strings.TrimSpace(a.Address)
			if addr == "" || strings.ContainsAny(addr, "\r\n<>") {
				return nil, fmt.Errorf("%w: %q", errBadAddress, addr)
			}
			k := strings.ToLower(addr)
			if seen[k] {
				continue
			}
			seen[k] = true
			out = append(out, addr)
			if len(out) > maxRecipients {
				return nil, fmt.Errorf("%w: more than %d recipients", errBadAddress, maxRecipients)
			}
		}
	}
	return out, nil
}

// unfold removes header folding (RFC 5322 2.2.3).
func unfold(v string) string {
	v = strings.ReplaceAll(v, "\r\n", "")
	return strings.ReplaceAll(v, "\n", "")
}

// semicolonsToCommas turns ';' separators into ',' outside quoted strings,
// comments and angle brackets, and keeps a group's closing ';' when the
// group's ':' was seen.
func semicolonsToCommas(v string) string {
	var b strings.Builder
	quoted, escaped, inGroup := false, false, false
	depth, angle := 0, 0
	for _, r := range v {
		switch {
		case escaped:
			escaped = false
		case r == '\\' && (quoted || depth > 0):
			escaped = true
		case r == '"' && depth == 0:
			quoted = !quoted
		case quoted:
		case r == '(':
			depth++
		case r == ')' && depth > 0:
			depth--
		case depth > 0:
		case r == '<':
			angle++
		case r == '>' && angle > 0:
			angle--
		case angle > 0:
		case r == ':':
			inGroup = true
		case r == ';' && inGroup:
			inGroup = false
		case r == ';':
			r = ','
		}
		b.WriteRune(r)
	}
	return b.String()
}
