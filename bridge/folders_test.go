package bridge

import (
	"errors"
	"slices"
	"testing"

	"github.com/idlebridge/idlebridge/activesync"
)

func statusOf(err error) int {
	var ae *activesync.Error
	if errors.As(err, &ae) {
		return int(ae.Status)
	}
	return 0
}

func folderByName(fs []activesync.Folder, name string) (activesync.Folder, bool) {
	for _, f := range fs {
		if f.DisplayName == name {
			return f, true
		}
	}
	return activesync.Folder{}, false
}

func TestFolderSyncInitialAndIncremental(t *testing.T) {
	r := newRig(t, embeddedStore(t))
	ctx := testCtx(t)
	if err := r.other.CreateFolder(ctx, "Projects"); err != nil {
		t.Fatal(err)
	}
	if err := r.other.CreateFolder(ctx, "Projects/Alpha"); err != nil {
		t.Fatal(err)
	}
	if err := r.other.CreateFolder(ctx, "Old"); err != nil {
		t.Fatal(err)
	}
	ch, err := r.m.FolderSync(ctx, r.acct, r.device, "0")
	if err != nil {
		t.Fatalf("FolderSync 0: %v", err)
	}
	if ch.SyncKey != "1" || len(ch.Update) != 0 || len(ch.Delete) != 0 {
		t.Fatalf("initial: key %q, %d updates, %d deletes", ch.SyncKey, len(ch.Update), len(ch.Delete))
	}
	wantTypes := map[string]int{"Inbox": 2, "Drafts": 3, "Trash": 4, "Sent": 5, "Junk": 12, "Archive": 12, "Projects": 12, "Alpha": 12}
	for name, typ := range wantTypes {
		f, ok := folderByName(ch.Add, name)
		if !ok {
			t.Fatalf("folder %s missing from %+v", name, ch.Add)
		}
		if f.Type != typ {
			t.Errorf("%s: type %d, want %d", name, f.Type, typ)
		}
	}
	projects, _ := folderByName(ch.Add, "Projects")
	alpha, _ := folderByName(ch.Add, "Alpha")
	if alpha.ParentID != projects.ServerID || projects.ParentID != "0" {
		t.Errorf("parents: Alpha under %q, Projects under %q; want %q and 0", alpha.ParentID, projects.ParentID, projects.ServerID)
	}
	if slices.IndexFunc(ch.Add, func(f activesync.Folder) bool { return f.ServerID == alpha.ServerID }) <
		slices.IndexFunc(ch.Add, func(f activesync.Folder) bool { return f.ServerID == projects.ServerID }) {
		t.Error("child listed before its parent")
	}

	// Nothing changed: same key, nothing sent.
	same, err := r.m.FolderSync(ctx, r.acct, r.device, "1")
	if err != nil || same.SyncKey != "1" || len(same.Add)+len(same.Update)+len(same.Delete) != 0 {
		t.Fatalf("unchanged FolderSync: %+v, %v", same, err)
	}

	// Changes made by another client: create, rename (= delete + add),
	// delete.
	if err := r.other.CreateFolder(ctx, "Receipts"); err != nil {
		t.Fatal(err)
	}
	if err := r.other.RenameFolder(ctx, "Projects/Alpha", "Projects/Beta"); err != nil {
		t.Fatal(err)
	}
	if err := r.other.DeleteFolder(ctx, "Old"); err != nil {
		t.Fatal(err)
	}
	archive, _ := folderByName(ch.Add, "Old")
	inc, err := r.m.FolderSync(ctx, r.acct, r.device, "1")
	if err != nil {
		t.Fatalf("incremental: %v", err)
	}
	if inc.SyncKey != "2" {
		t.Errorf("key %q, want 2", inc.SyncKey)
	}
	var added []string
	for _, f := range inc.Add {
		added = append(added, f.DisplayName)
	}
	slices.Sort(added)
	if !slices.Equal(added, []string{"Beta", "Receipts"}) {
		t.Errorf("added %v, want [Beta Receipts]", added)
	}
	slices.Sort(inc.Delete)
	wantDel := []string{alpha.ServerID, archive.ServerID}
	slices.SortFunc(wantDel, func(a, b string) int {
		if idLess(a, b) {
			return -1
		}
		return 1
	})
	if !slices.Equal(sortIDs(inc.Delete), sortIDs(wantDel)) {
		t.Errorf("deleted %v, want %v", inc.Delete, wantDel)
	}
	for _, f := range inc.Add {
		if f.ServerID == alpha.ServerID || f.ServerID == archive.ServerID {
			t.Errorf("ID %s reused", f.ServerID)
		}
	}

	// The answer for key 2 was lost: key 1 again gets the same answer.
	again, err := r.m.FolderSync(ctx, r.acct, r.device, "1")
	if err != nil {
		t.Fatalf("resent key: %v", err)
	}
	if again.SyncKey != inc.SyncKey || len(again.Add) != len(inc.Add) || !slices.Equal(sortIDs(again.Delete), sortIDs(inc.Delete)) {
		t.Errorf("resent key 1: %+v, first answer %+v", again, inc)
	}
	// Key 2 now: nothing more.
	after, err := r.m.FolderSync(ctx, r.acct, r.device, "2")
	if err != nil || len(after.Add)+len(after.Update)+len(after.Delete) != 0 || after.SyncKey != "2" {
		t.Fatalf("after: %+v, %v", after, err)
	}
	// Unknown key: 9.
	if _, err := r.m.FolderSync(ctx, r.acct, r.device, "77"); statusOf(err) != 9 {
		t.Errorf("bad key: %v, want status 9", err)
	}
	// Another device of the same user sees the same IDs.
	other, err := r.m.FolderSync(ctx, r.acct, "dev2", "0")
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := folderByName(other.Add, "Projects"); f.ServerID != projects.ServerID {
		t.Errorf("dev2 Projects ID %q, dev1 %q", f.ServerID, projects.ServerID)
	}
}

