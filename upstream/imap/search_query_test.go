package imap

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"
)

// searchFixture appends four messages with known senders, subjects,
// bodies and internal dates, and returns their UIDs in order.
func searchFixture(t *testing.T, s *Session) []uint32 {
	t.Helper()
	msgs := []struct {
		from, subject, body string
		date                time.Time
	}{
		{"alice@example.test", "Quarterly report", "numbers inside", time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)},
		{"bob@example.test", "Lunch", "the report is late", time.Date(2026, 3, 5, 10, 0, 0, 0, time.UTC)},
		{"alice@example.test", "Holiday", "beach photos", time.Date(2026, 3, 9, 10, 0, 0, 0, time.UTC)},
		{"carol@example.test", "Grüße", "Straße und Brücke", time.Date(2026, 3, 12, 10, 0, 0, 0, time.UTC)},
	}
	var uids []uint32
	for _, m := range msgs {
		raw := simpleMessage(m.from, "me@example.test", m.subject, m.body)
		if m.subject == "Grüße" {
			raw = simpleMessage(m.from, "me@example.test", "=?UTF-8?Q?Gr=C3=BC=C3=9Fe?=", m.body)
		}
		uid, err := s.Append(testCtx(t), "INBOX", nil, m.date, bytes.NewReader(raw), int64(len(raw)))
		if err != nil {
			t.Fatal(err)
		}
		uids = append(uids, uid)
	}
	mustSelect(t, s, "INBOX")
	return uids
}

func datedUIDs(d []DatedUID) []uint32 {
	out := make([]uint32, len(d))
	for i, x := range d {
		out[i] = x.UID
	}
	return out
}

func checkSearchDated(t *testing.T, s *Session, uids []uint32) {
	t.Helper()
	ctx := testCtx(t)
	cases := []struct {
		name string
		q    Query
		want []uint32
	}{
		{"all", Query{}, uids},
		{"text in subject or body", Query{Text: []string{"report"}}, []uint32{uids[0], uids[1]}},
		{"two words, both needed", Query{Text: []string{"report", "late"}}, []uint32{uids[1]}},
		{"from", Query{From: []string{"alice"}}, []uint32{uids[0], uids[2]}},
		{"subject", Query{Subject: []string{"holiday"}}, []uint32{uids[2]}},
		{"body only", Query{Body: []string{"report"}}, []uint32{uids[1]}},
		{"date range", Query{Since: time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC), Before: time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)}, []uint32{uids[1], uids[2]}},
		{"or", Query{Any: []Query{{From: []string{"bob"}}, {Subject: []string{"holiday"}}, {From: []string{"carol"}}}}, []uint32{uids[1], uids[2], uids[3]}},
		{"and with or", Query{From: []string{"alice"}, Any: []Query{{Text: []string{"beach"}}, {Text: []string{"nothing-like-this"}}}}, []uint32{uids[2]}},
		{"utf-8 subject", Query{Subject: []string{"Grüße"}}, []uint32{uids[3]}},
		{"nothing", Query{Text: []string{"zzz-no-such-word"}}, nil},
	}
	for _, c := range cases {
		got, err := s.SearchDated(ctx, c.q)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if g := datedUIDs(got); !slices.Equal(g, c.want) {
			t.Errorf("%s: UIDs %v, want %v", c.name, g, c.want)
		}
		for _, d := range got {
			if d.InternalDate.IsZero() {
				t.Errorf("%s: UID %d without an internal date", c.name, d.UID)
			}
		}
	}
	got, _ := s.SearchDated(ctx, Query{From: []string{"carol"}})
	if len(got) != 1 || !got[0].InternalDate.Equal(time.Date(2026, 3, 12, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("internal date of carol's message: %+v", got)
	}
	if _, err := s.SearchDated(ctx, Query{Text: []string{"a\r\nb"}}); !errors.Is(err, ErrBadSearchTerm) || s.Broken() {
		t.Errorf("term with CRLF: %v (broken %v)", err, s.Broken())
	}
}

// TestSearchDated runs the queries against Dovecot (ESEARCH), counting
// commands.
func TestSearchDated(t *testing.T) {
	s := mustDial(t, plainConfig(t))
	uids := searchFixture(t, s)
	before := s.Stats().Commands
	if _, err := s.SearchDated(testCtx(t), Query{Text: []string{"report"}}); err != nil {
		t.Fatal(err)
	}
	if n := s.Stats().Commands - before; n != 2 {
		t.Errorf("search sent %d commands, want 2 (SEARCH, FETCH dates)", n)
	}
	checkSearchDated(t, s, uids)
	if _, err := s.SearchDated(testCtx(t), Query{}); err != nil {
		t.Fatal(err)
	}
}

// TestSearchDatedWithoutESearch reads a plain SEARCH answer on a bare
// IMAP4rev1 server.
func TestSearchDatedWithoutESearch(t *testing.T) {
	s := mustDial(t, memIMAP4rev1(t))
	uids := searchFixture(t, s)
	// go-imap's memserver matches TEXT/BODY/headers literally and has no
	// charset handling: only the ASCII cases are compared.
	ctx := testCtx(t)
	got, err := s.SearchDated(ctx, Query{From: []string{"alice"}})
	if err != nil || !slices.Equal(datedUIDs(got), []uint32{uids[0], uids[2]}) {
		t.Fatalf("from alice: %v %v", datedUIDs(got), err)
	}
	got, err = s.SearchDated(ctx, Query{Text: []string{"zzz-nothing"}})
	if err != nil || len(got) != 0 {
		t.Fatalf("no match: %v %v", got, err)
	}
}

func TestFetchHeaderFields(t *testing.T) {
	s := mustDial(t, plainConfig(t))
	uids := searchFixture(t, s)
	got, err := s.FetchHeaderFields(testCtx(t), UIDs(uids[0], uids[2]), []string{"Subject", "From"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !bytes.Contains(got[uids[0]], []byte("Subject: Quarterly report")) ||
		!bytes.Contains(got[uids[2]], []byte("From: alice@example.test")) || bytes.Contains(got[uids[0]], []byte("Message-ID")) {
		t.Errorf("header fields %v", got)
	}
	st, _ := s.FetchFlags(testCtx(t), UIDs(uids[0]), 0)
	if len(st) != 1 || slices.Contains(st[0].Flags, `\Seen`) {
		t.Errorf("flags after the header fetch %v (PEEK must not set \\Seen)", st)
	}
}
