package engine_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/bridge/state"
)

// notes is the trivial source the engine issue asks a reviewer to be able
// to write: a fixed list of read-only items (ID → version), diffed
// against the device view. It is also the engine's own test double.
type notes struct {
	items   map[string]string
	fetched [][]string
	meta    map[string]string // the Meta its plans store
	last    *engine.Call      // the call of the last Open
}

func (n *notes) Open(_ context.Context, c *engine.Call) (engine.Job, error) {
	n.last = c
	return &notesJob{n}, nil
}

type notesJob struct{ n *notes }

func (j *notesJob) Reset(context.Context) (map[string]string, error) { return nil, nil }
func (j *notesJob) Close(error)                                      {}

func (j *notesJob) Apply(_ context.Context, cmds []activesync.SyncCommand) ([]activesync.SyncItemResponse, *state.Delta, error) {
	var out []activesync.SyncItemResponse
	for _, c := range cmds {
		out = append(out, activesync.SyncItemResponse{Kind: c.Kind, ServerID: c.ServerID, ClientID: c.ClientID, Status: activesync.SyncStatusNotFound})
	}
	return out, nil, nil
}

func (j *notesJob) Plan(ctx context.Context, v engine.View) (*engine.Plan, error) {
	have, err := v.All(ctx)
	if err != nil {
		return nil, err
	}
	p := &engine.Plan{Versions: map[string]string{}, Meta: j.n.meta}
	for id := range have {
		if _, ok := j.n.items[id]; !ok {
			p.Deletes = append(p.Deletes, id)
		}
	}
	for id, ver := range j.n.items {
		old, ok := have[id]
		switch {
		case !ok:
			p.Adds = append(p.Adds, id)
		case old != ver:
			p.Changes = append(p.Changes, id)
		default:
			continue
		}
		p.Versions[id] = ver
	}
	sort.Strings(p.Deletes)
	sort.Strings(p.Changes)
	sort.Strings(p.Adds)
	return p, nil
}

func (j *notesJob) Fetch(_ context.Context, ids []string, _ engine.Budget) ([]engine.Item, []string, bool, error) {
	j.n.fetched = append(j.n.fetched, ids)
	var out []engine.Item
	for _, id := range ids {
		if _, ok := j.n.items[id]; ok {
			out = append(out, engine.Item{ServerID: id, Data: wbxml.New("AirSync", "ApplicationData")})
		}
	}
	return out, nil, false, nil
}

