package davsync

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/activesync/items"
	"github.com/idlebridge/idlebridge/bridge/accounts"
	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/internal/testenv"
	"github.com/idlebridge/idlebridge/upstream/dav"
)

// wire counts what the bridge's DAV client sends and receives, headers
// included: what a Sync really costs upstream.
type wire struct {
	requests  atomic.Int64
	sent, got atomic.Int64
}

func (w *wire) reset() { w.requests.Store(0); w.sent.Store(0); w.got.Store(0) }

func (w *wire) String() string {
	return fmt.Sprintf("%d request(s), %d bytes sent, %d bytes received", w.requests.Load(), w.sent.Load(), w.got.Load())
}

type countConn struct {
	net.Conn
	w *wire
}

func (c countConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.w.got.Add(int64(n))
	return n, err
}

func (c countConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.w.sent.Add(int64(n))
	return n, err
}

type countRT struct {
	rt http.RoundTripper
	w  *wire
}

func (c countRT) RoundTrip(r *http.Request) (*http.Response, error) {
	c.w.requests.Add(1)
	return c.rt.RoundTrip(r)
}

// env is one test user on the test Radicale with the calendar class, an
// embedded store, and a separate DAV client playing "another client".
type env struct {
	t      testing.TB
	ctx    context.Context
	store  state.Store
	class  engine.Class
	core   *core
	eng    *engine.Engine
	p      *accounts.Principal
	other  *dav.Client
	home   string
	wire   *wire
	device string
}

func newEnv(t testing.TB, opts Options) *env {
	t.Helper()
	return newEnvUser(t, opts, testenv.UniqueUser(t))
}

func newEnvUser(t testing.TB, opts Options, user string) *env {
	t.Helper()
	return newEnvClass(t, opts, user, CalendarClass)
}

