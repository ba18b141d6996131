package mail

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/mailconv"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

// Meta keys of an Email collection's sync state. Together they describe
// the upstream mailbox as of the answer that issued the collection's newest
// key, which is what lets an incremental Sync decide "nothing changed"
// from one STATUS.
const (
	metaUIDValidity = "uidvalidity"
	metaUIDNext     = "uidnext"
	metaModSeq      = "modseq"   // HIGHESTMODSEQ basis for CHANGEDSINCE; 0: compare all flags
	metaMessages    = "messages" // MESSAGES, to notice expunges without listing UIDs
	metaFilter      = "filter"   // FilterType the window was computed with
	metaFull        = "full"     // "1": the next pass compares the whole window (fill, overflow)
)

// mailMeta is the parsed Meta of an Email collection.
type mailMeta struct {
	uidValidity uint32
	uidNext     uint32
	modSeq      uint64
	messages    uint32
	filter      int
	full        bool
	skipped     string // the skip book, encoded (skipped.go)
	drafts      string // recent draft Adds, encoded (drafts.go)
}

// FilterOf is the FilterType an Email collection's window was last
// computed with, from its Meta (the push hub's re-check plans with it).
func FilterOf(meta map[string]string) int { return parseMailMeta(meta).filter }

func parseMailMeta(m map[string]string) mailMeta {
	u32 := func(k string) uint32 {
		n, _ := strconv.ParseUint(m[k], 10, 32)
		return uint32(n)
	}
	mm := mailMeta{uidValidity: u32(metaUIDValidity), uidNext: u32(metaUIDNext), messages: u32(metaMessages)}
	mm.modSeq, _ = strconv.ParseUint(m[metaModSeq], 10, 64)
	mm.filter, _ = strconv.Atoi(m[metaFilter])
	mm.full = m[metaFull] == "1" || mm.uidValidity == 0
	mm.skipped = m[metaSkipped]
	mm.drafts = m[metaDrafts]
	return mm
}

func (mm mailMeta) encode() map[string]string {
	out := map[string]string{
		metaUIDValidity: strconv.FormatUint(uint64(mm.uidValidity), 10),
		metaUIDNext:     strconv.FormatUint(uint64(mm.uidNext), 10),
		metaModSeq:      strconv.FormatUint(mm.modSeq, 10),
		metaMessages:    strconv.FormatUint(uint64(mm.messages), 10),
		metaFilter:      strconv.Itoa(mm.filter),
	}
	if mm.full {
		out[metaFull] = "1"
	}
	if mm.skipped != "" {
		out[metaSkipped] = mm.skipped
	}
	if mm.drafts != "" {
		out[metaDrafts] = mm.drafts
	}
	return out
}

// sameUpstream reports whether st shows the mailbox exactly as mm left it.
func (mm mailMeta) sameUpstream(st imap.Status) bool {
	return st.UIDValidity == mm.uidValidity && st.UIDNext == mm.uidNext &&
		st.HighestModSeq == mm.modSeq && st.Messages == mm.messages
}

// flagSignature is the snapshot version of a message: its flags, sorted
// and lower-cased, so the same state always compares equal.
func flagSignature(flags []string) string {
	fs := make([]string, 0, len(flags))
	for _, f := range flags {
		if strings.EqualFold(f, `\Recent`) {
			continue
		}
		fs = append(fs, strings.ToLower(f))
	}
	slices.Sort(fs)
	fs = slices.Compact(fs)
	return "f:" + strings.Join(fs, " ")
}

// filterSince is the oldest internal date a FilterType lets into the
// window (MS-ASCMD 2.2.3.70.1); zero means no limit.
func filterSince(filterType int, now time.Time) time.Time {
	switch filterType {
	case 1:
		return now.AddDate(0, 0, -1)
	case 2:
		return now.AddDate(0, 0, -3)
	case 3:
		return now.AddDate(0, 0, -7)
	case 4:
		return now.AddDate(0, 0, -14)
	case 5:
		return now.AddDate(0, -1, 0)
	case 6:
		return now.AddDate(0, -3, 0)
	case 7:
		return now.AddDate(0, -6, 0)
	}
	return time.Time{}
}

// convOptions maps the front's Options onto mailconv's.
func convOptions(ver activesync.Version, o activesync.SyncOptions) mailconv.Options {
	out := mailconv.Options{Version: int(ver), MIMESupport: o.MIMESupport, MIMETruncation: o.MIMETruncation}
	for _, bp := range o.BodyPrefs {
		out.BodyPrefs = append(out.BodyPrefs, mailconv.BodyPreference{
			Type: bp.Type, TruncationSize: bp.TruncationSize, AllOrNone: bp.AllOrNone, Preview: bp.Preview,
		})
	}
	return out
}
