package foldermap

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/internal/testenv"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

func stores(t *testing.T) map[string]state.Store {
	t.Helper()
	emb, err := state.OpenEmbedded(filepath.Join(t.TempDir(), "s.db"), state.EmbeddedOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emb.Close() })
	client, err := state.OpenRedisClient(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	rs := state.NewRedisStore(client, state.RedisOptions{OwnClient: true})
	t.Cleanup(func() { _ = rs.Close() })
	return map[string]state.Store{"embedded": emb, "redis": rs}
}

func listed(names ...string) []imap.Folder {
	out := make([]imap.Folder, len(names))
	for i, n := range names {
		out[i] = imap.Folder{Name: n}
	}
	return out
}

// TestMapKeepsIDs: IDs survive a reconcile, a rename moves the inferiors
// with their IDs, a dropped folder's ID is never handed out again, and a
// class's reconcile leaves mail (and other kinds) alone.
func TestMapKeepsIDs(t *testing.T) {
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			user := testenv.UniqueUser(t)
			fm, err := ReconcileMail(ctx, st, user, listed("INBOX", "Projects", "Projects/Alpha", "Old"))
			if err != nil {
				t.Fatal(err)
			}
			inbox, alpha, old := fm.ByName["INBOX"], fm.ByName["Projects/Alpha"], fm.ByName["Old"]
			if len(fm.ByID) != 4 || inbox == "" || alpha == "" || old == "" {
				t.Fatalf("first reconcile: %v", fm.ByID)
			}

			// A device renames Projects: Projects/Alpha moves with it.
			if _, err := Update(ctx, st, user, func(fm *Map) *state.Delta {
				d := &state.Delta{Set: map[string]string{}}
				fm.Rename("Projects", "Work", '/', d)
				return d
			}); err != nil {
				t.Fatal(err)
			}
			if mb, ok, err := MailboxOf(ctx, st, user, alpha); err != nil || !ok || mb != "Work/Alpha" {
				t.Fatalf("renamed inferior: %q %v %v", mb, ok, err)
			}

			// Old disappears upstream, then comes back: a new ID.
			if _, err := ReconcileMail(ctx, st, user, listed("INBOX", "Work", "Work/Alpha")); err != nil {
				t.Fatal(err)
			}
			if _, ok, err := MailboxOf(ctx, st, user, old); err != nil || ok {
				t.Fatalf("dropped folder still resolves: %v %v", ok, err)
			}
			cal := engine.Ref{Kind: engine.KindCalendar, Path: "/dav/cal/"}
			fm, err = ReconcileKinds(ctx, st, user, []engine.Kind{engine.KindCalendar, engine.KindMail}, []engine.Ref{cal, {Kind: engine.KindMail, Path: "Intruder"}})
			if err != nil {
				t.Fatal(err)
			}
			calID := fm.ByRef[cal]
			if calID == "" || fm.ByName["Intruder"] != "" || fm.ByName["INBOX"] != inbox {
				t.Fatalf("class reconcile: refs %v, mail %v", fm.Refs, fm.ByName)
			}
			fm, err = ReconcileMail(ctx, st, user, listed("INBOX", "Work", "Work/Alpha", "Old"))
			if err != nil {
				t.Fatal(err)
			}
			if again := fm.ByName["Old"]; again == "" || again == old || again == calID {
				t.Fatalf("Old came back as %q (was %q, calendar %q): IDs must never be reused", again, old, calID)
			}
			if r, ok, err := RefOf(ctx, st, user, calID); err != nil || !ok || r != cal {
				t.Fatalf("mail reconcile touched the calendar: %+v %v %v", r, ok, err)
			}
			if _, ok, err := MailboxOf(ctx, st, user, calID); err != nil || ok {
				t.Fatalf("a calendar resolved as a mailbox: %v %v", ok, err)
			}
			// IDOf finds both kinds, a mailbox by name.
			if id, ok := fm.IDOf(engine.Ref{Kind: engine.KindMail, Path: "INBOX"}); !ok || id != inbox {
				t.Fatalf("IDOf INBOX: %q %v, want %q", id, ok, inbox)
			}
			if id, ok := fm.IDOf(cal); !ok || id != calID {
				t.Fatalf("IDOf calendar: %q %v, want %q", id, ok, calID)
			}
			if _, ok := fm.IDOf(engine.Ref{Kind: engine.KindCalendar, Path: "INBOX"}); ok {
				t.Fatal("IDOf found a calendar by a mailbox's name")
			}
		})
	}
}
