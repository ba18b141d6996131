package activesync_test

import (
	"context"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// recordingSyncer is a fake Syncer that records what the front asked and
// answers with a canned result per collection.
type recordingSyncer struct {
	*fakeBackend
	mu   sync.Mutex
	got  []activesync.SyncCollection
	next map[string]*activesync.SyncResult
}

func (r *recordingSyncer) SyncCollection(ctx context.Context, acct activesync.Account, dev string, c *activesync.SyncCollection) (*activesync.SyncResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, *c)
	if res, ok := r.next[c.CollectionID]; ok {
		return res, nil
	}
	if c.CollectionID == "404" {
		return nil, activesync.CommandStatus(8, "no such collection")
	}
	return &activesync.SyncResult{Status: 1, SyncKey: "2"}, nil
}

func (r *recordingSyncer) calls() []activesync.SyncCollection {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.got
	r.got = nil
	return out
}

func newSyncHarness(t *testing.T) (*recordingSyncer, *client.Client) {
	t.Helper()
	return newSyncHarnessWith(t, func(*activesync.Server) {})
}

func newSyncHarnessWith(t *testing.T, tune func(*activesync.Server)) (*recordingSyncer, *client.Client) {
	t.Helper()
	rs := &recordingSyncer{fakeBackend: newFakeBackend(), next: map[string]*activesync.SyncResult{}}
	s := &activesync.Server{Backend: rs, PublicURL: "https://mail.example.com"}
	tune(s)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	c := &client.Client{BaseURL: ts.URL, User: "alice@example.com", Password: "secret", DeviceID: "dev1", Version: "16.1"}
	if _, err := c.Provision(context.Background()); err != nil {
		t.Fatal(err)
	}
	return rs, c
}

func syncReq(colls ...*wbxml.Element) *wbxml.Element {
	req := wbxml.New(wbxml.AirSync, "Sync")
	cs := req.Add(wbxml.AirSync, "Collections")
	cs.Append(colls...)
	return req
}

func collection(id, key string) *wbxml.Element {
	col := wbxml.New(wbxml.AirSync, "Collection")
	col.AddText(wbxml.AirSync, "SyncKey", key)
	col.AddText(wbxml.AirSync, "CollectionId", id)
	return col
}

func TestSyncParsesCollections(t *testing.T) {
	ctx := context.Background()
	rs, c := newSyncHarness(t)
	a := collection("7", "5")
	a.AddText(wbxml.AirSync, "DeletesAsMoves", "0")
	a.Add(wbxml.AirSync, "GetChanges")
	a.AddText(wbxml.AirSync, "WindowSize", "9999")
	opt := a.Add(wbxml.AirSync, "Options")
	opt.AddText(wbxml.AirSync, "FilterType", "3")
	bp := opt.Add(wbxml.AirSyncBase, "BodyPreference")
	bp.AddText(wbxml.AirSyncBase, "Type", "2")
	bp.AddText(wbxml.AirSyncBase, "TruncationSize", "200000")
	bp.AddText(wbxml.AirSyncBase, "Preview", "9999")
	cmds := a.Add(wbxml.AirSync, "Commands")
	ch := cmds.Add(wbxml.AirSync, "Change")
	ch.AddText(wbxml.AirSync, "ServerId", "7:10")
	ch.Add(wbxml.AirSync, "ApplicationData").AddText(wbxml.Email, "Read", "1")
	cmds.Add(wbxml.AirSync, "Delete").AddText(wbxml.AirSync, "ServerId", "7:11")
	b := collection("8", "0")
	sup := b.Add(wbxml.AirSync, "Supported")
	sup.Add(wbxml.Contacts, "Birthday")
	sup.Add(wbxml.Contacts, "Picture")
	r, err := c.Do(ctx, "Sync", syncReq(a, b))
	if err != nil {
		t.Fatal(err)
	}
	got := rs.calls()
	if len(got) != 2 {
		t.Fatalf("%d collections reached the backend", len(got))
	}
	g := got[0]
	if g.CollectionID != "7" || g.SyncKey != "5" || !g.GetChanges || g.DeletesAsMoves || g.WindowSize != 512 ||
		g.Options.FilterType != 3 || len(g.Options.BodyPrefs) != 1 || g.Options.BodyPrefs[0] != (activesync.BodyPreference{Type: 2, TruncationSize: 200000, Preview: 255}) {
		t.Errorf("collection 7 parsed as %+v", g)
	}
	if len(g.Commands) != 2 || g.Commands[0].Kind != "Change" || g.Commands[0].Data.ChildText(wbxml.Email, "Read") != "1" || g.Commands[1].ServerID != "7:11" {
		t.Errorf("commands parsed as %+v", g.Commands)
	}
	if got[1].GetChanges || got[1].WindowSize != 100 || !got[1].DeletesAsMoves {
		t.Errorf("key-0 collection defaults: %+v", got[1])
	}
	if g.Supported != nil || !slices.Equal(got[1].Supported, []string{"Birthday", "Picture"}) {
		t.Errorf("Supported parsed as %v and %v", g.Supported, got[1].Supported)
	}
	cols := r.Doc.Child(wbxml.AirSync, "Collections").All(wbxml.AirSync, "Collection")
	if len(cols) != 2 || cols[0].ChildText(wbxml.AirSync, "SyncKey") != "2" || cols[0].ChildText(wbxml.AirSync, "Status") != "1" {
		t.Fatalf("response %s", r.Doc.XML())
	}
}

