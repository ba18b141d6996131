package imap

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestStatusAndSelect(t *testing.T) {
	s := mustDial(t, plainConfig(t))
	ctx := testCtx(t)
	empty, err := s.Status(ctx, "INBOX")
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	if empty.Messages != 0 || empty.UIDValidity == 0 || empty.UIDNext == 0 {
		t.Fatalf("empty INBOX status %+v", empty)
	}
	mustAppend(t, s, "INBOX", simpleMessage("a@example.test", "b@example.test", "one", "1"))
	mustAppend(t, s, "INBOX", simpleMessage("a@example.test", "b@example.test", "two", "2"), `\Seen`)

	st, err := s.Status(ctx, "INBOX")
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	if st.Messages != 2 || st.Unseen != 1 || st.UIDNext != empty.UIDNext+2 || st.UIDValidity != empty.UIDValidity {
		t.Errorf("status after 2 appends %+v (before %+v)", st, empty)
	}
	if st.HighestModSeq == 0 {
		t.Error("STATUS HIGHESTMODSEQ is 0 on a CONDSTORE server")
	}
	sel := mustSelect(t, s, "INBOX")
	if sel.Messages != 2 || sel.UIDNext != st.UIDNext || sel.UIDValidity != st.UIDValidity || sel.HighestModSeq != st.HighestModSeq {
		t.Errorf("select %+v, status %+v", sel, st)
	}
	if _, err := s.Select(ctx, "Nope", true); err == nil || s.Broken() {
		t.Fatalf("Select of a missing mailbox: err %v, broken %v", err, s.Broken())
	}
	if _, err := s.SearchUIDs(ctx, time.Time{}); !errors.Is(err, ErrNoMailbox) {
		t.Fatalf("SearchUIDs after failed select = %v, want ErrNoMailbox", err)
	}
}

