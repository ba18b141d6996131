package imap

import (
	"errors"
	"io"
	"log"
	"net"
	"slices"
	"testing"
	"time"

	imapv2 "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// memIMAP4rev1 starts go-imap's in-memory server advertising plain
// IMAP4rev1 only: no MOVE, UIDPLUS, ESEARCH, CONDSTORE, SPECIAL-USE. It
// exercises the fallback paths Dovecot never takes.
func memIMAP4rev1(t *testing.T) Config {
	t.Helper()
	mem := imapmemserver.New()
	user := imapmemserver.NewUser("u", "p")
	if err := user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Sent Items", "Deleted Items", "Work"} {
		if err := user.Create(name, nil); err != nil {
			t.Fatal(err)
		}
	}
	mem.AddUser(user)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imapv2.CapSet{imapv2.CapIMAP4rev1: {}},
		InsecureAuth: true,
		Logger:       log.New(io.Discard, "", 0),
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return Config{Addr: l.Addr().String(), Security: SecurityNone, Username: "u", Password: "p", CommandTimeout: 10 * time.Second}
}

func TestFallbacksOnPlainIMAP4rev1(t *testing.T) {
	cfg := memIMAP4rev1(t)
	bad := cfg
	bad.Password = "x"
	if _, err := Dial(testCtx(t), bad); !errors.Is(err, ErrLoginRejected) {
		t.Fatalf("wrong password on memserver = %v, want ErrLoginRejected", err)
	}
	s := mustDial(t, cfg)
	ctx := testCtx(t)
	if c := s.Caps(); c.Move || c.UIDPlus || c.CondStore || c.ESearch {
		t.Fatalf("memserver caps %+v, want a bare IMAP4rev1", c)
	}

	folders, err := s.ListFolders(ctx)
	if err != nil {
		t.Fatalf("ListFolders: %v", err)
	}
	roles := map[string]string{}
	for _, f := range folders {
		roles[f.Name] = f.Special
	}
	if roles["Sent Items"] != SpecialSent || roles["Deleted Items"] != SpecialTrash || roles["Work"] != "" || roles["INBOX"] != SpecialInbox {
		t.Errorf("name-based roles %v", roles)
	}

	for _, subj := range []string{"a", "b", "c"} {
		mustAppend(t, s, "INBOX", simpleMessage("x@example.test", "y@example.test", subj, "x"))
	}
	mustSelect(t, s, "INBOX")
	uids, err := s.SearchUIDs(ctx, time.Time{})
	if err != nil || len(uids) != 3 {
		t.Fatalf("SearchUIDs without ESEARCH = %v, %v", uids, err)
	}
	flags, err := s.FetchFlags(ctx, AllUIDs(), 12345) // ignored without CONDSTORE
	if err != nil || len(flags) != 3 || flags[0].ModSeq != 0 {
		t.Fatalf("FetchFlags without CONDSTORE = %+v, %v", flags, err)
	}

	before := s.Stats().Commands
	if _, err := s.Move(ctx, UIDs(uids[0]), "Work"); err != nil {
		t.Fatalf("Move fallback: %v", err)
	}
	if got := s.Stats().Commands - before; got != 3 {
		t.Errorf("Move fallback counted %d commands, want 3", got)
	}
	left, err := s.SearchUIDs(ctx, time.Time{})
	if err != nil || !slices.Equal(left, uids[1:]) {
		t.Fatalf("INBOX after fallback move = %v, %v; want %v", left, err, uids[1:])
	}
	st, err := s.Status(ctx, "Work")
	if err != nil || st.Messages != 1 {
		t.Fatalf("Work after move: %+v, %v", st, err)
	}
	if err := s.Expunge(ctx, UIDs(uids[1])); err != nil {
		t.Fatalf("Expunge fallback: %v", err)
	}
	left, _ = s.SearchUIDs(ctx, time.Time{})
	if !slices.Equal(left, uids[2:]) {
		t.Fatalf("INBOX after expunge = %v, want %v", left, uids[2:])
	}
}