func TestSyncResponseShape(t *testing.T) {
	ctx := context.Background()
	rs, c := newSyncHarness(t)
	data := wbxml.New(wbxml.AirSync, "ApplicationData")
	data.AddText(wbxml.Email, "Subject", "hello")
	rs.next["7"] = &activesync.SyncResult{Status: 1, SyncKey: "3", MoreAvailable: true,
		Commands:  []activesync.SyncItem{{Kind: "Add", ServerID: "7:1", Data: data}, {Kind: "Delete", ServerID: "7:2"}},
		Responses: []activesync.SyncItemResponse{{Kind: "Add", ClientID: "c1", ServerID: "7:9", Status: 1}, {Kind: "Change", ServerID: "7:5", Status: 8}}}
	rs.next["9"] = &activesync.SyncResult{Status: 3, SyncKey: "17"}
	r, err := c.Do(ctx, "Sync", syncReq(collection("7", "2"), collection("9", "17"), collection("404", "1")))
	if err != nil {
		t.Fatal(err)
	}
	cols := r.Doc.Child(wbxml.AirSync, "Collections").All(wbxml.AirSync, "Collection")
	if len(cols) != 3 {
		t.Fatalf("response %s", r.Doc.XML())
	}
	var names []string
	for _, ch := range cols[0].Children {
		names = append(names, ch.Name)
	}
	want := []string{"SyncKey", "CollectionId", "Status", "MoreAvailable", "Commands", "Responses"}
	if len(names) != len(want) {
		t.Fatalf("collection children %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("collection children %v, want %v (MS-ASCMD order)", names, want)
		}
	}
	add := cols[0].Child(wbxml.AirSync, "Commands").Child(wbxml.AirSync, "Add")
	if add.ChildText(wbxml.AirSync, "ServerId") != "7:1" || add.Child(wbxml.AirSync, "ApplicationData").ChildText(wbxml.Email, "Subject") != "hello" {
		t.Errorf("add: %s", add.XML())
	}
	if cols[1].ChildText(wbxml.AirSync, "Status") != "3" || cols[1].ChildText(wbxml.AirSync, "SyncKey") != "0" {
		t.Errorf("invalid key must send the device back to 0: %s", cols[1].XML())
	}
	if cols[2].ChildText(wbxml.AirSync, "Status") != "8" {
		t.Errorf("unknown collection: %s", cols[2].XML())
	}
}

