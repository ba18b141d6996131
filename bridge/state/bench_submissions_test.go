package state

import (
	"bytes"
	"context"
	"strconv"
	"testing"
	"time"
)

// BenchmarkSubmissionLifecycle is what exactly-once sending adds to every
// message: a claim, the data mark before the dot, the accept (carrying the
// Sent copy when one is owed) and done.
func BenchmarkSubmissionLifecycle(b *testing.B) {
	ctx := context.Background()
	const user = "bench@example.com"
	for _, eng := range benchEngines() {
		for _, size := range []int{0, 1 << 20} {
			b.Run(eng.name+"/copy="+strconv.Itoa(size>>10)+"KiB", func(b *testing.B) {
				s := eng.open(b)
				copyBytes := bytes.Repeat([]byte("x"), size)
				if size == 0 {
					copyBytes = nil
				}
				b.ReportAllocs()
				for i := range b.N {
					rec := &Submission{Key: "c:dev:" + strconv.Itoa(i), Device: "dev", Phase: SubmissionClaimed,
						Owner: "i/a", Updated: time.Now(), Expires: time.Now().Add(24 * time.Hour)}
					r, err := s.PutSubmission(ctx, user, rec, 0)
					if err != nil {
						b.Fatal(err)
					}
					for _, step := range []struct {
						phase SubmissionPhase
						copy  []byte
					}{{SubmissionData, nil}, {SubmissionAccepted, copyBytes}, {SubmissionDone, nil}} {
						n := *r
						n.Phase, n.SentCopy = step.phase, step.copy
						if r, err = s.PutSubmission(ctx, user, &n, r.Rev); err != nil {
							b.Fatal(err)
						}
					}
				}
			})
		}
	}
}
