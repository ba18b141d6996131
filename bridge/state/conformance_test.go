package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"
)

// harness lets the conformance suite run against any engine.
type harness struct {
	// newEnv prepares empty data for one test; ttl is the device TTL of
	// every store opened on it (0 = default).
	newEnv func(t *testing.T, ttl time.Duration) *engineEnv
	// versionsInMemory: the engine's version records do not outlive the
	// store value (the embedded engine, embedded_versions.go).
	versionsInMemory bool
}

// engineEnv is one test's data and the engine-specific operations on it.
type engineEnv struct {
	// open opens a store on the env's data. The test closes it (or the
	// cleanup does); opening again after Close sees the same data.
	open func(t *testing.T) Store
	// restart simulates a restart of the backing server while no store is
	// open (the private redis-server is stopped and started; nothing for
	// the embedded engine, whose "server" is the file).
	restart func(t *testing.T)
	// expire makes every device idle for longer than the TTL disappear
	// (embedded: Sweep in the future; Redis: wait for the keys' TTL).
	expire func(t *testing.T, s Store)
	// user returns a user name no other test uses.
	user func(t *testing.T) string
}

// openT opens a store and closes it at cleanup (Close twice is harmless
// for the suite: errors of a second Close are ignored).
func (e *engineEnv) openT(t *testing.T) Store {
	t.Helper()
	s := e.open(t)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func runConformance(t *testing.T, h harness) {
	cases := []struct {
		name string
		run  func(t *testing.T, h harness)
	}{
		{"DeviceCRUD", testDeviceCRUD},
		{"UpdateDeviceErrorWritesNothing", testUpdateDeviceError},
		{"ReturnedValuesAreCopies", testCopies},
		{"ListOrder", testListOrder},
		{"DeleteDeviceRemovesSyncState", testDeleteDeviceRemovesSync},
		{"GetCollectionNotFound", testCollectionNotFound},
		{"CommitCAS", testCommitCAS},
		{"CommitApplyPending", testApplyPending},
		{"ApplyAfterPending", testApplyAfterPending},
		{"DelAfterSet", testDelAfterSet},
		{"NilMetaKeepsMeta", testNilMeta},
		{"SnapshotGet", testSnapshotGet},
		{"ResetCollection", testReset},
		{"EmptyServerIDRejected", testEmptyServerID},
		{"LargeSnapshot", testLargeSnapshot},
		{"ConcurrentCommit", testConcurrentCommit},
		{"ConcurrentUpdateDevice", testConcurrentUpdateDevice},
		{"Restart", testRestart},
		{"Expiry", testExpiry},
		{"UserScopeIsNoDevice", testUserScope},
		{"SubmissionCAS", testSubmissionCAS},
		{"SubmissionIsolationAndList", testSubmissionList},
		{"SubmissionRetention", testSubmissionRetention},
		{"SubmissionRestart", testSubmissionRestart},
		{"SubmissionConcurrentClaim", testSubmissionConcurrentClaim},
		{"Watches", testWatches},
		{"Versions", testVersions},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, h) })
	}
}

// --- helpers ---------------------------------------------------------------

var tctx = context.Background()

// sameJSON fails unless got and want encode to the same JSON: the store's
// notion of equality (times compare by instant, nil and empty maps alike).
func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if string(g) != string(w) {
		t.Fatalf("%s:\n got  %s\n want %s", what, g, w)
	}
}

func sameMap(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !maps.Equal(got, want) {
		t.Fatalf("%s:\n got  %v\n want %v", what, got, want)
	}
}

func mustSnapshot(t *testing.T, s Store, user, dev, coll string) map[string]string {
	t.Helper()
	m, err := s.Snapshot(tctx, user, dev, coll)
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	return m
}

func mustCommit(t *testing.T, s Store, user, dev, coll string, gen uint64, req CommitRequest) *Collection {
	t.Helper()
	c, err := s.Commit(tctx, user, dev, coll, gen, req)
	if err != nil {
		t.Fatalf("Commit(gen %d): %v", gen, err)
	}
	if c.Generation != gen+1 {
		t.Fatalf("Commit returned generation %d, want %d", c.Generation, gen+1)
	}
	return c
}

func mustCollection(t *testing.T, s Store, user, dev, coll string) *Collection {
	t.Helper()
	c, err := s.GetCollection(tctx, user, dev, coll)
	if err != nil {
		t.Fatalf("GetCollection(%q): %v", coll, err)
	}
	return c
}

func mustUpdate(t *testing.T, s Store, user, dev string, fn func(*Device)) *Device {
	t.Helper()
	d, err := s.UpdateDevice(tctx, user, dev, func(d *Device) error { fn(d); return nil })
	if err != nil {
		t.Fatalf("UpdateDevice: %v", err)
	}
	return d
}

