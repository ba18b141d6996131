package activesync

import "github.com/idlebridge/idlebridge/activesync/wbxml"

// DefaultSyncResponseBytes is the default byte budget of one Sync answer
// (Server.MaxSyncResponseBytes). MS-ASCMD sets no bound besides the
// WindowSize in items; this one keeps a window of large messages, or many
// collections at once, from being built in memory whole. A usual window
// (100 mails of tens of KB) stays well below it.
const DefaultSyncResponseBytes = 16 << 20

func (s *Server) syncResponseBytes() int64 {
	if s.MaxSyncResponseBytes > 0 {
		return s.MaxSyncResponseBytes
	}
	return DefaultSyncResponseBytes
}

// duplicateCollection reports the first CollectionId a request names twice.
func duplicateCollection(items []*wbxml.Element) (string, bool) {
	seen := make(map[string]bool, len(items))
	for _, el := range items {
		id := el.ChildText(wbxml.AirSync, "CollectionId")
		if id == "" {
			continue // answered with its own status 4
		}
		if seen[id] {
			return id, true
		}
		seen[id] = true
	}
	return "", false
}

// resultSize is what one collection's answer counts against the budget.
func resultSize(res *SyncResult) int64 {
	var n int64
	for _, it := range res.Commands {
		n += DataSize(it.Data) + int64(len(it.ServerID)) + 8
	}
	for _, r := range res.Responses {
		n += DataSize(r.Data) + int64(len(r.ServerID)+len(r.ClientID)) + 8
	}
	return n
}

// DataSize estimates the encoded WBXML size of an element and its
// children: their text and opaque bytes plus a few bytes of tokens each.
// It is what a Syncer counts against SyncCollection.MaxBytes; it costs no
// encoding.
func DataSize(el *wbxml.Element) int64 {
	if el == nil {
		return 0
	}
	n := int64(4 + len(el.Text) + len(el.Opaque)) // tag, END, STR_I/OPAQUE framing
	for _, ch := range el.Children {
		n += DataSize(ch)
	}
	return n
}
