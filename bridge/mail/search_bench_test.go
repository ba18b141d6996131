package mail

import (
	"bytes"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
)

// BenchmarkMailboxSearch10k: a mailbox Search in a 10 000-message INBOX
// on the test Dovecot (no FTS plugin: the server scans), Range 0-9 with
// a plain-text body of at most 1 KB. "subject" finds a word in 100
// subjects, "freetext" a word in every body (10 000 matches whose dates
// are fetched, ordered, cut to 10). Reports the median and p99 latency
// and the IMAP commands per search.
func BenchmarkMailboxSearch10k(b *testing.B) {
	r := newRig(b, embeddedStore(b))
	ctx := testCtx(b)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range benchMessages {
		subject := "seed " + strconv.Itoa(i)
		if i%100 == 0 {
			subject += " needle"
		}
		raw := message(subject, "body text number "+strconv.Itoa(i)+" with ordinary words")
		if _, err := r.other.Append(ctx, "INBOX", nil, start.Add(time.Duration(i)*time.Minute), bytes.NewReader(raw), int64(len(raw))); err != nil {
			b.Fatal(err)
		}
	}
	inbox := r.folderID("INBOX")
	for _, c := range []struct {
		name  string
		word  string
		total int
	}{{"subject", "needle", 100}, {"freetext", "ordinary", benchMessages}} {
		b.Run(c.name, func(b *testing.B) {
			q := &activesync.MailboxQuery{
				CollectionIDs: []string{inbox}, Criteria: activesync.MailboxCriteria{FreeText: []string{c.word}},
				RangeStart: 0, RangeEnd: 9,
				Options: activesync.SyncOptions{Version: activesync.V141, BodyPrefs: []activesync.BodyPreference{{Type: 1, TruncationSize: 1024}}},
			}
			var lat []time.Duration
			var cmds int64
			for b.Loop() {
				before := r.totalCommands()
				t0 := time.Now()
				res, err := r.m.SearchMailbox(ctx, r.acct, r.device, q)
				lat = append(lat, time.Since(t0))
				cmds = r.totalCommands() - before
				if err != nil || res.Total != c.total || len(res.Hits) != 10 {
					b.Fatalf("search: %v, total %d, %d hits", err, res.Total, len(res.Hits))
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "ms-median")
			b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds())/1000, "ms-p99")
			b.ReportMetric(float64(cmds), "imap-cmds/op")
		})
	}
}
