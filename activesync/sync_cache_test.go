package activesync_test

import (
	"context"
	"strings"
	"testing"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// TestSyncCacheKeepsOnlyWhatEmptySyncsNeed: a request carrying megabytes
// (an Add's body, and junk a device put beside the fields) leaves a cache
// of a few hundred bytes, and the empty Sync after it still has the
// collection, its options and the key the answer issued.
func TestSyncCacheKeepsOnlyWhatEmptySyncsNeed(t *testing.T) {
	ctx := context.Background()
	rs, c := newSyncHarness(t)
	big := strings.Repeat("x", 4<<20)
	a := collection("7", "4")
	a.Add(wbxml.AirSync, "Supported").AddText(wbxml.AirSync, "Class", big)
	a.AddText(wbxml.AirSync, "ConversationMode", big) // too long to be real: left out
	opt := a.Add(wbxml.AirSync, "Options")
	opt.AddText(wbxml.AirSync, "FilterType", "5")
	opt.Add(wbxml.AirSyncBase, "BodyPreference").AddText(wbxml.AirSyncBase, "Type", "2")
	opt.Add(wbxml.AirSync, "Conflict").AddText(wbxml.AirSync, "Class", big)
	add := a.Add(wbxml.AirSync, "Commands").Add(wbxml.AirSync, "Add")
	add.AddText(wbxml.AirSync, "ClientId", "c1")
	add.Add(wbxml.AirSync, "ApplicationData").AddText(wbxml.Email, "Subject", big)
	req := syncReq(a)
	req.Add(wbxml.AirSync, "Supported").AddText(wbxml.AirSync, "Class", big)
	rs.next["7"] = &activesync.SyncResult{Status: 1, SyncKey: "5"}
	if _, err := c.Do(ctx, "Sync", req); err != nil {
		t.Fatal(err)
	}
	meta := rs.device("alice@example.com", "dev1").Meta["sync.request"]
	if len(meta) > 512 {
		t.Fatalf("cached request is %d bytes, want a few hundred", len(meta))
	}
	t.Logf("cached request of a %d MiB Sync: %d bytes", 12, len(meta))
	rs.calls()
	if _, err := c.Do(ctx, "Sync", nil); err != nil {
		t.Fatal(err)
	}
	got := rs.calls()
	if len(got) != 1 || got[0].SyncKey != "5" || got[0].Options.FilterType != 5 || len(got[0].Options.BodyPrefs) != 1 || len(got[0].Commands) != 0 {
		t.Fatalf("empty Sync replayed as %+v", got)
	}
}

// TestSyncCacheOfEarlierVersionsIsRead: the cache earlier versions stored
// (the whole request minus Commands, the device's keys) still serves an
// empty Sync, and is replaced by the compact form.
func TestSyncCacheOfEarlierVersionsIsRead(t *testing.T) {
	ctx := context.Background()
	rs, c := newSyncHarness(t)
	old := collection("7", "9")
	old.AddText(wbxml.AirSync, "DeletesAsMoves", "0")
	old.Add(wbxml.AirSync, "Options").AddText(wbxml.AirSync, "FilterType", "3")
	old.Add(wbxml.AirSync, "Supported").AddText(wbxml.AirSync, "Class", strings.Repeat("y", 100000))
	prev := syncReq(old)
	prev.AddText(wbxml.AirSync, "WindowSize", "25")
	raw, err := wbxml.Encode(prev)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rs.UpdateDevice(ctx, fakeAccount("alice@example.com"), "dev1", func(d *activesync.Device) error {
		d.Meta = map[string]string{"sync.request": b64(raw)}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(ctx, "Sync", nil); err != nil {
		t.Fatal(err)
	}
	got := rs.calls()
	if len(got) != 1 || got[0].CollectionID != "7" || got[0].SyncKey != "9" || got[0].DeletesAsMoves || got[0].Options.FilterType != 3 || got[0].WindowSize != 25 {
		t.Fatalf("old cache replayed as %+v", got)
	}
	if n := len(rs.device("alice@example.com", "dev1").Meta["sync.request"]); n > 512 {
		t.Errorf("old cache not compacted: %d bytes", n)
	}
}

// TestSyncDuplicateCollectionRefused: naming one collection many times is
// a protocol error (Status 4), answered without asking the Backend.
func TestSyncDuplicateCollectionRefused(t *testing.T) {
	ctx := context.Background()
	rs, c := newSyncHarness(t)
	var cols []*wbxml.Element
	for range 40 {
		cols = append(cols, collection("7", "3"))
	}
	r, err := c.Do(ctx, "Sync", syncReq(cols...))
	if err != nil || r.Status() != "4" {
		t.Fatalf("40-fold collection: %v %v, want status 4", err, r)
	}
	if n := len(rs.calls()); n != 0 {
		t.Errorf("the backend was asked %d times", n)
	}
}

// TestSyncResponseByteBudget: each collection is handed what is left of
// the answer's byte budget; once it is spent the next ones get none.
func TestSyncResponseByteBudget(t *testing.T) {
	ctx := context.Background()
	rs, c := newSyncHarnessWith(t, func(s *activesync.Server) { s.MaxSyncResponseBytes = 10000 })
	data := wbxml.New(wbxml.AirSync, "ApplicationData")
	data.AddText(wbxml.Email, "Subject", strings.Repeat("s", 6000))
	rs.next["7"] = &activesync.SyncResult{Status: 1, SyncKey: "3", Commands: []activesync.SyncItem{{Kind: "Add", ServerID: "7:1", Data: data}}}
	rs.next["8"] = &activesync.SyncResult{Status: 1, SyncKey: "3", MoreAvailable: true,
		Commands: []activesync.SyncItem{{Kind: "Add", ServerID: "8:1", Data: data}}}
	if _, err := c.Do(ctx, "Sync", syncReq(collection("7", "2"), collection("8", "2"), collection("9", "2"))); err != nil {
		t.Fatal(err)
	}
	got := rs.calls()
	if len(got) != 3 {
		t.Fatalf("%d collections", len(got))
	}
	if got[0].MaxBytes != 10000 || !got[0].FirstItemFree {
		t.Errorf("first collection budget %d (first item free %v), want 10000, free", got[0].MaxBytes, got[0].FirstItemFree)
	}
	if got[1].MaxBytes <= 0 || got[1].MaxBytes >= 10000-6000 || got[1].FirstItemFree {
		t.Errorf("second collection budget %d (first item free %v), want what the first left, not free", got[1].MaxBytes, got[1].FirstItemFree)
	}
	if got[2].MaxBytes >= 0 {
		t.Errorf("third collection budget %d, want none left (negative)", got[2].MaxBytes)
	}
}
