package mail

import (
	"slices"
	"testing"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/bridge/foldermap"
)

func folderNamed(fs []engine.Folder, path string) (engine.Folder, int) {
	for i, f := range fs {
		if f.Ref.Path == path {
			return f, i
		}
	}
	return engine.Folder{}, -1
}

// TestHierarchyFolders: the mailboxes as engine.Folders, in the order
// FolderSync sends (parents first), children named by their last
// component under their parent, the specials typed.
func TestHierarchyFolders(t *testing.T) {
	r := newRig(t, embeddedStore(t))
	ctx := testCtx(t)
	for _, name := range []string{"Projects", "Projects/Alpha", "Projects/Alpha/Deep"} {
		if err := r.other.CreateFolder(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	h := r.m.Hierarchy()
	fs, err := h.Folders(ctx, r.acct.Principal, engine.Client{DeviceID: r.device})
	if err != nil {
		t.Fatal(err)
	}
	inbox, _ := folderNamed(fs, "INBOX")
	if inbox.DisplayName != "Inbox" || inbox.Type != activesync.FolderInbox || inbox.Parent != (engine.Ref{}) {
		t.Errorf("INBOX: %+v", inbox)
	}
	proj, pi := folderNamed(fs, "Projects")
	alpha, ai := folderNamed(fs, "Projects/Alpha")
	deep, di := folderNamed(fs, "Projects/Alpha/Deep")
	if pi < 0 || ai < 0 || di < 0 || !(pi < ai && ai < di) {
		t.Fatalf("order: Projects %d, Alpha %d, Deep %d in %+v", pi, ai, di, fs)
	}
	if alpha.Parent != proj.Ref || deep.Parent != alpha.Ref || deep.DisplayName != "Deep" || deep.Type != activesync.FolderUserMail {
		t.Errorf("nesting: Alpha %+v, Deep %+v", alpha, deep)
	}
	// Every listed mailbox has an ID in the map.
	fm, err := foldermap.Load(ctx, r.store, r.acct.Address())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if _, ok := fm.IDOf(f.Ref); !ok {
			t.Errorf("%s has no folder ID", f.Ref.Path)
		}
	}
}

// TestHierarchyTreeEdits: a move carries the children along with their
// IDs, a delete takes the children and names them, and the refusals
// carry the statuses of MS-ASCMD 2.2.3.177.
func TestHierarchyTreeEdits(t *testing.T) {
	r := newRig(t, embeddedStore(t))
	ctx := testCtx(t)
	h, p := r.m.Hierarchy(), r.acct.Principal
	if _, err := h.Folders(ctx, p, engine.Client{}); err != nil {
		t.Fatal(err)
	}
	work, err := h.CreateFolder(ctx, p, engine.Ref{}, "Work", activesync.FolderUserGeneric)
	if err != nil || work != mailRef("Work") {
		t.Fatalf("create Work: %+v %v", work, err)
	}
	a, err := h.CreateFolder(ctx, p, work, "A", activesync.FolderUserMail)
	if err != nil || a != mailRef("Work/A") {
		t.Fatalf("create Work/A: %+v %v", a, err)
	}
	if _, err := h.CreateFolder(ctx, p, a, "B", activesync.FolderUserMail); err != nil {
		t.Fatal(err)
	}
	if _, err := h.CreateFolder(ctx, p, engine.Ref{}, "Home", activesync.FolderUserMail); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Folders(ctx, p, engine.Client{}); err != nil { // IDs for the new ones
		t.Fatal(err)
	}
	before, err := foldermap.Load(ctx, r.store, r.acct.Address())
	if err != nil {
		t.Fatal(err)
	}
	aID, bID := before.ByName["Work/A"], before.ByName["Work/A/B"]

	refusals := []struct {
		name string
		err  error
		want int
	}{
		{"create calendar type", func() error {
			_, err := h.CreateFolder(ctx, p, engine.Ref{}, "X", activesync.FolderUserCalendar)
			return err
		}(), activesync.FolderStatusBadRequest},
		{"create under a calendar", func() error {
			_, err := h.CreateFolder(ctx, p, engine.Ref{Kind: engine.KindCalendar, Path: "/cal/"}, "X", activesync.FolderUserMail)
			return err
		}(), activesync.FolderStatusParentMissing},
		{"create exists", func() error {
			_, err := h.CreateFolder(ctx, p, engine.Ref{}, "work", activesync.FolderUserMail)
			return err
		}(), activesync.FolderStatusExists},
		{"move below itself", func() error { _, err := h.MoveFolder(ctx, p, work, a, "W"); return err }(), activesync.FolderStatusBadRequest},
		{"move own parent", func() error { _, err := h.MoveFolder(ctx, p, work, work, "W"); return err }(), activesync.FolderStatusBadRequest},
		{"move special", func() error { _, err := h.MoveFolder(ctx, p, mailRef("Trash"), engine.Ref{}, "Bin"); return err }(), activesync.FolderStatusSpecial},
		{"move missing", func() error { _, err := h.MoveFolder(ctx, p, mailRef("Nope"), engine.Ref{}, "X"); return err }(), activesync.FolderStatusNotFound},
		{"delete special", func() error { _, err := h.DeleteTree(ctx, p, mailRef("INBOX")); return err }(), activesync.FolderStatusSpecial},
	}
	for _, tc := range refusals {
		if got := statusOf(tc.err); got != int(tc.want) {
			t.Errorf("%s: %v (status %d), want status %d", tc.name, tc.err, got, tc.want)
		}
	}

	// Work/A moves under Home as C: B goes along, both keep their IDs.
	moved, err := h.MoveFolder(ctx, p, a, mailRef("Home"), "C")
	if err != nil {
		t.Fatal(err)
	}
	if moved.Ref != mailRef("Home/C") || moved.Parent != mailRef("Home") || moved.DisplayName != "C" || moved.Type != activesync.FolderUserMail {
		t.Fatalf("moved: %+v", moved)
	}
	after, err := foldermap.Load(ctx, r.store, r.acct.Address())
	if err != nil {
		t.Fatal(err)
	}
	if after.ByName["Home/C"] != aID || after.ByName["Home/C/B"] != bID {
		t.Fatalf("IDs after the move: %v (A was %s, B %s)", after.ByName, aID, bID)
	}
	// A rename keeps the parent.
	if ref, err := h.RenameFolder(ctx, p, mailRef("Home/C"), "D"); err != nil || ref != mailRef("Home/D") {
		t.Fatalf("rename: %+v %v", ref, err)
	}

	// Deleting Home takes D and D/B, deepest first, all named.
	deleted, err := h.DeleteTree(ctx, p, mailRef("Home"))
	if err != nil {
		t.Fatal(err)
	}
	want := []engine.Ref{mailRef("Home/D/B"), mailRef("Home/D"), mailRef("Home")}
	if !slices.Equal(deleted, want) {
		t.Fatalf("deleted %v, want %v", deleted, want)
	}
	listed, err := r.other.ListFolders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range listed {
		if f.Name == "Home" || f.Name == "Home/D" || f.Name == "Home/D/B" {
			t.Errorf("%s still on the server", f.Name)
		}
	}
	if err := h.DeleteFolder(ctx, p, work); err != nil {
		t.Fatalf("DeleteFolder Work: %v", err)
	}
}
