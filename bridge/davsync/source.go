package davsync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/idlebridge/idlebridge/bridge/accounts"
	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/upstream/dav"
)

// core is what every DAV class shares: clients, the store, the user
// activity the watcher's interval follows, and the item classes by kind.
type core struct {
	opts    Options
	clients *clients
	items   map[engine.Kind]Items
	svc     service

	mu     sync.Mutex
	active map[string]time.Time // user → last request seen by this instance

	organizer organizerPtr // organizer.go
}

func newCore(opts Options, svc service, classes ...Items) *core {
	opts = opts.withDefaults()
	c := &core{opts: opts, clients: newClients(opts), items: map[engine.Kind]Items{}, svc: svc, active: map[string]time.Time{}}
	for _, it := range classes {
		c.items[it.Kind()] = it
	}
	return c
}

// touch records a request of the user (the watcher polls often while the
// user is active).
func (c *core) touch(user string) {
	c.mu.Lock()
	c.active[user] = c.opts.Now()
	c.mu.Unlock()
}

// activeUser says whether the user made a request within ActiveFor, on
// this instance or (through the devices' LastActive: a Ping is the phone
// waiting, not its user) on any.
func (c *core) activeUser(ctx context.Context, user string) bool {
	now := c.opts.Now()
	c.mu.Lock()
	at, ok := c.active[user]
	if ok && now.Sub(at) > c.opts.ActiveFor {
		delete(c.active, user)
		ok = false
	}
	c.mu.Unlock()
	if ok {
		return true
	}
	devs, err := c.opts.Store.ListDevices(ctx, user)
	if err != nil {
		return false
	}
	for _, d := range devs {
		if now.Sub(d.LastActive) <= c.opts.ActiveFor {
			return true
		}
	}
	return false
}

func (c *core) log(call *engine.Call) *slog.Logger {
	return c.opts.Log.With("user", call.User, "device", call.DeviceID, "collection", call.CollectionID)
}

// source is the engine.Source of a DAV class (or of the calendar and
// tasks kinds together: the folder's Ref says which).
type source struct{ c *core }

func (s source) Open(ctx context.Context, call *engine.Call) (engine.Job, error) {
	it, ok := s.c.items[call.Ref.Kind]
	if !ok {
		return nil, engine.ErrGone
	}
	if !call.Cached {
		s.c.touch(call.User)
	}
	if call.Principal != nil && hiddenFor(call.Ref, mergeBooks(call.Principal, engine.Client{DeviceID: call.DeviceID, DeviceType: call.DeviceType, UserAgent: call.UserAgent})) {
		// A contacts folder this device does not see (a book of a merged
		// device, the merged folder of another): its FolderSync deletes
		// it. A Sync is told to run FolderSync (Status 12); a Ping's
		// re-check finds nothing, so a device that keeps the folder in
		// its Pings is not woken in a loop for it.
		if call.Cached {
			return &job{c: s.c, it: it, call: call, log: s.c.log(call), hidden: true}, nil
		}
		return nil, fmt.Errorf("%w: contacts folder not shown to this device (merge_books)", engine.ErrGone)
	}
	ce, err := s.c.clients.get(call.Principal, s.c.svc)
	if err != nil {
		if call.Principal == nil && call.Cached {
			// A Ping re-check may come without credentials; it plans from
			// the store alone.
			return &job{c: s.c, it: it, call: call, log: s.c.log(call)}, nil
		}
		if errors.Is(err, errNoDAV) {
			// The user file no longer names a CalDAV server: the folder is
			// gone (Status 12), and FolderSync lists no calendars.
			return nil, fmt.Errorf("%w: %w", engine.ErrGone, err)
		}
		return nil, err
	}
	return &job{c: s.c, it: it, call: call, cl: ce.client, ce: ce, log: s.c.log(call)}, nil
}

// job is one request's work on one DAV folder.
type job struct {
	c    *core
	it   Items
	call *engine.Call
	cl   *dav.Client  // nil only for a cached plan
	ce   *clientEntry // cl's entry, with the user's discovered homes
	log  *slog.Logger
	l    *listing // as read or refreshed by this job
	// hidden: a Ping re-check of a folder the device does not see
	// (merged.go); it plans nothing.
	hidden bool
	// resent: Apply marked an item for the device to get again (a refused
	// or partly applied edit), which a view complete at the listing's
	// version would not send.
	resent bool
}

func (j *job) Close(error) {}

// Reset: a DAV folder has no identity to record beyond its listing,
// which is shared and kept.
func (j *job) Reset(context.Context) (map[string]string, error) { return nil, nil }

// Device Meta keys: the listing version the device's view was complete
// at, and the filter it was computed with.
const (
	metaDevVersion = "dav.version"
	metaDevFilter  = "dav.filter"
)

