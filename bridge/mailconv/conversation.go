package mailconv

import (
	"crypto/sha256"
	"encoding/binary"
	"regexp"
	"strings"
	"time"
)

// conversationID derives Email2:ConversationId (MS-ASCON 2.2.2.3, 16 bytes)
// from the thread root: the first References entry, else In-Reply-To, else
// the message's own Message-ID, else the subject without reply/forward
// prefixes. A reply that carries References therefore gets the same id as
// the message it answers, with no state kept anywhere.
func conversationID(h header) []byte {
	key := ""
	if ids := msgIDs(h.get("References")); len(ids) > 0 {
		key = "mid:" + ids[0]
	} else if ids := msgIDs(h.get("In-Reply-To")); len(ids) > 0 {
		key = "mid:" + ids[0]
	} else if ids := msgIDs(h.get("Message-ID")); len(ids) > 0 {
		key = "mid:" + ids[0]
	} else {
		key = "subject:" + strings.ToLower(normalizeSubject(decodeHeaderText(h.get("Subject"))))
	}
	sum := sha256.Sum256([]byte(key))
	return sum[:16]
}

// msgIDs extracts the message ids of a References/In-Reply-To/Message-ID
// value, without angle brackets. A value without brackets counts as one id.
func msgIDs(v string) []string {
	var ids []string
	for {
		open := strings.IndexByte(v, '<')
		if open < 0 {
			break
		}
		end := strings.IndexByte(v[open:], '>')
		if end < 0 {
			break
		}
		if id := strings.TrimSpace(v[open+1 : open+end]); id != "" {
			ids = append(ids, id)
		}
		v = v[open+end+1:]
	}
	if len(ids) == 0 {
		if f := strings.Fields(v); len(f) > 0 {
			ids = append(ids, f[0])
		}
	}
	return ids
}

// conversationIndex derives Email2:ConversationIndex: the 5-byte
// Conversation Index Header of MS-ASCON 2.2.2.4, i.e. the top 40 bits of the
// FILETIME of the time the message was sent, big-endian (MS-OXOMSG 2.2.1.3).
func conversationIndex(sent time.Time) []byte {
	// FILETIME: 100 ns intervals since 1601-01-01 UTC.
	const epochDelta = 116444736000000000
	ft := uint64(sent.UnixNano()/100 + epochDelta)
	if sent.Before(time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC)) {
		ft = 0
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], ft)
	return append([]byte(nil), b[:5]...)
}

// replyPrefix matches one reply/forward prefix in the languages mail
// clients commonly emit ("Re:", "Fwd:", "AW:", "WG:", "SV:", "Re[2]:"...).
var replyPrefix = regexp.MustCompile(`(?i)^\s*(re|fwd?|aw|wg|sv|vs|tr|antw|rif|odp|vb)\s*(\[\d+\]|\(\d+\))?\s*[:：]\s*`)

// normalizeSubject removes leading reply/forward prefixes (the
// ThreadTopic / conversation topic of a subject).
func normalizeSubject(s string) string {
	for i := 0; i < 20; i++ {
		loc := replyPrefix.FindStringIndex(s)
		if loc == nil {
			break
		}
		s = s[loc[1]:]
	}
	return strings.TrimSpace(s)
}

// ConversationHeaders are the header fields ConversationID reads: the
// ones to fetch when only the conversation of a message is wanted.
var ConversationHeaders = []string{"References", "In-Reply-To", "Message-ID", "Subject"}

// ConversationID returns the Email2:ConversationId a message with this
// header block (the raw header, or just ConversationHeaders of it) gets
// in Sync, so a search by conversation compares the same bytes.
func ConversationID(rawHeader []byte) []byte {
	h, _, _ := splitHeader(rawHeader)
	return conversationID(h)
}