// newEnvClass is newEnvUser for another class (ContactsClass).
func newEnvClass(t testing.TB, opts Options, user string, mk func(Options) engine.Class) *env {
	t.Helper()
	base := testenv.DAVURL(t)
	st, err := state.OpenEmbedded(filepath.Join(t.TempDir(), "s.db"), state.EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	w := &wire{}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	d := &net.Dialer{}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return countConn{c, w}, nil
	}
	t.Cleanup(tr.CloseIdleConnections)
	opts.Store, opts.Transport = st, countRT{tr, w}
	if opts.UserZone == nil {
		opts.UserZone, _ = time.LoadLocation("Europe/Berlin")
	}
	if opts.Timeout == 0 {
		opts.Timeout = 20 * time.Second
	}
	class := mk(opts)
	other, err := dav.New(dav.Config{URL: base, Username: user, Password: "secret", Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	e := &env{
		t: t, ctx: ctx, store: st, class: class, core: class.Source.(source).c, eng: &engine.Engine{Store: st},
		p:     &accounts.Principal{User: &accounts.User{Address: user, CalDAV: base, CardDAV: base}, Upstream: accounts.Credentials{Username: user, Password: "secret"}},
		other: other, home: "/" + user + "/", wire: w, device: "dev1",
	}
	return e
}

// calendar makes a calendar with the components and returns its href.
func (e *env) calendar(name, display string, comps ...string) string {
	e.t.Helper()
	href := e.home + name + "/"
	if err := e.other.MakeCalendar(e.ctx, href, display, comps, ""); err != nil {
		e.t.Fatalf("MakeCalendar %s: %v", href, err)
	}
	return href
}

// put stores an object as another client would; it returns the href.
func (e *env) put(coll, name string, data []byte) string {
	e.t.Helper()
	href := coll + name
	if _, err := e.other.Create(e.ctx, href, dav.ContentCalendar, data); err != nil {
		e.t.Fatalf("PUT %s: %v", href, err)
	}
	return href
}

func (e *env) get(href string) dav.Object {
	e.t.Helper()
	objs, failed, err := e.other.MultiGet(e.ctx, href[:strings.LastIndex(href, "/")+1], dav.KindCalendar, []string{href})
	if err != nil || len(objs) != 1 {
		e.t.Fatalf("GET %s: %v %v", href, err, failed)
	}
	return objs[0]
}

func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// folder is one collection as the bridge's folder map would name it.
type folder struct {
	id  string
	ref engine.Ref
}

// call builds the engine call of one request on f.
func (e *env) call(f folder, v activesync.Version, filter int) *engine.Call {
	return &engine.Call{
		Principal: e.p, User: e.p.User.Address, DeviceID: e.device, CollectionID: f.id, Ref: f.ref,
		Options: activesync.SyncOptions{Version: v, FilterType: filter, Conflict: 1},
	}
}

// syncer drives one device's Sync of one folder: it keeps the key.
type syncer struct {
	e      *env
	f      folder
	v      activesync.Version
	filter int
	key    string
	last   *activesync.SyncResult
	prev   string
}

func (e *env) syncer(f folder, v activesync.Version, filter int) *syncer {
	s := &syncer{e: e, f: f, v: v, filter: filter, key: "0"}
	s.run(nil, 100)
	return s
}

// run sends one Sync with the key the device holds.
func (s *syncer) run(cmds []activesync.SyncCommand, window int) *activesync.SyncResult {
	s.e.t.Helper()
	res := s.runKey(s.key, cmds, window)
	s.prev, s.key = s.key, res.SyncKey
	return res
}

func (s *syncer) runKey(key string, cmds []activesync.SyncCommand, window int) *activesync.SyncResult {
	s.e.t.Helper()
	res, err := s.e.eng.Sync(s.e.ctx, s.e.class.Source, s.e.call(s.f, s.v, s.filter), &activesync.SyncCollection{
		Version: s.v, CollectionID: s.f.id, SyncKey: key, GetChanges: key != "0", WindowSize: window,
		Options: activesync.SyncOptions{Version: s.v, FilterType: s.filter, Conflict: 1}, Commands: cmds,
	})
	if err != nil {
		s.e.t.Fatalf("Sync %s key %s: %v", s.f.id, key, err)
	}
	if res.Status != activesync.SyncStatusOK {
		s.e.t.Fatalf("Sync %s key %s: status %d", s.f.id, key, res.Status)
	}
	s.last = res
	return res
}

// all syncs until nothing more is available and returns every command.
func (s *syncer) all(window int) []activesync.SyncItem {
	s.e.t.Helper()
	var out []activesync.SyncItem
	for range 1000 {
		res := s.run(nil, window)
		out = append(out, res.Commands...)
		if !res.MoreAvailable {
			return out
		}
	}
	s.e.t.Fatal("MoreAvailable forever")
	return nil
}

func kinds(cmds []activesync.SyncItem) []string {
	var out []string
	for _, c := range cmds {
		out = append(out, c.Kind)
	}
	slices.Sort(out)
	return out
}

// events decodes the calendar items of Add/Change commands by subject.
func (s *syncer) events(cmds []activesync.SyncItem) map[string]*items.Calendar {
	s.e.t.Helper()
	out := map[string]*items.Calendar{}
	for _, c := range cmds {
		if c.Data == nil {
			continue
		}
		ev, err := items.DecodeCalendar(c.Data, items.Version(s.v))
		if err != nil {
			s.e.t.Fatalf("decode %s: %v", c.ServerID, err)
		}
		subj := ""
		if ev.Subject != nil {
			subj = *ev.Subject
		}
		out[subj] = ev
	}
	return out
}

// folders lists the hierarchy and gives each folder an ID the way the
// folder map would (stable per Ref within the test).
func (e *env) folders() map[string]engine.Folder {
	e.t.Helper()
	fs, err := e.class.Hierarchy.Folders(e.ctx, e.p, engine.Client{})
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]engine.Folder{}
	for _, f := range fs {
		out[string(f.Ref.Kind)+" "+f.DisplayName] = f
	}
	return out
}

var nextFolderID atomic.Int64

func folderFor(ref engine.Ref) folder {
	return folder{id: fmt.Sprint(100 + nextFolderID.Add(1)), ref: ref}
}

// uid reads the UID of an object.
func uidLine(data []byte) string {
	for _, l := range bytes.Split(data, []byte("\n")) {
		if bytes.HasPrefix(l, []byte("UID:")) {
			return strings.TrimSpace(string(l[4:]))
		}
	}
	return ""
}
