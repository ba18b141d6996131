package bridge

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/idlebridge/idlebridge/activesync"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata")

// TestFolderSyncGolden pins what a device receives for one mailbox tree,
// in order: the initial FolderSync (specials, nesting three deep, a child
// of the Inbox) and the incremental one after another client renamed,
// moved and deleted folders. FolderSync's answer must stay the same
// whatever package builds it, so the file was written by the code before
// the mailbox hierarchy moved into bridge/mail.
func TestFolderSyncGolden(t *testing.T) {
	r := newRig(t, embeddedStore(t))
	ctx := testCtx(t)
	for _, name := range []string{"Projects", "Projects/Alpha", "Projects/Alpha/Deep", "INBOX/Lists", "Old", "Zeta", "Zeta/One"} {
		if err := r.other.CreateFolder(ctx, name); err != nil {
			t.Fatalf("CREATE %s: %v", name, err)
		}
	}
	initial, err := r.m.FolderSync(ctx, r.acct, r.device, "0")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.other.RenameFolder(ctx, "Projects/Alpha", "Zeta/Alpha"); err != nil {
		t.Fatal(err)
	}
	if err := r.other.DeleteFolder(ctx, "Old"); err != nil {
		t.Fatal(err)
	}
	if err := r.other.CreateFolder(ctx, "Receipts"); err != nil {
		t.Fatal(err)
	}
	incremental, err := r.m.FolderSync(ctx, r.acct, r.device, initial.SyncKey)
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(struct {
		Initial, Incremental *activesync.FolderChanges
	}{initial, incremental}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "foldersync-golden.json")
	if *updateGolden {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("FolderSync answers changed:\n%s\nwant:\n%s", got, want)
	}
}