func sortIDs(ids []string) []string {
	out := slices.Clone(ids)
	slices.SortFunc(out, func(a, b string) int {
		switch {
		case a == b:
			return 0
		case idLess(a, b):
			return -1
		}
		return 1
	})
	return out
}

func TestFolderCreateUpdateDelete(t *testing.T) {
	r := newRig(t, embeddedStore(t))
	ctx := testCtx(t)
	ch, err := r.m.FolderSync(ctx, r.acct, r.device, "0")
	if err != nil {
		t.Fatal(err)
	}
	inbox, _ := folderByName(ch.Add, "Inbox")
	trash, _ := folderByName(ch.Add, "Trash")

	key, id, err := r.m.FolderCreate(ctx, r.acct, r.device, ch.SyncKey, "0", "Travel", 12)
	if err != nil || key != "2" || id == "" {
		t.Fatalf("FolderCreate: key %q id %q err %v", key, id, err)
	}
	key, childID, err := r.m.FolderCreate(ctx, r.acct, r.device, key, inbox.ServerID, "Lists", 12)
	if err != nil {
		t.Fatalf("FolderCreate under Inbox: %v", err)
	}
	listed := listNames(t, r)
	if !listed["Travel"] || !listed["INBOX/Lists"] {
		t.Fatalf("IMAP does not show the new folders: %v", listed)
	}
	tests := []struct {
		name string
		call func() error
		want int
	}{
		{"create exists", func() error { _, _, err := r.m.FolderCreate(ctx, r.acct, r.device, key, "0", "Travel", 12); return err }, 2},
		{"create parent missing", func() error { _, _, err := r.m.FolderCreate(ctx, r.acct, r.device, key, "999", "X", 12); return err }, 5},
		{"create bad key", func() error { _, _, err := r.m.FolderCreate(ctx, r.acct, r.device, "55", "0", "X", 12); return err }, 9},
		{"create bad name", func() error { _, _, err := r.m.FolderCreate(ctx, r.acct, r.device, key, "0", "a/b", 12); return err }, 10},
		{"create non-UTF-8 name", func() error {
			_, _, err := r.m.FolderCreate(ctx, r.acct, r.device, key, "0", "Caf\xe9", 12)
			return err
		}, 10},
		{"update to non-UTF-8 name", func() error { _, err := r.m.FolderUpdate(ctx, r.acct, r.device, key, id, "0", "Caf\xe9"); return err }, 10},
		{"update special", func() error {
			_, err := r.m.FolderUpdate(ctx, r.acct, r.device, key, trash.ServerID, "0", "Bin")
			return err
		}, 3},
		{"update missing", func() error { _, err := r.m.FolderUpdate(ctx, r.acct, r.device, key, "999", "0", "Bin"); return err }, 4},
		{"delete special", func() error { _, err := r.m.FolderDelete(ctx, r.acct, r.device, key, inbox.ServerID); return err }, 3},
		{"delete missing", func() error { _, err := r.m.FolderDelete(ctx, r.acct, r.device, key, "999"); return err }, 4},
	}
	for _, tc := range tests {
		if got := statusOf(tc.call()); got != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, got, tc.want)
		}
	}
	// Rename keeps the ID; the device is not told again.
	key, err = r.m.FolderUpdate(ctx, r.acct, r.device, key, id, "0", "Trips")
	if err != nil {
		t.Fatalf("FolderUpdate: %v", err)
	}
	if listed := listNames(t, r); !listed["Trips"] || listed["Travel"] {
		t.Fatalf("after rename IMAP has %v", listed)
	}
	fs, err := r.m.FolderSync(ctx, r.acct, r.device, key)
	if err != nil || len(fs.Add)+len(fs.Update)+len(fs.Delete) != 0 {
		t.Fatalf("FolderSync after own edits echoes: %+v %v", fs, err)
	}
	fresh, _ := r.m.FolderSync(ctx, r.acct, "dev9", "0")
	if f, _ := folderByName(fresh.Add, "Trips"); f.ServerID != id {
		t.Errorf("renamed folder has ID %q, want %q", f.ServerID, id)
	}
	key, err = r.m.FolderDelete(ctx, r.acct, r.device, key, childID)
	if err != nil {
		t.Fatalf("FolderDelete: %v", err)
	}
	if listNames(t, r)["INBOX/Lists"] {
		t.Error("deleted folder still listed")
	}
	fs, err = r.m.FolderSync(ctx, r.acct, r.device, key)
	if err != nil || len(fs.Add)+len(fs.Update)+len(fs.Delete) != 0 {
		t.Fatalf("FolderSync after delete echoes: %+v %v", fs, err)
	}
}

func listNames(t *testing.T, r *mailRig) map[string]bool {
	t.Helper()
	fs, err := r.other.ListFolders(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, f := range fs {
		out[f.Name] = true
	}
	return out
}