func deviceIDs(ds []*Device) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

// fixedTime is a timestamp that survives JSON without losing anything.
func fixedTime(sec int64) time.Time { return time.Unix(sec, 0).UTC() }

// --- cases -----------------------------------------------------------------

func testDeviceCRUD(t *testing.T, h harness) {
	env := h.newEnv(t, 0)
	s := env.openT(t)
	u := env.user(t)

	if _, err := s.GetDevice(tctx, u, "phone1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetDevice of unknown device: err = %v, want ErrNotFound", err)
	}
	want := &Device{
		User: u, ID: "phone1", Type: "iPhone", UserAgent: "Apple-iPhone/2101.1", ProtocolVersion: "16.1",
		Info:      map[string]string{"Model": "iPhone15,2", "OS": "iOS 17.4"},
		PolicyKey: 3942, PendingPolicyKey: 77, Wipe: WipeRequested, WipeRequested: fixedTime(1700000100),
		FirstSeen: fixedTime(1700000000), LastSeen: fixedTime(1700000200),
		Meta: map[string]string{"ping.folders": "1,2,7"},
	}
	var seen *Device
	got := mustUpdate(t, s, u, "phone1", func(d *Device) {
		seen = cloneDevice(d)
		*d = *cloneDevice(want)
	})
	sameJSON(t, "fn's view of a new device", seen, &Device{User: u, ID: "phone1"})
	if !seen.FirstSeen.IsZero() {
		t.Fatal("new device has FirstSeen set")
	}
	sameJSON(t, "UpdateDevice result", got, want)
	read, err := s.GetDevice(tctx, u, "phone1")
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "GetDevice after create", read, want)

	// A second update sees the stored record; fn cannot move the device.
	got = mustUpdate(t, s, u, "phone1", func(d *Device) {
		seen = cloneDevice(d)
		d.PolicyKey = 4000
		d.ID, d.User = "other", "someone"
	})
	sameJSON(t, "fn's view of an existing device", seen, want)
	want.PolicyKey = 4000
	sameJSON(t, "after second update", got, want)
	if _, err := s.GetDevice(tctx, u, "other"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("fn renamed the device: GetDevice(other) err = %v", err)
	}

	if err := s.DeleteDevice(tctx, u, "phone1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetDevice(tctx, u, "phone1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetDevice after delete: err = %v, want ErrNotFound", err)
	}
	if err := s.DeleteDevice(tctx, u, "phone1"); err != nil {
		t.Fatalf("deleting an unknown device: %v", err)
	}
	if err := s.Ping(tctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func testUpdateDeviceError(t *testing.T, h harness) {
	env := h.newEnv(t, 0)
	s := env.openT(t)
	u := env.user(t)
	boom := errors.New("boom")

	// On a new device: nothing is created, not even the user.
	_, err := s.UpdateDevice(tctx, u, "new", func(d *Device) error {
		d.Type = "x"
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want fn's error", err)
	}
	if _, err := s.GetDevice(tctx, u, "new"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("failed update created the device: %v", err)
	}
	users, err := s.ListUsers(tctx)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(users, u) {
		t.Fatal("failed update listed the user")
	}

	// On an existing device: the record is unchanged.
	want := mustUpdate(t, s, u, "d1", func(d *Device) { d.Type = "Android"; d.Meta = map[string]string{"a": "1"} })
	_, err = s.UpdateDevice(tctx, u, "d1", func(d *Device) error {
		d.Type = "changed"
		d.Meta["a"] = "2"
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want fn's error", err)
	}
	got, err := s.GetDevice(tctx, u, "d1")
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "device after failed update", got, want)
}

func testCopies(t *testing.T, h harness) {
	env := h.newEnv(t, 0)
	s := env.openT(t)
	u := env.user(t)

	d := mustUpdate(t, s, u, "d1", func(d *Device) {
		d.Info = map[string]string{"Model": "X"}
		d.Meta = map[string]string{"k": "v"}
	})
	d.Info["Model"] = "mutated"
	d.Meta["k"] = "mutated"
	g, err := s.GetDevice(tctx, u, "d1")
	if err != nil {
		t.Fatal(err)
	}
	if g.Info["Model"] != "X" || g.Meta["k"] != "v" {
		t.Fatalf("mutating UpdateDevice's result changed the store: %+v", g)
	}
	g.Meta["k"] = "mutated"
	ds, err := s.ListDevices(tctx, u)
	if err != nil {
		t.Fatal(err)
	}
	ds[0].Meta["k"] = "mutated"
	if g2, _ := s.GetDevice(tctx, u, "d1"); g2.Meta["k"] != "v" {
		t.Fatalf("mutating a read device changed the store: %+v", g2)
	}

	req := CommitRequest{
		Apply:   &Delta{Set: map[string]string{"a": "1"}},
		SyncKey: "1",
		Pending: &Delta{Set: map[string]string{"p": "1"}, Del: []string{"q"}, Response: []byte("resp")},
		Meta:    map[string]string{"m": "1"},
	}
	c := mustCommit(t, s, u, "d1", "7", 0, req)
	// Mutate everything the caller holds: its request and the result.
	req.Apply.Set["a"] = "mutated"
	req.Pending.Set["p"] = "mutated"
	req.Pending.Del[0] = "mutated"
	req.Pending.Response[0] = 'X'
	req.Meta["m"] = "mutated"
	c.Meta["m"] = "mutated"
	c.Pending.Set["p"] = "mutated"
	snap := mustSnapshot(t, s, u, "d1", "7")
	snap["a"] = "mutated"

	got := mustCollection(t, s, u, "d1", "7")
	if got.Meta["m"] != "1" || got.Pending.Set["p"] != "1" || got.Pending.Del[0] != "q" || string(got.Pending.Response) != "resp" {
		t.Fatalf("stored header changed through a shared value: %+v %+v", got, got.Pending)
	}
	sameMap(t, "snapshot", mustSnapshot(t, s, u, "d1", "7"), map[string]string{"a": "1"})
	cs, err := s.ListCollections(tctx, u, "d1")
	if err != nil {
		t.Fatal(err)
	}
	cs[0].Meta["m"] = "mutated"
	if got := mustCollection(t, s, u, "d1", "7"); got.Meta["m"] != "1" {
		t.Fatal("mutating ListCollections' result changed the store")
	}
}

func testListOrder(t *testing.T, h harness) {
	env := h.newEnv(t, 0)
	s := env.openT(t)
	u1, u2, u3 := env.user(t), env.user(t), env.user(t)

	for _, id := range []string{"c", "a", "B", "b"} {
		mustUpdate(t, s, u1, id, func(d *Device) { d.Type = "t-" + id })
	}
	mustUpdate(t, s, u2, "z", func(*Device) {})
	// u3 only has sync state, no device record: not a user with a device.
	mustCommit(t, s, u3, "ghost", "1", 0, CommitRequest{SyncKey: "1"})

	ds, err := s.ListDevices(tctx, u1)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := deviceIDs(ds), []string{"B", "a", "b", "c"}; !slices.Equal(got, want) {
		t.Fatalf("ListDevices = %v, want %v", got, want)
	}
	for _, d := range ds {
		if d.User != u1 || d.Type != "t-"+d.ID {
			t.Fatalf("ListDevices returned %+v", d)
		}
	}
	if ds, err := s.ListDevices(tctx, "nobody-"+u1); err != nil || len(ds) != 0 {
		t.Fatalf("ListDevices(unknown) = %v, %v", ds, err)
	}
	if ds, err := s.ListDevices(tctx, u3); err != nil || len(ds) != 0 {
		t.Fatalf("ListDevices(user without records) = %v, %v", deviceIDs(ds), err)
	}
	users, err := s.ListUsers(tctx)
	if err != nil {
		t.Fatal(err)
	}
	if !sort.StringsAreSorted(users) {
		t.Fatalf("ListUsers not sorted: %v", users)
	}
	if !slices.Contains(users, u1) || !slices.Contains(users, u2) {
		t.Fatalf("ListUsers = %v, missing %s or %s", users, u1, u2)
	}
	if slices.Contains(users, u3) {
		t.Fatalf("ListUsers lists %s, which has no device record", u3)
	}

	// The last device deleted takes the user off the list.
	if err := s.DeleteDevice(tctx, u2, "z"); err != nil {
		t.Fatal(err)
	}
	users, err = s.ListUsers(tctx)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(users, u2) {
		t.Fatalf("ListUsers still lists %s after its last device was deleted", u2)
	}
}

func testDeleteDeviceRemovesSync(t *testing.T, h harness) {
	env := h.newEnv(t, 0)
	s := env.openT(t)
	u := env.user(t)
	mustUpdate(t, s, u, "d1", func(*Device) {})
	mustUpdate(t, s, u, "d2", func(*Device) {})
	for _, dev := range []string{"d1", "d2"} {
		for _, coll := range []string{"", "7", "a:b"} {
			mustCommit(t, s, u, dev, coll, 0, CommitRequest{
				Apply: &Delta{Set: map[string]string{"x": "1"}}, SyncKey: "1",
				Pending: &Delta{Set: map[string]string{"y": "1"}},
			})
		}
	}
	if err := s.DeleteDevice(tctx, u, "d1"); err != nil {
		t.Fatal(err)
	}
	for _, coll := range []string{"", "7", "a:b"} {
		if _, err := s.GetCollection(tctx, u, "d1", coll); !errors.Is(err, ErrNotFound) {
			t.Fatalf("collection %q survived DeleteDevice: %v", coll, err)
		}
		if snap := mustSnapshot(t, s, u, "d1", coll); len(snap) != 0 {
			t.Fatalf("snapshot %q survived DeleteDevice: %v", coll, snap)
		}
		// The other device is untouched.
		sameMap(t, "other device's snapshot", mustSnapshot(t, s, u, "d2", coll), map[string]string{"x": "1"})
	}
	if cs, err := s.ListCollections(tctx, u, "d1"); err != nil || len(cs) != 0 {
		t.Fatalf("ListCollections after delete = %v, %v", cs, err)
	}
	// A device coming back with the same ID starts from nothing.
	mustUpdate(t, s, u, "d1", func(*Device) {})
	if cs, err := s.ListCollections(tctx, u, "d1"); err != nil || len(cs) != 0 {
		t.Fatalf("recreated device has collections: %v, %v", cs, err)
	}
	if cs, err := s.ListCollections(tctx, u, "d2"); err != nil || len(cs) != 3 {
		t.Fatalf("other device has %d collections (%v), want 3", len(cs), err)
	}
}

func testCollectionNotFound(t *testing.T, h harness) {
	env := h.newEnv(t, 0)
	s := env.openT(t)
	u := env.user(t)
	check := func(dev, coll string) {
		t.Helper()
		if _, err := s.GetCollection(tctx, u, dev, coll); !errors.Is(err, ErrNotFound) {
			t.Fatalf("GetCollection(%s, %q): err = %v, want ErrNotFound", dev, coll, err)
		}
		if snap := mustSnapshot(t, s, u, dev, coll); len(snap) != 0 {
			t.Fatalf("Snapshot of unknown collection = %v", snap)
		}
		got, err := s.SnapshotGet(tctx, u, dev, coll, []string{"a"})
		if err != nil || len(got) != 0 {
			t.Fatalf("SnapshotGet of unknown collection = %v, %v", got, err)
		}
	}
	check("nodevice", "7")
	mustUpdate(t, s, u, "d1", func(*Device) {})
	check("d1", "7")
	check("d1", "")
	mustCommit(t, s, u, "d1", "7", 0, CommitRequest{SyncKey: "1"})
	check("d1", "")
	check("d1", "8")
	if cs, err := s.ListCollections(tctx, u, "nodevice"); err != nil || len(cs) != 0 {
		t.Fatalf("ListCollections(unknown device) = %v, %v", cs, err)
	}
}

func testCommitCAS(t *testing.T, h harness) {
	env := h.newEnv(t, 0)
	s := env.openT(t)
	u := env.user(t)

	first := mustCommit(t, s, u, "d1", "7", 0, CommitRequest{
		Apply: &Delta{Set: map[string]string{"a": "1"}}, SyncKey: "1",
		Pending: &Delta{Set: map[string]string{"p": "1"}}, Meta: map[string]string{"m": "1"},
	})
	if first.ID != "7" || first.SyncKey != "1" || first.Updated.IsZero() {
		t.Fatalf("Commit returned %+v", first)
	}
	before := mustCollection(t, s, u, "d1", "7")
	for _, gen := range []uint64{0, 2, 1 << 40} {
		_, err := s.Commit(tctx, u, "d1", "7", gen, CommitRequest{
			ApplyPending: true,
			Apply:        &Delta{Set: map[string]string{"b": "1"}, Del: []string{"a"}},
			SyncKey:      "X", Meta: map[string]string{"m": "X"},
		})
		if !errors.Is(err, ErrConflict) {
			t.Fatalf("Commit with generation %d on generation 1: err = %v, want ErrConflict", gen, err)
		}
	}
	sameJSON(t, "header after failed commits", mustCollection(t, s, u, "d1", "7"), before)
	sameMap(t, "snapshot after failed commits", mustSnapshot(t, s, u, "d1", "7"), map[string]string{"a": "1"})

	// A collection that does not exist has generation 0.
	if _, err := s.Commit(tctx, u, "d1", "8", 1, CommitRequest{SyncKey: "1"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("Commit(gen 1) on a new collection: err = %v, want ErrConflict", err)
	}
	if _, err := s.GetCollection(tctx, u, "d1", "8"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("failed Commit created the collection: %v", err)
	}
	// The right generation still works and counts on.
	c := mustCommit(t, s, u, "d1", "7", 1, CommitRequest{SyncKey: "2", PrevSyncKey: "1"})
	if c.Generation != 2 || mustCollection(t, s, u, "d1", "7").Generation != 2 {
		t.Fatalf("generation after second commit: %d", c.Generation)
	}
}

func testApplyPending(t *testing.T, h harness) {
	env := h.newEnv(t, 0)
	s := env.openT(t)
	u := env.user(t)

	// Answer with key 1: the window's changes are pending.
	mustCommit(t, s, u, "d1", "7", 0, CommitRequest{
		Apply: &Delta{Set: map[string]string{"a": "1", "b": "1"}}, SyncKey: "1",
		Pending: &Delta{Set: map[string]string{"c": "1", "b": "2"}, Del: []string{"a"}, Response: []byte{0x03, 0x01, 0x6a, 0x00}},
	})
	sameMap(t, "snapshot before the device confirms", mustSnapshot(t, s, u, "d1", "7"), map[string]string{"a": "1", "b": "1"})
	hdr := mustCollection(t, s, u, "d1", "7")
	sameJSON(t, "stored pending", hdr.Pending, &Delta{Set: map[string]string{"c": "1", "b": "2"}, Del: []string{"a"}, Response: []byte{0x03, 0x01, 0x6a, 0x00}})

	// The device resends key 0 (lost answer): the pending delta is replaced.
	mustCommit(t, s, u, "d1", "7", 1, CommitRequest{
		SyncKey: "1", Pending: &Delta{Set: map[string]string{"c": "1", "b": "3"}, Del: []string{"a"}},
	})
	sameMap(t, "snapshot after a resend", mustSnapshot(t, s, u, "d1", "7"), map[string]string{"a": "1", "b": "1"})

	// The device presents key 1: fold pending, then the next answer.
	c := mustCommit(t, s, u, "d1", "7", 2, CommitRequest{
		ApplyPending: true, Apply: &Delta{Set: map[string]string{"d": "1"}},
		SyncKey: "2", PrevSyncKey: "1", Pending: &Delta{Set: map[string]string{"e": "1"}},
	})
	sameMap(t, "snapshot after the fold", mustSnapshot(t, s, u, "d1", "7"), map[string]string{"b": "3", "c": "1", "d": "1"})
	if c.SyncKey != "2" || c.PrevSyncKey != "1" {
		t.Fatalf("keys after commit: %+v", c)
	}
	sameJSON(t, "new pending", mustCollection(t, s, u, "d1", "7").Pending, &Delta{Set: map[string]string{"e": "1"}})

	// Fold with no new pending: Pending becomes nil.
	mustCommit(t, s, u, "d1", "7", 3, CommitRequest{ApplyPending: true, SyncKey: "3", PrevSyncKey: "2"})
	if p := mustCollection(t, s, u, "d1", "7").Pending; p != nil {
		t.Fatalf("Pending = %+v, want nil", p)
	}
	sameMap(t, "snapshot after second fold", mustSnapshot(t, s, u, "d1", "7"), map[string]string{"b": "3", "c": "1", "d": "1", "e": "1"})
	// ApplyPending with nothing pending is harmless.
	mustCommit(t, s, u, "d1", "7", 4, CommitRequest{ApplyPending: true, SyncKey: "4"})
	// ApplyPending on a new collection too.
	mustCommit(t, s, u, "d1", "new", 0, CommitRequest{ApplyPending: true, SyncKey: "1"})
}

func testApplyAfterPending(t *testing.T, h harness) {
	env := h.newEnv(t, 0)
	s := env.openT(t)
	u := env.user(t)
	mustCommit(t, s, u, "d1", "7", 0, CommitRequest{
		Apply: &Delta{Set: map[string]string{"y": "1"}}, SyncKey: "1",
		Pending: &Delta{Set: map[string]string{"x": "pending"}, Del: []string{"y"}},
	})
	mustCommit(t, s, u, "d1", "7", 1, CommitRequest{
		ApplyPending: true, SyncKey: "2",
		// The device's own change of x and re-add of y come after the fold.
		Apply: &Delta{Set: map[string]string{"x": "device", "y": "device"}},
	})
	sameMap(t, "snapshot", mustSnapshot(t, s, u, "d1", "7"), map[string]string{"x": "device", "y": "device"})
}

func testDelAfterSet(t *testing.T, h harness) {
	env := h.newEnv(t, 0)
	s := env.openT(t)
	u := env.user(t)
	mustCommit(t, s, u, "d1", "7", 0, CommitRequest{
		Apply: &Delta{Set: map[string]string{"z": "1", "keep": "1"}, Del: []string{"z", "never-there"}}, SyncKey: "1",
		Pending: &Delta{Set: map[string]string{"p": "1", "q": "1"}, Del: []string{"p"}},
	})
	sameMap(t, "after Apply", mustSnapshot(t, s, u, "d1", "7"), map[string]string{"keep": "1"})
	mustCommit(t, s, u, "d1", "7", 1, CommitRequest{ApplyPending: true, SyncKey: "2"})
	sameMap(t, "after fold", mustSnapshot(t, s, u, "d1", "7"), map[string]string{"keep": "1", "q": "1"})
}

func testNilMeta(t *testing.T, h harness) {
	env := h.newEnv(t, 0)
	s := env.openT(t)
	u := env.user(t)
	mustCommit(t, s, u, "d1", "7", 0, CommitRequest{SyncKey: "1", Meta: map[string]string{"uidvalidity": "5", "modseq": "10"}})
	c := mustCommit(t, s, u, "d1", "7", 1, CommitRequest{SyncKey: "2"})
	sameMap(t, "Meta returned after nil-Meta commit", c.Meta, map[string]string{"uidvalidity": "5", "modseq": "10"})
	sameMap(t, "Meta stored after nil-Meta commit", mustCollection(t, s, u, "d1", "7").Meta, map[string]string{"uidvalidity": "5", "modseq": "10"})
	mustCommit(t, s, u, "d1", "7", 2, CommitRequest{SyncKey: "3", Meta: map[string]string{"modseq": "11"}})
	sameMap(t, "Meta replaced", mustCollection(t, s, u, "d1", "7").Meta, map[string]string{"modseq": "11"})
	mustCommit(t, s, u, "d1", "7", 3, CommitRequest{SyncKey: "4", Meta: map[string]string{}})
	if m := mustCollection(t, s, u, "d1", "7").Meta; len(m) != 0 {
		t.Fatalf("empty Meta should clear it, got %v", m)
	}
	// A nil-Meta commit that loses the race changes nothing.
	if _, err := s.Commit(tctx, u, "d1", "7", 1, CommitRequest{SyncKey: "X"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("err = %v, want ErrConflict", err)
	}
}

func testSnapshotGet(t *testing.T, h harness) {
	env := h.newEnv(t, 0)
	s := env.openT(t)
	u := env.user(t)
	mustCommit(t, s, u, "d1", "7", 0, CommitRequest{
		Apply: &Delta{Set: map[string]string{"7:1": "m1", "7:2": "m2", "7:3": "m3"}}, SyncKey: "1",
		Pending: &Delta{Set: map[string]string{"7:4": "pending"}},
	})
	tests := []struct {
		ids  []string
		want map[string]string
	}{
		{nil, nil},
		{[]string{"7:1"}, map[string]string{"7:1": "m1"}},
		{[]string{"7:1", "7:3", "missing", "7:4"}, map[string]string{"7:1": "m1", "7:3": "m3"}},
		{[]string{"7:2", "7:2"}, map[string]string{"7:2": "m2"}},
	}
	for _, tc := range tests {
		got, err := s.SnapshotGet(tctx, u, "d1", "7", tc.ids)
		if err != nil {
			t.Fatal(err)
		}
		sameMap(t, fmt.Sprintf("SnapshotGet(%v)", tc.ids), got, tc.want)
	}
	sameMap(t, "Snapshot", mustSnapshot(t, s, u, "d1", "7"), map[string]string{"7:1": "m1", "7:2": "m2", "7:3": "m3"})
}

func testReset(t *testing.T, h harness) {
	env := h.newEnv(t, 0)
	s := env.openT(t)
	u := env.user(t)
	for _, coll := range []string{"7", "8"} {
		mustCommit(t, s, u, "d1", coll, 0, CommitRequest{
			Apply: &Delta{Set: map[string]string{"a": "1"}}, SyncKey: "1", Pending: &Delta{Set: map[string]string{"b": "1"}},
		})
	}
	if err := s.ResetCollection(tctx, u, "d1", "7"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetCollection(tctx, u, "d1", "7"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("header survived reset: %v", err)
	}
	if snap := mustSnapshot(t, s, u, "d1", "7"); len(snap) != 0 {
		t.Fatalf("snapshot survived reset: %v", snap)
	}
	sameMap(t, "other collection", mustSnapshot(t, s, u, "d1", "8"), map[string]string{"a": "1"})
	// Starts again from generation 0, with nothing pending to fold.
	mustCommit(t, s, u, "d1", "7", 0, CommitRequest{ApplyPending: true, SyncKey: "1"})
	if snap := mustSnapshot(t, s, u, "d1", "7"); len(snap) != 0 {
		t.Fatalf("old pending delta folded after reset: %v", snap)
	}
	for _, c := range [][2]string{{"d1", "unknown"}, {"nodevice", "7"}} {
		if err := s.ResetCollection(tctx, u, c[0], c[1]); err != nil {
			t.Fatalf("ResetCollection(%v) of nothing: %v", c, err)
		}
	}
}

func testEmptyServerID(t *testing.T, h harness) {
	env := h.newEnv(t, 0)
	s := env.openT(t)
	u := env.user(t)
	for _, req := range []CommitRequest{
		{Apply: &Delta{Set: map[string]string{"": "1"}}},
		{Apply: &Delta{Del: []string{""}}},
		{Pending: &Delta{Set: map[string]string{"": "1"}}},
	} {
		if _, err := s.Commit(tctx, u, "d1", "7", 0, req); err == nil {
			t.Fatalf("Commit(%+v) accepted an empty server ID", req)
		}
	}
	if _, err := s.GetCollection(tctx, u, "d1", "7"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("rejected commit wrote a header: %v", err)
	}
	if _, err := s.UpdateDevice(tctx, u, "", func(*Device) error { return nil }); err == nil {
		t.Fatal("UpdateDevice accepted an empty device ID")
	}
}

// largeSnapshotSize is the folder size the design requires to stay cheap.
const largeSnapshotSize = 100_000

func largeSet(n int) map[string]string {
	m := make(map[string]string, n)
	for i := range n {
		m["7:"+strconv.Itoa(i+1)] = strconv.Itoa(1000 + i)
	}
	return m
}

func testLargeSnapshot(t *testing.T, h harness) {
	env := h.newEnv(t, 0)
	s := env.openT(t)
	u := env.user(t)
	big := largeSet(largeSnapshotSize)
	start := time.Now()
	mustCommit(t, s, u, "d1", "7", 0, CommitRequest{Apply: &Delta{Set: big}, SyncKey: "1"})
	t.Logf("initial commit of %d entries: %s", len(big), time.Since(start))

	start = time.Now()
	mustCommit(t, s, u, "d1", "7", 1, CommitRequest{
		Apply:   &Delta{Set: map[string]string{"7:500": "changed"}, Del: []string{"7:501"}},
		SyncKey: "2", PrevSyncKey: "1",
	})
	t.Logf("1-entry commit on %d entries: %s", len(big), time.Since(start))

	start = time.Now()
	snap := mustSnapshot(t, s, u, "d1", "7")
	t.Logf("Snapshot of %d entries: %s", len(snap), time.Since(start))
	big["7:500"] = "changed"
	delete(big, "7:501")
	if len(snap) != len(big) {
		t.Fatalf("snapshot has %d entries, want %d", len(snap), len(big))
	}
	sameMap(t, "large snapshot", snap, big)
	got, err := s.SnapshotGet(tctx, u, "d1", "7", []string{"7:1", "7:500", "7:501", "7:100000"})
	if err != nil {
		t.Fatal(err)
	}
	sameMap(t, "SnapshotGet", got, map[string]string{"7:1": "1000", "7:500": "changed", "7:100000": "100999"})
}

func testConcurrentCommit(t *testing.T, h harness) {
	env := h.newEnv(t, 0)
	s := env.openT(t)
	u := env.user(t)
	mustCommit(t, s, u, "d1", "7", 0, CommitRequest{Apply: &Delta{Set: map[string]string{"base": "1"}}, SyncKey: "1",
		Pending: &Delta{Set: map[string]string{"p": "1"}}})

	const racers = 16
	for round := range 3 {
		gen := uint64(round + 1)
		var wg sync.WaitGroup
		errs := make([]error, racers)
		start := make(chan struct{})
		for i := range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = s.Commit(tctx, u, "d1", "7", gen, CommitRequest{
					ApplyPending: true,
					Apply:        &Delta{Set: map[string]string{"k": strconv.Itoa(i), fmt.Sprintf("only-%d-%d", round, i): "1"}},
					SyncKey:      fmt.Sprintf("r%d-%d", round, i),
					Pending:      &Delta{Set: map[string]string{"p": strconv.Itoa(i)}},
				})
			}()
		}
		close(start)
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("round %d: racers %d and %d both won", round, winner, i)
			case err == nil:
				winner = i
			case !errors.Is(err, ErrConflict):
				t.Fatalf("round %d: racer %d: %v", round, i, err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: nobody won", round)
		}
		c := mustCollection(t, s, u, "d1", "7")
		if c.Generation != gen+1 || c.SyncKey != fmt.Sprintf("r%d-%d", round, winner) || c.Pending.Set["p"] != strconv.Itoa(winner) {
			t.Fatalf("round %d: header %+v is not winner %d's", round, c, winner)
		}
		snap := mustSnapshot(t, s, u, "d1", "7")
		if snap["k"] != strconv.Itoa(winner) {
			t.Fatalf("round %d: snapshot k = %q, want winner %d", round, snap["k"], winner)
		}
		for i := range racers {
			_, has := snap[fmt.Sprintf("only-%d-%d", round, i)]
			if (i == winner) != has {
				t.Fatalf("round %d: racer %d (winner %d): its change in the snapshot = %v", round, i, winner, has)
			}
		}
	}
}

func testConcurrentUpdateDevice(t *testing.T, h harness) {
	env := h.newEnv(t, 0)
	s := env.openT(t)
	u := env.user(t)
	const workers, each = 12, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				_, err := s.UpdateDevice(tctx, u, "d1", func(d *Device) error {
					n, _ := strconv.Atoi(d.Meta["n"])
					if d.Meta == nil {
						d.Meta = map[string]string{}
					}
					d.Meta["n"] = strconv.Itoa(n + 1)
					return nil
				})
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("UpdateDevice: %v", err)
	}
	d, err := s.GetDevice(tctx, u, "d1")
	if err != nil {
		t.Fatal(err)
	}
	if d.Meta["n"] != strconv.Itoa(workers*each) {
		t.Fatalf("counter = %s, want %d: increments were lost", d.Meta["n"], workers*each)
	}
}

func testRestart(t *testing.T, h harness) {
	env := h.newEnv(t, 0)
	u := env.user(t)
	s := env.open(t)
	want := mustUpdate(t, s, u, "d1", func(d *Device) {
		d.Type, d.PolicyKey, d.LastSeen = "iPad", 12, fixedTime(1700000000)
	})
	mustCommit(t, s, u, "d1", "7", 0, CommitRequest{Apply: &Delta{Set: map[string]string{"a": "1"}}, SyncKey: "1",
		Pending: &Delta{Set: map[string]string{"b": "1"}, Response: []byte("cached")}, Meta: map[string]string{"m": "1"}})
	wantCol := mustCollection(t, s, u, "d1", "7")
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	env.restart(t)
	s = env.openT(t)
	got, err := s.GetDevice(tctx, u, "d1")
	if err != nil {
		t.Fatalf("device lost across restart: %v", err)
	}
	sameJSON(t, "device after restart", got, want)
	sameJSON(t, "collection after restart", mustCollection(t, s, u, "d1", "7"), wantCol)
	sameMap(t, "snapshot after restart", mustSnapshot(t, s, u, "d1", "7"), map[string]string{"a": "1"})
	users, err := s.ListUsers(tctx)
	if err != nil || !slices.Contains(users, u) {
		t.Fatalf("ListUsers after restart = %v, %v", users, err)
	}
	// And the store keeps working: fold the pending delta.
	mustCommit(t, s, u, "d1", "7", 1, CommitRequest{ApplyPending: true, SyncKey: "2"})
	sameMap(t, "snapshot after fold", mustSnapshot(t, s, u, "d1", "7"), map[string]string{"a": "1", "b": "1"})
}

func testExpiry(t *testing.T, h harness) {
	const ttl = 800 * time.Millisecond
	env := h.newEnv(t, ttl)
	s := env.openT(t)
	u := env.user(t)
	mustUpdate(t, s, u, "old", func(d *Device) { d.LastSeen = time.Now() })
	mustCommit(t, s, u, "old", "7", 0, CommitRequest{Apply: &Delta{Set: map[string]string{"a": "1"}}, SyncKey: "1"})
	mustCommit(t, s, u, "old", "", 0, CommitRequest{SyncKey: "1"})

	env.expire(t, s)

	if _, err := s.GetDevice(tctx, u, "old"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("expired device still there: %v", err)
	}
	for _, coll := range []string{"7", ""} {
		if _, err := s.GetCollection(tctx, u, "old", coll); !errors.Is(err, ErrNotFound) {
			t.Fatalf("expired device's collection %q still there: %v", coll, err)
		}
	}
	if snap := mustSnapshot(t, s, u, "old", "7"); len(snap) != 0 {
		t.Fatalf("expired device's snapshot still there: %v", snap)
	}
	if ds, err := s.ListDevices(tctx, u); err != nil || len(ds) != 0 {
		t.Fatalf("ListDevices after expiry = %v, %v", deviceIDs(ds), err)
	}
	users, err := s.ListUsers(tctx)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(users, u) {
		t.Fatal("ListUsers lists a user whose only device expired")
	}
}

// testUserScope: state kept under UserScope (the per-user folder map) is
// never listed as a device and outlives the device TTL.
func testUserScope(t *testing.T, h harness) {
	const ttl = 800 * time.Millisecond
	env := h.newEnv(t, ttl)
	s := env.openT(t)
	u := env.user(t)
	mustUpdate(t, s, u, "phone", func(d *Device) { d.LastSeen = time.Now() })
	mustCommit(t, s, u, UserScope, "folders", 0, CommitRequest{Apply: &Delta{Set: map[string]string{"1": "INBOX"}}, SyncKey: "1"})
	if ds, err := s.ListDevices(tctx, u); err != nil || len(ds) != 1 || ds[0].ID != "phone" {
		t.Fatalf("ListDevices = %v, %v; want only the phone", deviceIDs(ds), err)
	}
	env.expire(t, s)
	if snap := mustSnapshot(t, s, u, UserScope, "folders"); snap["1"] != "INBOX" {
		t.Fatalf("user-scoped state expired with the devices: %v", snap)
	}
}