// multipartMessage has an RFC 2047 subject and sender name and a base64
// attachment; it returns the message and the attachment's encoded body as
// IMAP must return it for BODY[2].
func multipartMessage(attachment []byte) (raw []byte, encoded string) {
	b64 := base64Lines(attachment)
	raw = []byte("From: =?ISO-8859-1?Q?J=F6rg_M=FCller?= <joerg@example.test>\r\n" +
		"To: Ann <ann@example.test>, bob@example.test\r\n" +
		"Cc: Team: carl@example.test, dora@example.test;\r\n" +
		"Subject: =?UTF-8?B?R3LDvMOfZSDwn5iA?= and more\r\n" +
		"Date: Tue, 03 Jan 2006 10:00:00 +0100\r\n" +
		"Message-ID: <mp-1@example.test>\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"BOUNDARY\"\r\n\r\n" +
		"--BOUNDARY\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello there\r\n" +
		"--BOUNDARY\r\nContent-Type: application/octet-stream; name=\"data.bin\"\r\n" +
		"Content-Disposition: attachment; filename=\"data.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		b64 + "\r\n--BOUNDARY--\r\n")
	return raw, b64
}

func base64Lines(data []byte) string {
	enc := base64Std(data)
	var lines []string
	for len(enc) > 76 {
		lines = append(lines, enc[:76])
		enc = enc[76:]
	}
	lines = append(lines, enc)
	return strings.Join(lines, "\r\n")
}

func TestAppendSearchFetchSummaries(t *testing.T) {
	s := mustDial(t, plainConfig(t))
	ctx := testCtx(t)
	attachment := bytes.Repeat([]byte{0, 1, 2, 250, 255}, 1000)
	raw, encoded := multipartMessage(attachment)
	uid1 := mustAppend(t, s, "INBOX", simpleMessage("x@example.test", "y@example.test", "plain", "hi"))
	uid2 := mustAppend(t, s, "INBOX", raw, `\Flagged`)
	if uid1 == 0 || uid2 <= uid1 {
		t.Fatalf("APPENDUID gave %d, %d", uid1, uid2)
	}
	mustSelect(t, s, "INBOX")

	uids, err := s.SearchUIDs(ctx, time.Time{})
	if err != nil || !slices.Equal(uids, []uint32{uid1, uid2}) {
		t.Fatalf("SearchUIDs = %v, %v; want [%d %d]", uids, err, uid1, uid2)
	}
	future, err := s.SearchUIDs(ctx, time.Now().Add(48*time.Hour))
	if err != nil || len(future) != 0 {
		t.Fatalf("SearchUIDs since the future = %v, %v; want none", future, err)
	}

	sums, err := s.FetchSummaries(ctx, UIDs(uid2, uid1), 0)
	if err != nil {
		t.Fatalf("FetchSummaries: %v", err)
	}
	if len(sums) != 2 || sums[0].UID != uid1 || sums[1].UID != uid2 {
		t.Fatalf("FetchSummaries returned %+v", sums)
	}
	m := sums[1]
	if !slices.Contains(m.Flags, `\Flagged`) || m.ModSeq == 0 || m.Size != int64(len(raw)) || m.InternalDate.IsZero() {
		t.Errorf("summary fields: flags %v modseq %d size %d (want %d) date %v", m.Flags, m.ModSeq, m.Size, len(raw), m.InternalDate)
	}
	e := m.Envelope
	if e == nil {
		t.Fatal("no envelope")
	}
	if e.Subject != "Grüße 😀 and more" {
		t.Errorf("subject %q", e.Subject)
	}
	if len(e.From) != 1 || e.From[0].Name != "Jörg Müller" || e.From[0].Email != "joerg@example.test" {
		t.Errorf("from %+v", e.From)
	}
	wantTo := []Address{{Name: "Ann", Email: "ann@example.test"}, {Email: "bob@example.test"}}
	if !slices.Equal(e.To, wantTo) {
		t.Errorf("to %+v, want %+v", e.To, wantTo)
	}
	if len(e.Cc) != 2 || e.Cc[0].Email != "carl@example.test" || e.Cc[1].Email != "dora@example.test" {
		t.Errorf("cc (group) %+v", e.Cc)
	}
	if e.MessageID != "mp-1@example.test" || e.Date.Unix() != time.Date(2006, 1, 3, 9, 0, 0, 0, time.UTC).Unix() {
		t.Errorf("message-id %q date %v", e.MessageID, e.Date)
	}
	b := m.Body
	if b == nil || b.MIMEType() != "multipart/mixed" || len(b.Children) != 2 {
		t.Fatalf("body %+v", b)
	}
	att := b.Children[1]
	if !slices.Equal(att.Path, []int{2}) || att.Filename != "data.bin" || att.Disposition != "attachment" || att.Encoding != "base64" {
		t.Errorf("attachment part %+v", att)
	}
	if text := b.Children[0]; text.MIMEType() != "text/plain" || !slices.Equal(text.Path, []int{1}) || text.Params["charset"] != "utf-8" {
		t.Errorf("text part %+v", text)
	}
	if p := sums[0].Body; p == nil || !slices.Equal(p.Path, []int{1}) || p.MIMEType() != "text/plain" {
		t.Errorf("single-part body %+v", p)
	}

	var sec bytes.Buffer
	n, err := s.FetchSection(ctx, uid2, att.Path, &sec)
	if err != nil {
		t.Fatalf("FetchSection: %v", err)
	}
	if n != int64(sec.Len()) || sec.String() != encoded {
		t.Fatalf("section: %d bytes, equal to what was appended: %v", n, sec.String() == encoded)
	}
	if got, _ := base64Decode(sec.String()); !bytes.Equal(got, attachment) {
		t.Fatal("decoded attachment differs")
	}
	// BINARY.SIZE: the decoded size, without transferring the part.
	if size, ok, err := s.BinarySize(ctx, uid2, att.Path); err != nil || !ok || size != int64(len(attachment)) {
		t.Fatalf("BinarySize = %d, %v, %v; want %d (Dovecot offers BINARY)", size, ok, err, len(attachment))
	}
	flags, err := s.FetchFlags(ctx, UIDs(uid2), 0)
	if err != nil || len(flags) != 1 || slices.Contains(flags[0].Flags, `\Seen`) {
		t.Fatalf("BODY.PEEK set \\Seen or failed: %+v, %v", flags, err)
	}
	if _, err := s.FetchMessage(ctx, 9999, io.Discard); !errors.Is(err, ErrNoMessage) {
		t.Fatalf("FetchMessage of a missing UID = %v, want ErrNoMessage", err)
	}
}

func TestFetchFlagsChangedSinceIsOneCommand(t *testing.T) {
	s := mustDial(t, plainConfig(t))
	ctx := testCtx(t)
	const n = 300
	for i := range n {
		mustAppend(t, s, "INBOX", simpleMessage("a@example.test", "b@example.test", fmt.Sprint("m", i), "x"))
	}
	st := mustSelect(t, s, "INBOX")

	before := s.Stats().Commands
	all, err := s.FetchFlags(ctx, AllUIDs(), 0)
	if err != nil {
		t.Fatalf("FetchFlags: %v", err)
	}
	if got := s.Stats().Commands - before; got != 1 {
		t.Errorf("FetchFlags of %d messages took %d commands, want 1", n, got)
	}
	if len(all) != n || all[0].UID != 1 || all[n-1].UID != n {
		t.Fatalf("FetchFlags returned %d entries", len(all))
	}

	if err := s.Store(ctx, UIDs(7, 150), StoreAdd, []string{`\Seen`}); err != nil {
		t.Fatalf("Store: %v", err)
	}
	before = s.Stats().Commands
	changed, err := s.FetchFlags(ctx, AllUIDs(), st.HighestModSeq)
	if err != nil {
		t.Fatalf("FetchFlags CHANGEDSINCE: %v", err)
	}
	if got := s.Stats().Commands - before; got != 1 {
		t.Errorf("incremental FetchFlags took %d commands, want 1", got)
	}
	if len(changed) != 2 || changed[0].UID != 7 || changed[1].UID != 150 {
		t.Fatalf("CHANGEDSINCE returned %+v, want UIDs 7 and 150", changed)
	}
	for _, c := range changed {
		if c.ModSeq <= st.HighestModSeq || !slices.Contains(c.Flags, `\Seen`) {
			t.Errorf("changed entry %+v (since %d)", c, st.HighestModSeq)
		}
	}
}

func TestFetchMessageStreamsLargeMessage(t *testing.T) {
	s := mustDial(t, plainConfig(t))
	ctx := testCtx(t)
	var body strings.Builder
	for body.Len() < 5<<20 {
		fmt.Fprintf(&body, "line %08d of a large message, padded to look like text.........\r\n", body.Len())
	}
	raw := simpleMessage("big@example.test", "b@example.test", "big", body.String())
	uid := mustAppend(t, s, "INBOX", raw)
	mustSelect(t, s, "INBOX")

	h := sha256.New()
	n, err := s.FetchMessage(ctx, uid, h)
	if err != nil {
		t.Fatalf("FetchMessage: %v", err)
	}
	if n != int64(len(raw)) || !bytes.Equal(h.Sum(nil), sha256Sum(raw)) {
		t.Fatalf("fetched %d bytes (want %d), hash equal: %v", n, len(raw), bytes.Equal(h.Sum(nil), sha256Sum(raw)))
	}
	// A failing writer does not break the session: the literal is drained.
	if _, err := s.FetchMessage(ctx, uid, failingWriter{}); err == nil || s.Broken() {
		t.Fatalf("FetchMessage into a failing writer: err %v, broken %v", err, s.Broken())
	}
	if err := s.Noop(ctx); err != nil {
		t.Fatalf("Noop after failed write: %v", err)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestStoreMoveExpunge(t *testing.T) {
	s := mustDial(t, plainConfig(t))
	ctx := testCtx(t)
	for i := range 4 {
		mustAppend(t, s, "INBOX", simpleMessage("a@example.test", "b@example.test", fmt.Sprint("s", i), "x"))
	}
	mustSelect(t, s, "INBOX")

	flagsOf := func(uid uint32) []string {
		t.Helper()
		fi, err := s.FetchFlags(ctx, UIDs(uid), 0)
		if err != nil || len(fi) != 1 {
			t.Fatalf("FetchFlags(%d) = %+v, %v", uid, fi, err)
		}
		return fi[0].Flags
	}
	steps := []struct {
		op    StoreOp
		flags []string
		want  []string
	}{
		{StoreAdd, []string{`\Seen`, `\Flagged`}, []string{`\Flagged`, `\Seen`}},
		{StoreRemove, []string{`\Seen`}, []string{`\Flagged`}},
		{StoreSet, []string{`\Answered`, `$Forwarded`}, []string{`$Forwarded`, `\Answered`}},
	}
	for _, st := range steps {
		if err := s.Store(ctx, UIDs(1), st.op, st.flags); err != nil {
			t.Fatalf("Store %v: %v", st.op, err)
		}
		got := flagsOf(1)
		slices.Sort(got)
		if !slices.Equal(got, st.want) {
			t.Errorf("after Store %v %v: flags %v, want %v", st.op, st.flags, got, st.want)
		}
	}

	before := s.Stats().Commands
	moved, err := s.Move(ctx, UIDs(2, 3), "Archive")
	if err != nil {
		t.Fatalf("Move: %v", err)
	}
	if s.Stats().Commands-before != 1 {
		t.Errorf("Move took %d commands with MOVE, want 1", s.Stats().Commands-before)
	}
	if len(moved) != 2 || moved[2] == 0 || moved[3] == 0 || moved[2] == moved[3] {
		t.Fatalf("Move mapping %v", moved)
	}
	uids, err := s.SearchUIDs(ctx, time.Time{})
	if err != nil || !slices.Equal(uids, []uint32{1, 4}) {
		t.Fatalf("INBOX after move: %v, %v", uids, err)
	}
	if err := s.Expunge(ctx, UIDs(4)); err != nil {
		t.Fatalf("Expunge: %v", err)
	}
	uids, err = s.SearchUIDs(ctx, time.Time{})
	if err != nil || !slices.Equal(uids, []uint32{1}) {
		t.Fatalf("INBOX after expunge: %v, %v", uids, err)
	}
	mustSelect(t, s, "Archive")
	sums, err := s.FetchSummaries(ctx, UIDs(moved[2], moved[3]), 0)
	if err != nil || len(sums) != 2 || sums[0].Envelope.Subject != "s1" || sums[1].Envelope.Subject != "s2" {
		t.Fatalf("moved messages in Archive: %+v, %v", sums, err)
	}
}
