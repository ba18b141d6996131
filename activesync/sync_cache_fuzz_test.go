package activesync

import (
	"testing"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// FuzzCompactSyncRequest: whatever a device sent (or an older version
// cached), the compacted cache encodes and stays small.
func FuzzCompactSyncRequest(f *testing.F) {
	req := wbxml.New(wbxml.AirSync, "Sync")
	col := req.Add(wbxml.AirSync, "Collections").Add(wbxml.AirSync, "Collection")
	col.AddText(wbxml.AirSync, "SyncKey", "4")
	col.AddText(wbxml.AirSync, "CollectionId", "7")
	col.Add(wbxml.AirSync, "Options").Add(wbxml.AirSyncBase, "BodyPreference").AddText(wbxml.AirSyncBase, "Type", "2")
	col.Add(wbxml.AirSync, "Commands").Add(wbxml.AirSync, "Delete").AddText(wbxml.AirSync, "ServerId", "7:1")
	req.AddText(wbxml.AirSync, "WindowSize", "50")
	seed, err := wbxml.Encode(req)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, raw []byte) {
		el, err := wbxml.Decode(raw, wbxml.DefaultLimits)
		if err != nil {
			return
		}
		out := compactSyncRequest(el, map[string]string{"7": "5"})
		b, err := wbxml.Encode(out)
		if err != nil {
			t.Fatalf("compacted request does not encode: %v", err)
		}
		// Per collection: seven fields and four Options of six fields and
		// eight preferences of four, each value at most maxCachedText.
		perCol := (7 + maxCachedOptions*(6+maxCachedBodyPrefs*4)) * (maxCachedText + 8)
		if len(b) > maxSyncCollections*perCol+4096 {
			t.Fatalf("compacted request of %d bytes", len(b))
		}
	})
}
