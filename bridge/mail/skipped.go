package mail

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/idlebridge/idlebridge/bridge/mailconv"
	"github.com/idlebridge/idlebridge/bridge/mailid"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

// A message that a Sync could not fetch or convert is not lost: it is
// not recorded as sent, its UID goes into the collection's skip book
// (Meta "skipped": "uid:attempts,..." sorted by UID) and the Meta asks the
// next pass for a whole-window comparison (full), because neither the
// "unchanged" shortcut nor the CHANGEDSINCE diff can see a message below
// the stored UIDNEXT that the device lacks. A message that fails
// MaxFetchAttempts Syncs in a row is given up: the device gets a
// placeholder Add built from the envelope (it sees that a mail exists,
// from whom and about what, and that it must read it elsewhere; a later
// ItemOperations Fetch still asks the server for the real one), the
// operator gets an ERROR line naming user, folder and UID, and the folder
// moves on. Stored state of earlier versions has no book and reads empty.

// metaSkipped is the Meta key of the skip book.
const metaSkipped = "skipped"

// maxSkipBook bounds the book: one window's worth of messages.
const maxSkipBook = 512

// skipBook maps UIDs to the number of Syncs that failed to fetch them.
type skipBook map[uint32]int

func parseSkipBook(s string) skipBook {
	b := skipBook{}
	for _, f := range strings.Split(s, ",") {
		u, n, ok := strings.Cut(f, ":")
		if !ok {
			continue
		}
		uid, err1 := strconv.ParseUint(u, 10, 32)
		cnt, err2 := strconv.Atoi(n)
		if err1 == nil && err2 == nil && uid > 0 && cnt > 0 {
			b[uint32(uid)] = cnt
		}
	}
	return b
}

// encode is canonical (sorted), so equal books give equal Meta.
func (b skipBook) encode() string {
	uids := make([]uint32, 0, len(b))
	for uid := range b {
		uids = append(uids, uid)
	}
	slices.Sort(uids)
	if len(uids) > maxSkipBook {
		uids = uids[len(uids)-maxSkipBook:] // the newest are kept
	}
	parts := make([]string, 0, len(uids))
	for _, uid := range uids {
		parts = append(parts, strconv.FormatUint(uint64(uid), 10)+":"+strconv.Itoa(b[uid]))
	}
	return strings.Join(parts, ",")
}

func (m *Engine) skipped(outcome string) {
	if m.opts.OnSkipped != nil {
		m.opts.OnSkipped(outcome)
	}
}

// placeholderNotice is the body of a given-up message.
const placeholderNotice = "idlebridge could not fetch this message from your mail server (%d attempts). " +
	"Open it in another mail client or webmail."

// placeholder is the item a given-up message is sent as: its envelope and
// a notice, marked truncated.
func (m *Engine) placeholder(folderID string, sum *imap.Summary, attempts int, opts mailconv.Options) fetchedItem {
	var b bytes.Buffer
	writeEnvelope(&b, sum.Envelope)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	fmt.Fprintf(&b, placeholderNotice+"\r\n", attempts)
	id := mailid.Item(folderID, sum.UID)
	data, _ := mailconv.ToApplicationData(b.Bytes(), mailconv.Meta{
		ServerID: id, Flags: sum.Flags, InternalDate: sum.InternalDate, Size: sum.Size, Truncated: true,
	}, opts)
	return fetchedItem{uid: sum.UID, id: id, sig: flagSignature(sum.Flags), data: data}
}
