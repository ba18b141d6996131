package imap

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/internal/testenv"
)

// BenchmarkFetchFlagsAll measures the full-mailbox flag fetch (one UID
// FETCH 1:* (UID FLAGS MODSEQ)) on a 5 000-message Dovecot INBOX.
func BenchmarkFetchFlagsAll(b *testing.B) {
	const n = 5000
	addr, pw := testenv.IMAP(b)
	cfg := Config{Addr: addr, Security: SecurityNone, Username: testenv.UniqueUser(b), Password: pw}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s, err := Dial(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for i := range n {
		raw := simpleMessage("a@example.test", "b@example.test", fmt.Sprint("m", i), "x")
		if _, err := s.Append(ctx, "INBOX", nil, time.Time{}, bytesReader(raw), int64(len(raw))); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := s.Select(ctx, "INBOX", true); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		before := s.Stats().Commands
		got, err := s.FetchFlags(ctx, AllUIDs(), 0)
		if err != nil || len(got) != n {
			b.Fatalf("FetchFlags: %d entries, %v", len(got), err)
		}
		b.ReportMetric(float64(s.Stats().Commands-before), "commands/op")
	}
}