func openStore(t *testing.T) state.Store {
	st, err := state.OpenEmbedded(filepath.Join(t.TempDir(), "s.db"), state.EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func kinds(res *activesync.SyncResult) []string {
	var out []string
	for _, c := range res.Commands {
		out = append(out, c.Kind+" "+c.ServerID)
	}
	return out
}

func TestEngineKeysWindowsAndResend(t *testing.T) {
	ctx := context.Background()
	e := &engine.Engine{Store: openStore(t)}
	src := &notes{items: map[string]string{"n:1": "a", "n:2": "a", "n:3": "a"}}
	call := func() *engine.Call {
		return &engine.Call{User: "u@example.com", DeviceID: "dev", CollectionID: "n"}
	}
	sync := func(key string, window int) *activesync.SyncResult {
		t.Helper()
		res, err := e.Sync(ctx, src, call(), &activesync.SyncCollection{SyncKey: key, GetChanges: true, WindowSize: window})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := sync("0", 10); res.SyncKey != "1" || len(res.Commands) != 0 {
		t.Fatalf("initial: key %s, %d commands", res.SyncKey, len(res.Commands))
	}
	r2 := sync("1", 2)
	if r2.SyncKey != "2" || !r2.MoreAvailable || !slices.Equal(kinds(r2), []string{"Add n:1", "Add n:2"}) {
		t.Fatalf("window 1: key %s more %v %v", r2.SyncKey, r2.MoreAvailable, kinds(r2))
	}
	// The answer was lost: key 1 again gives the same window under key 2.
	if r := sync("1", 2); r.SyncKey != "2" || !slices.Equal(kinds(r), kinds(r2)) {
		t.Fatalf("resend: key %s %v", r.SyncKey, kinds(r))
	}
	r3 := sync("2", 2)
	if r3.SyncKey != "3" || r3.MoreAvailable || !slices.Equal(kinds(r3), []string{"Add n:3"}) {
		t.Fatalf("window 2: key %s more %v %v", r3.SyncKey, r3.MoreAvailable, kinds(r3))
	}
	// Nothing new: the key stays.
	if r := sync("3", 2); r.SyncKey != "3" || len(r.Commands) != 0 {
		t.Fatalf("empty: key %s %v", r.SyncKey, kinds(r))
	}
	src.items["n:2"] = "b"
	delete(src.items, "n:1")
	n, err := e.Estimate(ctx, src, call(), "3")
	if err != nil || n != 2 {
		t.Fatalf("estimate = %d, %v; want 2", n, err)
	}
	if ch, err := e.HasChanges(ctx, src, call()); err != nil || !ch {
		t.Fatalf("has changes = %v, %v", ch, err)
	}
	r4 := sync("3", 10)
	if r4.SyncKey != "4" || !slices.Equal(kinds(r4), []string{"Delete n:1", "Change n:2"}) {
		t.Fatalf("changes: key %s %v", r4.SyncKey, kinds(r4))
	}
	if r := sync("4", 10); r.SyncKey != "4" || len(r.Commands) != 0 {
		t.Fatalf("after changes: key %s %v", r.SyncKey, kinds(r))
	}
	if ch, err := e.HasChanges(ctx, src, call()); err != nil || ch {
		t.Fatalf("has changes after sync = %v, %v", ch, err)
	}
	if r := sync("17", 10); r.Status != activesync.SyncStatusInvalidKey || r.SyncKey != "0" {
		t.Fatalf("bad key: status %d key %s", r.Status, r.SyncKey)
	}
	// A device command gets its response and a new key even when nothing
	// changed upstream.
	res, err := e.Sync(ctx, src, call(), &activesync.SyncCollection{SyncKey: "4", GetChanges: true, WindowSize: 10,
		Commands: []activesync.SyncCommand{{Kind: "Delete", ServerID: "n:9"}}})
	if err != nil || res.SyncKey != "5" || len(res.Responses) != 1 || res.Responses[0].Status != activesync.SyncStatusNotFound {
		t.Fatalf("command: %+v, %v", res, err)
	}
}

func TestRefEncoding(t *testing.T) {
	for _, r := range []engine.Ref{
		{Kind: engine.KindMail, Path: "INBOX"},
		{Kind: engine.KindMail, Path: "a/b:c"},
		{Kind: engine.KindCalendar, Path: "/dav/u/cal/"},
		{Kind: engine.KindContacts, Path: ""},
	} {
		if got := engine.DecodeRef(engine.EncodeRef(r)); got != r {
			t.Errorf("round trip %+v = %+v", r, got)
		}
	}
	// A folder map written before kinds: a bare mailbox name.
	if got := engine.DecodeRef("Archive/2024"); got != (engine.Ref{Kind: engine.KindMail, Path: "Archive/2024"}) {
		t.Errorf("bare name = %+v", got)
	}
}

// A window that ends within the Deletes still tells the device more is
// owed (it used to return before setting MoreAvailable).
func TestWindowEndingInDeletesSetsMoreAvailable(t *testing.T) {
	ctx := context.Background()
	e := &engine.Engine{Store: openStore(t)}
	src := &notes{items: map[string]string{"n:1": "a", "n:2": "a", "n:3": "a"}}
	call := func() *engine.Call { return &engine.Call{User: "u@example.com", DeviceID: "dev", CollectionID: "n"} }
	sync := func(key string, window int) *activesync.SyncResult {
		t.Helper()
		res, err := e.Sync(ctx, src, call(), &activesync.SyncCollection{SyncKey: key, GetChanges: true, WindowSize: window})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	sync("0", 10)
	if r := sync("1", 10); len(r.Commands) != 3 || r.MoreAvailable {
		t.Fatalf("fill: %v more %v", kinds(r), r.MoreAvailable)
	}
	src.items = map[string]string{}
	r := sync("2", 2)
	if !slices.Equal(kinds(r), []string{"Delete n:1", "Delete n:2"}) || !r.MoreAvailable {
		t.Fatalf("window of 2 over 3 deletes: %v more %v", kinds(r), r.MoreAvailable)
	}
	if r := sync(r.SyncKey, 2); !slices.Equal(kinds(r), []string{"Delete n:3"}) || r.MoreAvailable {
		t.Fatalf("the rest: %v more %v", kinds(r), r.MoreAvailable)
	}
}

// gone is a source whose collection no longer exists upstream.
type gone struct{ notes }

func (g *gone) Open(ctx context.Context, c *engine.Call) (engine.Job, error) {
	return goneJob{&notesJob{&g.notes}}, nil
}

type goneJob struct{ *notesJob }

func (goneJob) Plan(context.Context, engine.View) (*engine.Plan, error) {
	return nil, engine.ErrGone
}

// GetItemEstimate of a collection gone upstream is Status 2, and Ping
// counts it as a change (the device's Sync learns it).
func TestEstimateOfGoneCollection(t *testing.T) {
	ctx := context.Background()
	e := &engine.Engine{Store: openStore(t)}
	call := func() *engine.Call { return &engine.Call{User: "u@example.com", DeviceID: "dev", CollectionID: "n"} }
	if _, err := e.Sync(ctx, &notes{items: map[string]string{}}, call(), &activesync.SyncCollection{SyncKey: "0"}); err != nil {
		t.Fatal(err)
	}
	src := &gone{}
	_, err := e.Estimate(ctx, src, call(), "1")
	var ae *activesync.Error
	if !errors.As(err, &ae) || !ae.Command || ae.Status != activesync.EstimateStatusBadCollection {
		t.Fatalf("estimate of a gone collection: %v, want Status %d", err, activesync.EstimateStatusBadCollection)
	}
	if ch, err := e.HasChanges(ctx, src, call()); err != nil || !ch {
		t.Fatalf("has changes of a gone collection = %v, %v; want true", ch, err)
	}
}

// goneAtOpen is a source whose collection is gone before any work starts
// (a DAV folder hidden for the device, a CalDAV URL removed from the
// user file).
type goneAtOpen struct{}

func (goneAtOpen) Open(context.Context, *engine.Call) (engine.Job, error) { return nil, engine.ErrGone }

// ItemOperations Fetch of an item of a gone collection is "not found"
// (Status 6), not a server error the device would retry.
func TestFetchItemOfGoneCollection(t *testing.T) {
	e := &engine.Engine{Store: openStore(t)}
	_, err := e.FetchItem(context.Background(), goneAtOpen{}, &engine.Call{User: "u@example.com", DeviceID: "dev", CollectionID: "n"}, "n:1")
	var ae *activesync.Error
	if !errors.As(err, &ae) || !ae.Command || ae.Status != activesync.ItemOpsStatusNotFound {
		t.Fatalf("fetch from a gone collection: %v, want Status %d", err, activesync.ItemOpsStatusNotFound)
	}
}

// Responses follow the device's Commands, Fetches between edits included.
func TestEngineKeepsCommandOrder(t *testing.T) {
	ctx := context.Background()
	e := &engine.Engine{Store: openStore(t)}
	src := &notes{items: map[string]string{"n:1": "a", "n:2": "a"}}
	call := func() *engine.Call { return &engine.Call{User: "u@example.com", DeviceID: "dev", CollectionID: "n"} }
	if _, err := e.Sync(ctx, src, call(), &activesync.SyncCollection{SyncKey: "0"}); err != nil {
		t.Fatal(err)
	}
	res, err := e.Sync(ctx, src, call(), &activesync.SyncCollection{SyncKey: "1", WindowSize: 10, Commands: []activesync.SyncCommand{
		{Kind: "Delete", ServerID: "n:7"}, {Kind: "Fetch", ServerID: "n:2"}, {Kind: "Change", ServerID: "n:8"}, {Kind: "Fetch", ServerID: "n:9"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range res.Responses {
		got = append(got, fmt.Sprintf("%s %s %d", r.Kind, r.ServerID, r.Status))
	}
	want := []string{"Delete n:7 8", "Fetch n:2 1", "Change n:8 8", "Fetch n:9 8"}
	if !slices.Equal(got, want) {
		t.Fatalf("responses %v, want %v", got, want)
	}
}

// givingUp is a source that has given up on one item: Fetch returns it
// with nil Data. It also records whether Plan ran for HasChanges.
type givingUp struct {
	notes
	cached []bool
}

func (g *givingUp) Open(_ context.Context, c *engine.Call) (engine.Job, error) {
	g.cached = append(g.cached, c.Cached)
	return &givingUpJob{notesJob{&g.notes}}, nil
}

type givingUpJob struct{ notesJob }

func (j *givingUpJob) Fetch(ctx context.Context, ids []string, b engine.Budget) ([]engine.Item, []string, bool, error) {
	items, skipped, cut, err := j.notesJob.Fetch(ctx, ids, b)
	for i := range items {
		if items[i].ServerID == "n:bad" {
			items[i].Data, items[i].Version = nil, "v-bad"
		}
	}
	return items, skipped, cut, err
}

// TestEngineRecordsGivenUpItems: an item a source gave up on is never
// sent, but recorded, so the next Sync does not plan it again; and
// HasChanges asks the source to plan from cached state.
func TestEngineRecordsGivenUpItems(t *testing.T) {
	ctx := context.Background()
	e := &engine.Engine{Store: openStore(t)}
	src := &givingUp{notes: notes{items: map[string]string{"n:1": "a", "n:bad": "v-bad"}}}
	call := func() *engine.Call { return &engine.Call{User: "u@example.com", DeviceID: "dev", CollectionID: "n"} }
	sync := func(key string) *activesync.SyncResult {
		t.Helper()
		res, err := e.Sync(ctx, src, call(), &activesync.SyncCollection{SyncKey: key, GetChanges: true, WindowSize: 10})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	sync("0")
	if r := sync("1"); !slices.Equal(kinds(r), []string{"Add n:1"}) {
		t.Fatalf("first window = %v, want only n:1", kinds(r))
	}
	if r := sync("2"); len(r.Commands) != 0 {
		t.Fatalf("second window = %v, want nothing (n:bad recorded)", kinds(r))
	}
	if ch, err := e.HasChanges(ctx, src, call()); err != nil || ch {
		t.Fatalf("has changes = %v, %v", ch, err)
	}
	if last := src.cached[len(src.cached)-1]; !last {
		t.Errorf("HasChanges opened the source with Cached = false")
	}
	if src.cached[0] {
		t.Errorf("Sync opened the source with Cached = true")
	}
}

// The Supported list of the initial Sync stays with the collection, across
// Syncs whose source writes a Meta of its own; a device that sent none has
// none.
func TestEngineKeepsSupported(t *testing.T) {
	ctx := context.Background()
	e := &engine.Engine{Store: openStore(t)}
	src := &notes{items: map[string]string{"n:1": "a"}, meta: map[string]string{"notes.v": "1"}}
	call := func(coll string) *engine.Call {
		return &engine.Call{User: "u@example.com", DeviceID: "dev", CollectionID: coll}
	}
	if _, err := e.Sync(ctx, src, call("n"), &activesync.SyncCollection{SyncKey: "0", Supported: []string{"Birthday", "Picture"}}); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"1", "2", "2"} {
		if _, err := e.Sync(ctx, src, call("n"), &activesync.SyncCollection{SyncKey: key, GetChanges: true, WindowSize: 10}); err != nil {
			t.Fatal(err)
		}
		if got, ok := src.last.Supported(); !ok || !slices.Equal(got, []string{"Birthday", "Picture"}) {
			t.Fatalf("after key %s: Supported = %v, %v", key, got, ok)
		}
		if src.last.Meta()["notes.v"] == "" && key != "1" {
			t.Fatalf("the source's Meta was not stored: %v", src.last.Meta())
		}
	}
	if _, err := e.Sync(ctx, src, call("m"), &activesync.SyncCollection{SyncKey: "0", Supported: []string{}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Sync(ctx, src, call("m"), &activesync.SyncCollection{SyncKey: "1", GetChanges: true, WindowSize: 10}); err != nil {
		t.Fatal(err)
	}
	if got, ok := src.last.Supported(); !ok || len(got) != 0 {
		t.Fatalf("empty <Supported/>: %v, %v; want an empty list", got, ok)
	}
	if _, err := e.Sync(ctx, src, call("k"), &activesync.SyncCollection{SyncKey: "0"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Sync(ctx, src, call("k"), &activesync.SyncCollection{SyncKey: "1", GetChanges: true, WindowSize: 10}); err != nil {
		t.Fatal(err)
	}
	if got, ok := src.last.Supported(); ok {
		t.Fatalf("no Supported sent: got %v", got)
	}
}