func TestEmptyAndPartialSync(t *testing.T) {
	ctx := context.Background()
	rs, c := newSyncHarness(t)
	// An empty Sync before any full one: status 13.
	r, err := c.Do(ctx, "Sync", nil)
	if err != nil || r.Status() != "13" {
		t.Fatalf("empty Sync without a cached request: %v %v", err, r)
	}
	a := collection("7", "4")
	a.Add(wbxml.AirSync, "Options").AddText(wbxml.AirSync, "FilterType", "5")
	cmds := a.Add(wbxml.AirSync, "Commands")
	cmds.Add(wbxml.AirSync, "Delete").AddText(wbxml.AirSync, "ServerId", "7:1")
	if _, err := c.Do(ctx, "Sync", syncReq(a, collection("8", "2"))); err != nil {
		t.Fatal(err)
	}
	rs.calls()
	// Empty: the cached request again, without its commands.
	if _, err := c.Do(ctx, "Sync", nil); err != nil {
		t.Fatal(err)
	}
	got := rs.calls()
	if len(got) != 2 || got[0].Options.FilterType != 5 || len(got[0].Commands) != 0 {
		t.Fatalf("empty Sync replayed as %+v", got)
	}
	// Partial: collection 8 with a new key; 7 carried over with its options.
	p := syncReq(collection("8", "3"))
	p.Add(wbxml.AirSync, "Partial")
	if _, err := c.Do(ctx, "Sync", p); err != nil {
		t.Fatal(err)
	}
	got = rs.calls()
	if len(got) != 2 {
		t.Fatalf("partial Sync reached %d collections", len(got))
	}
	for _, g := range got {
		switch g.CollectionID {
		case "7":
			if g.Options.FilterType != 5 {
				t.Errorf("carried collection lost its options: %+v", g)
			}
		case "8":
			if g.SyncKey != "3" {
				t.Errorf("partial collection key %q, want 3", g.SyncKey)
			}
		}
	}
}

func TestHangingSyncWithoutChangesDoesNotSpin(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, c := newSyncHarness(t)
	req := syncReq(collection("7", "2"))
	req.AddText(wbxml.AirSync, "Wait", "5")
	// With nothing to report the request is held, not answered at once.
	if _, err := c.Do(ctx, "Sync", req); err == nil {
		t.Fatal("a hanging Sync with no changes was answered at once")
	}
	bad := syncReq(collection("7", "2"))
	bad.AddText(wbxml.AirSync, "Wait", "600")
	r, err := c.Do(context.Background(), "Sync", bad)
	if err != nil || r.Status() != "14" {
		t.Fatalf("Wait out of range: %v %v, want status 14", err, r)
	}
}

// TestSyncInstanceID: a 16.x Change or Delete of one occurrence carries
// airsyncbase:InstanceId beside its ServerId (MS-ASCMD 2.2.3.24,
// 2.2.3.42.2); it reaches the backend, and a response to it names the
// instance again (MS-ASAIRS 2.2.2.25).
func TestSyncInstanceID(t *testing.T) {
	ctx := context.Background()
	rs, c := newSyncHarness(t)
	a := collection("7", "5")
	cmds := a.Add(wbxml.AirSync, "Commands")
	ch := cmds.Add(wbxml.AirSync, "Change")
	ch.AddText(wbxml.AirSync, "ServerId", "7:10")
	ch.AddText(wbxml.AirSyncBase, "InstanceId", "20260517T070000Z")
	ch.Add(wbxml.AirSync, "ApplicationData").AddText(wbxml.Calendar, "Subject", "Hill run")
	del := cmds.Add(wbxml.AirSync, "Delete")
	del.AddText(wbxml.AirSync, "ServerId", "7:10")
	del.AddText(wbxml.AirSyncBase, "InstanceId", "20260524T070000Z")
	rs.next["7"] = &activesync.SyncResult{Status: 1, SyncKey: "6",
		Responses: []activesync.SyncItemResponse{{Kind: "Delete", ServerID: "7:10", InstanceID: "20260524T070000Z", Status: 8}}}
	r, err := c.Do(ctx, "Sync", syncReq(a))
	if err != nil {
		t.Fatal(err)
	}
	got := rs.calls()
	if len(got) != 1 || len(got[0].Commands) != 2 {
		t.Fatalf("backend got %+v", got)
	}
	if cm := got[0].Commands; cm[0].InstanceID != "20260517T070000Z" || cm[1].Kind != "Delete" || cm[1].InstanceID != "20260524T070000Z" {
		t.Errorf("commands parsed as %+v", cm)
	}
	resp := r.Doc.Child(wbxml.AirSync, "Collections").Child(wbxml.AirSync, "Collection").Child(wbxml.AirSync, "Responses").Child(wbxml.AirSync, "Delete")
	if resp.ChildText(wbxml.AirSyncBase, "InstanceId") != "20260524T070000Z" || resp.ChildText(wbxml.AirSync, "Status") != "8" {
		t.Errorf("response %s", r.Doc.XML())
	}
}
