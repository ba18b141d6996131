package activesync

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Query is what the request URI and headers say about a request: the
// MS-ASHTTP URI parameters (2.2.1.1.1) merged with the headers that the
// base64 form can carry (protocol version, policy key).
type Query struct {
	Cmd             string
	User            string
	DeviceID        string
	DeviceType      string
	ProtocolVersion string // "14.1"; from the header in the plain form
	PolicyKey       uint32
	HasPolicyKey    bool
	Locale          uint16

	AttachmentName  string
	CollectionID    string
	ItemID          string
	LongID          string
	Occurrence      string
	SaveInSent      bool
	AcceptMultiPart bool
	Base64Form      bool
}

// commandCodes maps the base64 form's command code to the command name
// (MS-ASHTTP 2.2.1.1.1.1.2).
var commandCodes = [...]string{
	0: "Sync", 1: "SendMail", 2: "SmartForward", 3: "SmartReply", 4: "GetAttachment",
	9: "FolderSync", 10: "FolderCreate", 11: "FolderDelete", 12: "FolderUpdate",
	13: "MoveItems", 14: "GetItemEstimate", 15: "MeetingResponse", 16: "Search",
	17: "Settings", 18: "Ping", 19: "ItemOperations", 20: "Provision",
	21: "ResolveRecipients", 22: "ValidateCert", 23: "Find",
}

// Parameter tags of the base64 form (MS-ASHTTP 2.2.1.1.1.1.3).
const (
	paramAttachmentName = 0
	paramCollectionID   = 1
	paramItemID         = 3
	paramLongID         = 4
	paramOccurrence     = 6
	paramOptions        = 7
	paramUser           = 8

	optionSaveInSent      = 0x01
	optionAcceptMultiPart = 0x02
)

// maxQueryLen bounds the raw query so a hostile URI costs nothing.
const maxQueryLen = 4096

// ParseQuery decodes the query of an ActiveSync request URI in either form.
// header supplies MS-ASProtocolVersion, X-MS-PolicyKey and
// MS-ASAcceptMultiPart for the plain form. Errors are *QueryError.
func ParseQuery(rawQuery string, header func(string) string) (*Query, error) {
	if len(rawQuery) > maxQueryLen {
		return nil, &QueryError{"query too long"}
	}
	if rawQuery == "" {
		return nil, &QueryError{"missing query"}
	}
	// The plain form always has '=' (Cmd=...); base64 never does except as
	// padding at the very end.
	if strings.Contains(strings.TrimRight(rawQuery, "="), "=") {
		return parsePlainQuery(rawQuery, header)
	}
	return parseBase64Query(rawQuery)
}

// QueryError says why a request URI was refused (HTTP 400).
type QueryError struct{ Msg string }

func (e *QueryError) Error() string { return "activesync: bad request URI: " + e.Msg }

func parsePlainQuery(rawQuery string, header func(string) string) (*Query, error) {
	v, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, &QueryError{"malformed query"}
	}
	q := &Query{
		Cmd:            v.Get("Cmd"),
		User:           v.Get("User"),
		DeviceID:       v.Get("DeviceId"),
		DeviceType:     v.Get("DeviceType"),
		AttachmentName: v.Get("AttachmentName"),
		CollectionID:   v.Get("CollectionId"),
		ItemID:         v.Get("ItemId"),
		LongID:         v.Get("LongId"),
		Occurrence:     v.Get("Occurrence"),
	}
	// SaveInSent=T (MS-ASHTTP 2.2.1.1.1.2.6); accept the common spellings.
	switch strings.ToUpper(v.Get("SaveInSent")) {
	case "T", "TRUE", "1":
		q.SaveInSent = true
	}
	if header != nil {
		q.ProtocolVersion = strings.TrimSpace(header("MS-ASProtocolVersion"))
		if pk := strings.TrimSpace(header("X-MS-PolicyKey")); pk != "" {
			n, err := strconv.ParseUint(pk, 10, 32)
			if err != nil {
				return nil, &QueryError{"X-MS-PolicyKey is not a 32-bit number"}
			}
			q.PolicyKey, q.HasPolicyKey = uint32(n), true
		}
		q.AcceptMultiPart = strings.EqualFold(strings.TrimSpace(header("MS-ASAcceptMultiPart")), "T")
	}
	return q, q.check()
}

