package bridge_test

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/internal/bridgetest"
)

// A folder name that is not UTF-8 is refused with FolderCreate/FolderUpdate
// Status 10 over the wire, and nothing reaches the provider (it used to be
// created mangled and answered Status 1).
func TestFolderNameNotUTF8IsRefused(t *testing.T) {
	e := bridgetest.Start(t, bridgetest.Options{})
	ctx := context.Background()
	dev := e.Device(t, "utf8dev", "16.1")
	fs, err := dev.FolderSync(ctx, "0")
	if err != nil {
		t.Fatal(err)
	}
	inbox, _ := client.FolderByType(fs.Add, 2)
	bad := "Caf\xe9 \xff\xfe"

	create := wbxml.New(wbxml.FolderHierarchy, "FolderCreate")
	create.AddText(wbxml.FolderHierarchy, "SyncKey", fs.SyncKey)
	create.AddText(wbxml.FolderHierarchy, "ParentId", "0")
	create.AddText(wbxml.FolderHierarchy, "DisplayName", bad)
	create.AddText(wbxml.FolderHierarchy, "Type", "12")
	resp, err := dev.Do(ctx, "FolderCreate", create)
	if err != nil {
		t.Fatal(err)
	}
	if st := resp.Status(); st != "10" {
		t.Fatalf("FolderCreate with a non-UTF-8 name: Status %s, want 10", st)
	}

	update := wbxml.New(wbxml.FolderHierarchy, "FolderUpdate")
	update.AddText(wbxml.FolderHierarchy, "SyncKey", fs.SyncKey)
	update.AddText(wbxml.FolderHierarchy, "ServerId", inbox.ServerID)
	update.AddText(wbxml.FolderHierarchy, "ParentId", "0")
	update.AddText(wbxml.FolderHierarchy, "DisplayName", bad)
	if resp, err = dev.Do(ctx, "FolderUpdate", update); err != nil {
		t.Fatal(err)
	}
	if st := resp.Status(); st != "10" {
		t.Fatalf("FolderUpdate with a non-UTF-8 name: Status %s, want 10", st)
	}

	folders, err := e.IMAP(t).ListFolders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range folders {
		if strings.HasPrefix(f.Name, "Caf") || !utf8.ValidString(f.Name) {
			t.Fatalf("the provider got a folder %q", f.Name)
		}
	}
	// The hierarchy key did not move: nothing was changed.
	if again, err := dev.FolderSync(ctx, fs.SyncKey); err != nil || len(again.Add)+len(again.Update)+len(again.Delete) != 0 || again.SyncKey != fs.SyncKey {
		t.Fatalf("FolderSync after the refusals: %+v %v", again, err)
	}
}
