package davsync

import (
	"context"
	"time"

	"github.com/idlebridge/idlebridge/activesync/items"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/bridge/calconv"
	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/upstream/dav"
)

// events is the Calendar class: the VEVENTs of a CalDAV calendar.
type events struct{ conv *converter }

// converter holds what both calendar classes convert with.
type converter struct {
	zones    calconv.Zones
	userZone *time.Location
}

// options are calconv's options for the request.
func (cv *converter) options(call *engine.Call) calconv.Options {
	v := items.Version(call.Options.Version)
	if v == 0 {
		v = items.V141 // ItemOperations without a version never reaches here from the front
	}
	opt := calconv.Options{Version: v, Zones: cv.zones, UserZone: cv.userZone, UserEmail: call.User, BodyType: items.BodyPlain}
	for _, bp := range call.Options.BodyPrefs {
		if bp.Type == items.BodyHTML || bp.Type == items.BodyPlain {
			opt.BodyType, opt.TruncationSize = bp.Type, int(bp.TruncationSize)
			if bp.Type == items.BodyHTML {
				break // the device's preferred form when it offers both
			}
		}
	}
	return opt
}

func (events) Kind() engine.Kind    { return engine.KindCalendar }
func (events) Collection() dav.Kind { return dav.KindCalendar }
func (events) Component() string    { return "VEVENT" }
func (events) ContentType() string  { return dav.ContentCalendar }
func (events) Ext() string          { return ".ics" }

// filterSpan is how far back an initial calendar sync reaches per
// FilterType (MS-ASCMD 2.2.3.70.1); a series counts when one of its
// instances is inside (the server expands recurrences, RFC 4791 9.9).
var filterSpan = map[int]time.Duration{
	1: 24 * time.Hour, 2: 3 * 24 * time.Hour, 3: 7 * 24 * time.Hour, 4: 14 * 24 * time.Hour,
}

var filterMonths = map[int]int{5: 1, 6: 3, 7: 6}

func (events) Window(ctx context.Context, cl *dav.Client, coll string, filterType int, now time.Time) (func(string) bool, error) {
	var start time.Time
	if d, ok := filterSpan[filterType]; ok {
		start = now.Add(-d)
	} else if m, ok := filterMonths[filterType]; ok {
		start = now.AddDate(0, -m, 0)
	} else {
		return nil, nil
	}
	in, err := cl.ListRange(ctx, coll, "VEVENT", start, time.Time{})
	if err != nil {
		return nil, err
	}
	return func(href string) bool { _, ok := in[href]; return ok }, nil
}

func (e events) Encode(data []byte, call *engine.Call) (*wbxml.Element, error) {
	opt := e.conv.options(call)
	res, err := calconv.FromICal(data, opt)
	if err != nil {
		return nil, err
	}
	return res.Item.Encode(opt.Version), nil
}

func (e events) Patch(stored []byte, app *wbxml.Element, call *engine.Call, now time.Time) (*Patched, error) {
	opt := e.conv.options(call)
	dev, err := items.DecodeCalendar(app, opt.Version)
	if err != nil {
		return nil, err
	}
	if dev.InstanceID != nil && stored != nil {
		// Some clients put the InstanceId inside ApplicationData.
		return e.PatchInstance(stored, app, *dev.InstanceID, call, now)
	}
	p, err := calconv.Merge(stored, dev, ghosting(call), opt, now)
	if err != nil {
		return nil, err
	}
	return &Patched{Data: p.Data, UID: p.UID, Changed: p.Changed, Partial: len(p.Unsupported) > 0}, nil
}

// PatchInstance applies a 16.x Change of one occurrence as its override.
func (e events) PatchInstance(stored []byte, app *wbxml.Element, instance time.Time, call *engine.Call, now time.Time) (*Patched, error) {
	opt := e.conv.options(call)
	dev, err := items.DecodeCalendar(app, opt.Version)
	if err != nil {
		return nil, err
	}
	p, err := calconv.MergeInstance(stored, dev, instance, opt, now)
	if err != nil {
		return nil, err
	}
	return &Patched{Data: p.Data, UID: p.UID, Changed: p.Changed}, nil
}

// DeleteInstance deletes one occurrence (an EXDATE).
func (e events) DeleteInstance(stored []byte, instance time.Time, call *engine.Call, now time.Time) (*Patched, error) {
	p, err := calconv.DeleteInstance(stored, instance, e.conv.options(call), now)
	if err != nil {
		return nil, err
	}
	return &Patched{Data: p.Data, UID: p.UID, Changed: p.Changed}, nil
}

// AddResponse: at 16.x the server owns the UID of a calendar item
// (MS-ASCAL UID; the device sent ClientUid), so the Add's response
// carries the UID it was stored under (research note P9).
func (events) AddResponse(uid string, call *engine.Call) *wbxml.Element {
	if items.Version(call.Options.Version) < items.V160 || uid == "" {
		return nil
	}
	return (&items.Calendar{UID: &uid}).Encode(items.Version(call.Options.Version))
}

// tasks is the Tasks class: the VTODOs of a CalDAV calendar.
type tasks struct{ conv *converter }

func (tasks) Kind() engine.Kind    { return engine.KindTasks }
func (tasks) Collection() dav.Kind { return dav.KindCalendar }
func (tasks) Component() string    { return "VTODO" }
func (tasks) ContentType() string  { return dav.ContentCalendar }
func (tasks) Ext() string          { return ".ics" }

// Window for FilterType 8 (incomplete tasks only): a task is complete
// when it has COMPLETED or STATUS:COMPLETED (clients write either or both).
func (tasks) Window(ctx context.Context, cl *dav.Client, coll string, filterType int, _ time.Time) (func(string) bool, error) {
	if filterType != 8 {
		return nil, nil
	}
	done, err := cl.ListMatching(ctx, coll, "VTODO", "COMPLETED", "")
	if err != nil {
		return nil, err
	}
	byStatus, err := cl.ListMatching(ctx, coll, "VTODO", "STATUS", "COMPLETED")
	if err != nil {
		return nil, err
	}
	return func(href string) bool {
		_, a := done[href]
		_, b := byStatus[href]
		return !a && !b
	}, nil
}

func (t tasks) Encode(data []byte, call *engine.Call) (*wbxml.Element, error) {
	opt := t.conv.options(call)
	res, err := calconv.TaskFromICal(data, opt)
	if err != nil {
		return nil, err
	}
	return res.Item.Encode(opt.Version), nil
}

func (t tasks) Patch(stored []byte, app *wbxml.Element, call *engine.Call, now time.Time) (*Patched, error) {
	opt := t.conv.options(call)
	dev, err := items.DecodeTask(app, opt.Version)
	if err != nil {
		return nil, err
	}
	p, err := calconv.MergeTask(stored, dev, ghosting(call), opt, now)
	if err != nil {
		return nil, err
	}
	return &Patched{Data: p.Data, UID: p.UID, Changed: p.Changed}, nil
}

// ghosting is what the device's Supported list (kept by the engine from
// its initial Sync) says about elements a Change leaves out: at 12.x–14.x
// a listed element left out is cleared, an unlisted one is kept; without
// a list nothing is kept (MS-ASCMD 2.2.3.179). 16.x keeps every absent
// element whatever the list (calconv decides by version).
func ghosting(call *engine.Call) calconv.Ghosting {
	names, ok := call.Supported()
	if !ok {
		return calconv.Ghosting{}
	}
	g := calconv.Ghosting{Supported: make(map[string]bool, len(names))}
	for _, n := range names {
		g.Supported[n] = true
	}
	return g
}
