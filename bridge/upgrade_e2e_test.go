package bridge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/internal/bridgetest"
)

// upgradeFixture is an embedded store written by the bridge at commit
// 9333469, before the sync engine, folder kinds and calendar/contacts:
// one 14.1 device, provisioned, that ran FolderSync and synced a folder
// "Fixture" of three messages in windows of two (its last answer's delta
// still pending, as a device leaves it). keys.json holds its keys.
const upgradeFixture = "testdata/upgrade-9333469"

// TestStoreFromBeforeTheEngine is issue 12's upgrade check: a bridge
// upgraded in place keeps every device's keys. The device goes on with the
// policy key, the FolderSync key and the folder's sync key the old bridge
// gave it — no Provision, no resync, nothing sent twice — and the next
// message arrives as one Add.
//
// The fixture's messages live on the Dovecot the fixture was made with, so
// the test makes the same folder here (three messages: UIDs 1-3 again) and
// re-points the one fact that cannot match, the folder's UIDVALIDITY,
// in the stored Meta; everything else is read as the old code wrote it.
func TestStoreFromBeforeTheEngine(t *testing.T) {
	var keys struct {
		User          string `json:"user"`
		Device        string `json:"device"`
		PolicyKey     uint32 `json:"policy_key"`
		FolderKey     string `json:"folder_key"`
		FolderID      string `json:"folder_id"`
		FolderSyncKey string `json:"folder_sync_key"`
		Folders       int    `json:"folders"`
	}
	b, err := os.ReadFile(filepath.Join(upgradeFixture, "keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &keys); err != nil {
		t.Fatal(err)
	}
	dbPath := filepath.Join(t.TempDir(), "idlebridge.db")
	copyFile(t, filepath.Join(upgradeFixture, "idlebridge.db"), dbPath)
	st, err := state.OpenEmbedded(dbPath, state.EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	e := bridgetest.Start(t, bridgetest.Options{Store: st, Bus: state.NewMemoryBus(), Leases: state.NewMemoryLeases(), User: keys.User})
	ctx := context.Background()

	s := e.IMAP(t)
	_ = s.DeleteFolder(ctx, "Fixture")
	if err := s.CreateFolder(ctx, "Fixture"); err != nil {
		t.Fatal(err)
	}
	for _, subj := range []string{"one", "two", "three"} {
		msg := bridgetest.Message(subj, "hello")
		if _, err := s.Append(ctx, "Fixture", nil, time.Now(), bytes.NewReader(msg), int64(len(msg))); err != nil {
			t.Fatal(err)
		}
	}
	status, err := s.Status(ctx, "Fixture")
	if err != nil {
		t.Fatal(err)
	}
	col, err := st.GetCollection(ctx, keys.User, keys.Device, keys.FolderID)
	if err != nil {
		t.Fatalf("the old folder state: %v", err)
	}
	if col.SyncKey != keys.FolderSyncKey || col.Pending.Empty() {
		t.Fatalf("fixture not as described: key %s pending %+v", col.SyncKey, col.Pending)
	}
	meta := map[string]string{}
	for k, v := range col.Meta {
		meta[k] = v
	}
	meta["uidvalidity"] = strconv.FormatUint(uint64(status.UIDValidity), 10)
	if _, err := st.Commit(ctx, keys.User, keys.Device, keys.FolderID, col.Generation, state.CommitRequest{
		SyncKey: col.SyncKey, PrevSyncKey: col.PrevSyncKey, Pending: col.Pending, Meta: meta,
	}); err != nil {
		t.Fatal(err)
	}

	dev := &client.Client{BaseURL: e.URL, User: keys.User, Password: e.Password, DeviceID: keys.Device, Version: "14.1",
		DeviceType: "TestPhone", PolicyKey: keys.PolicyKey}
	fs, err := dev.FolderSync(ctx, keys.FolderKey)
	if err != nil || fs.Status != "1" {
		t.Fatalf("FolderSync with the old key: %v %+v (a Provision or a reset here means the device lost its state)", err, fs)
	}
	if len(fs.Add)+len(fs.Update)+len(fs.Delete) != 0 || fs.SyncKey != keys.FolderKey {
		t.Fatalf("FolderSync after the upgrade sent %d adds, %d updates, %d deletes, key %s→%s; want nothing",
			len(fs.Add), len(fs.Update), len(fs.Delete), keys.FolderKey, fs.SyncKey)
	}
	r, err := dev.Sync(ctx, keys.FolderID, keys.FolderSyncKey, client.SyncOptions{WindowSize: 10})
	if err != nil || r.Status != "1" || len(r.Items) != 0 {
		t.Fatalf("Sync with the old key: %v %+v; want Status 1 and nothing resent", err, r)
	}
	key := keys.FolderSyncKey
	if r.SyncKey != "" {
		key = r.SyncKey
	}
	msg := bridgetest.Message("four", "after the upgrade")
	if _, err := s.Append(ctx, "Fixture", nil, time.Now(), bytes.NewReader(msg), int64(len(msg))); err != nil {
		t.Fatal(err)
	}
	r, err = dev.Sync(ctx, keys.FolderID, key, client.SyncOptions{WindowSize: 10})
	if err != nil || r.Status != "1" || len(r.Adds()) != 1 || r.Adds()[0].ServerID != keys.FolderID+":4" {
		t.Fatalf("the next message: %v %+v; want one Add %s:4", err, r, keys.FolderID)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}