// listing returns the folder's listing, refreshed from the server unless
// the engine asked for a cached plan.
func (j *job) listing(ctx context.Context, refresh bool) (*listing, error) {
	if j.l != nil {
		return j.l, nil
	}
	var l *listing
	var err error
	if refresh && j.cl != nil {
		l, _, err = j.c.refresh(ctx, j.ce, j.call.User, j.call.CollectionID, j.call.Ref)
	} else {
		l, err = loadListing(ctx, j.c.opts.Store, j.call.User, j.call.CollectionID)
	}
	if err != nil {
		return nil, err
	}
	j.l = l
	return l, nil
}

// filterKey is what the device's view was planned with: the filter and,
// for a time window, the day, so a new day plans again and the events it
// pushed out of the window are soft-deleted.
func (j *job) filterKey() string {
	f := j.filter()
	k := strconv.Itoa(f)
	if j.it.Kind() == engine.KindCalendar && f != 0 {
		k += "@" + j.c.opts.Now().UTC().Format("2006-01-02")
	}
	return k
}

// filter is the request's FilterType as it applies to the class.
func (j *job) filter() int {
	f := j.call.Options.FilterType
	switch {
	case j.it.Kind() == engine.KindTasks && f == 8:
		return 8
	case j.it.Kind() == engine.KindCalendar && f >= 1 && f <= 7:
		return f
	}
	return 0
}

// Plan diffs the listing against the device's view: IDs and ETags only.
func (j *job) Plan(ctx context.Context, view engine.View) (*engine.Plan, error) {
	if j.hidden {
		return &engine.Plan{Unchanged: true}, nil
	}
	l, err := j.listing(ctx, !j.call.Cached)
	if err != nil {
		return nil, err
	}
	if l.meta[metaGone] != "" {
		return nil, engine.ErrGone
	}
	filter := j.filterKey()
	meta := j.call.Meta()
	if f, ok := meta[metaDevFilter]; ok && j.call.Cached {
		// A Ping's re-check carries no Sync options: the filter is the
		// one the device's view was planned with.
		filter = f
	}
	if !l.exists {
		// A cached plan of a folder never listed has nothing to say: the
		// device's next Sync lists it.
		return &engine.Plan{Unchanged: true}, nil
	}
	if j.call.Role == engine.Current && l.version() != "" && meta[metaDevVersion] == l.version() && meta[metaDevFilter] == filter && !j.resent {
		// The device's view was complete at this version. (Not for a
		// resent key: the Meta is the lost answer's, and the answer must
		// be made again from the snapshot.)
		return &engine.Plan{Unchanged: true}, nil
	}
	have, err := view.All(ctx)
	if err != nil {
		return nil, err
	}
	mine := l.mine()
	p := &engine.Plan{
		Versions:    map[string]string{},
		Meta:        map[string]string{metaDevVersion: l.version(), metaDevFilter: filter},
		MetaPartial: map[string]string{metaDevVersion: "", metaDevFilter: filter},
	}
	// The window (FilterType), asked of the server without bodies. A
	// cached plan (Ping) cannot ask: it counts every new object, and the
	// Sync it wakes sends only those inside.
	var keep func(string) bool
	if j.filter() != 0 && !j.call.Cached && j.cl != nil {
		if keep, err = j.it.Window(ctx, j.cl, j.call.Ref.Path, j.filter(), j.c.opts.Now()); err != nil {
			return nil, upstreamErr(err)
		}
	}
	for id := range have {
		if _, ok := mine[id]; !ok {
			p.Deletes = append(p.Deletes, id)
		}
	}
	for id, e := range mine {
		v, ok := have[id]
		inside := keep == nil || keep(e.href)
		switch {
		case ok && !inside:
			// Out of the window now (time passed, the event moved, the
			// task was completed): still upstream, so a SoftDelete.
			p.SoftDeletes = append(p.SoftDeletes, id)
		case !ok && inside:
			p.Adds = append(p.Adds, id)
			p.Versions[id] = e.etag
		case ok && v != e.etag:
			p.Changes = append(p.Changes, id)
			p.Versions[id] = e.etag
		}
	}
	sort.Strings(p.SoftDeletes)
	sort.Strings(p.Deletes)
	sort.Strings(p.Changes)
	sort.Strings(p.Adds)
	return p, nil
}

// Finish stores the listing version as complete only when everything the
// plan held reached the device: a window cut by size or count, or an
// object skipped, must be found again by the next Sync's diff.
func (j *job) Finish(_ context.Context, o engine.Outcome) map[string]string {
	if o.Plan == nil || o.Plan.Unchanged {
		return nil
	}
	if o.More || len(o.Skipped) > 0 {
		return o.Plan.MetaPartial
	}
	return o.Plan.Meta
}

// principalOf is for logs and errors.
func principalOf(p *accounts.Principal) string {
	if p == nil || p.User == nil {
		return ""
	}
	return p.User.Address
}