func parseBase64Query(rawQuery string) (*Query, error) {
	// Clients differ on padding and on URL-escaping '+', '/' and '='. The
	// value is not form-encoded: iOS and others send base64's '+' as it is
	// (MS-ASHTTP 2.2.1.1.1.1), so '+' must stay '+' and never become a
	// space; only %XX escapes are undone (PathUnescape, not QueryUnescape).
	s, err := url.PathUnescape(rawQuery)
	if err != nil {
		s = rawQuery
	}
	s = strings.TrimRight(s, "=")
	b, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		if b, err = base64.RawURLEncoding.DecodeString(s); err != nil {
			return nil, &QueryError{"neither a plain nor a base64 query"}
		}
	}
	r := byteReader{b: b}
	q := &Query{Base64Form: true}
	ver, ok1 := r.byte()
	code, ok2 := r.byte()
	loc, ok3 := r.n(2)
	if !ok1 || !ok2 || !ok3 {
		return nil, &QueryError{"base64 query truncated"}
	}
	// Protocol version is the version times ten: 141 is 14.1.
	q.ProtocolVersion = fmt.Sprintf("%d.%d", ver/10, ver%10)
	if int(code) >= len(commandCodes) || commandCodes[code] == "" {
		return nil, &QueryError{fmt.Sprintf("unknown command code %d", code)}
	}
	q.Cmd = commandCodes[code]
	q.Locale = binary.LittleEndian.Uint16(loc)
	id, ok := r.lenPrefixed()
	if !ok {
		return nil, &QueryError{"base64 query: bad device ID"}
	}
	q.DeviceID = deviceIDString(id)
	pk, ok := r.lenPrefixed()
	if !ok || (len(pk) != 0 && len(pk) != 4) {
		return nil, &QueryError{"base64 query: bad policy key"}
	}
	if len(pk) == 4 {
		q.PolicyKey, q.HasPolicyKey = binary.LittleEndian.Uint32(pk), true
	}
	dt, ok := r.lenPrefixed()
	if !ok {
		return nil, &QueryError{"base64 query: bad device type"}
	}
	q.DeviceType = string(dt)
	for !r.done() {
		tag, _ := r.byte()
		val, ok := r.lenPrefixed()
		if !ok {
			return nil, &QueryError{"base64 query: truncated parameter"}
		}
		switch tag {
		case paramAttachmentName:
			q.AttachmentName = string(val)
		case paramCollectionID:
			q.CollectionID = string(val)
		case paramItemID:
			q.ItemID = string(val)
		case paramLongID:
			q.LongID = string(val)
		case paramOccurrence:
			q.Occurrence = string(val)
		case paramOptions:
			if len(val) > 0 {
				q.SaveInSent = val[0]&optionSaveInSent != 0
				q.AcceptMultiPart = val[0]&optionAcceptMultiPart != 0
			}
		case paramUser:
			q.User = string(val)
		default:
			// Unknown tags are skipped: later protocol versions may add some.
		}
	}
	return q, q.check()
}

// deviceIDString renders the base64 form's device ID. Clients send either
// ASCII or a 16-byte GUID; the GUID is hex-encoded so IDs stay printable.
func deviceIDString(b []byte) string {
	if validDeviceID(string(b)) {
		return string(b)
	}
	return fmt.Sprintf("%X", b)
}

// validDeviceID accepts what real devices send: letters, digits and a few
// separators, at most 64 characters (the spec says 32; some clients exceed
// it). The ID becomes part of store keys, so nothing else is allowed.
func validDeviceID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func (q *Query) check() error {
	switch {
	case q.Cmd == "":
		return &QueryError{"missing Cmd"}
	case q.DeviceID == "":
		return &QueryError{"missing DeviceId"}
	case !validDeviceID(q.DeviceID):
		return &QueryError{"invalid DeviceId"}
	case len(q.DeviceType) > 64:
		return &QueryError{"DeviceType too long"}
	}
	return nil
}

type byteReader struct {
	b   []byte
	off int
}

func (r *byteReader) done() bool { return r.off >= len(r.b) }

func (r *byteReader) byte() (byte, bool) {
	if r.off >= len(r.b) {
		return 0, false
	}
	c := r.b[r.off]
	r.off++
	return c, true
}

func (r *byteReader) n(n int) ([]byte, bool) {
	if n < 0 || r.off+n > len(r.b) {
		return nil, false
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s, true
}

func (r *byteReader) lenPrefixed() ([]byte, bool) {
	l, ok := r.byte()
	if !ok {
		return nil, false
	}
	return r.n(int(l))
}
