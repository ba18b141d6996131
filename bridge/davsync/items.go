package davsync

import (
	"context"
	"time"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/upstream/dav"
)

// Items is what one item class adds to the DAV core: which objects of a
// collection are its own, its initial window, and its conversions.
type Items interface {
	Kind() engine.Kind
	// Collection is the DAV collection kind that holds the class.
	Collection() dav.Kind
	// Component is the iCalendar component the class holds ("VEVENT",
	// "VTODO"), "" for vCards.
	Component() string
	// ContentType and Ext are what a new object is PUT with and named.
	ContentType() string
	Ext() string
	// Window returns which objects an initial sync with the FilterType
	// sends (nil keep: all), asking the server without loading bodies.
	Window(ctx context.Context, cl *dav.Client, coll string, filterType int, now time.Time) (keep func(href string) bool, err error)
	// Encode converts a stored object for the request's device.
	Encode(data []byte, call *engine.Call) (*wbxml.Element, error)
	// Patch applies a device's Add (stored nil) or Change to the stored
	// object, never regenerating it.
	Patch(stored []byte, app *wbxml.Element, call *engine.Call, now time.Time) (*Patched, error)
}

// addResponder is an Items whose Add responses carry item data.
type addResponder interface {
	AddResponse(uid string, call *engine.Call) *wbxml.Element
}

// occurrences is an Items whose objects are series whose occurrences a
// 16.x device changes or deletes one at a time (airsyncbase:InstanceId
// on a Change or Delete, MS-ASCMD 2.2.3.24): the instance is the
// occurrence's original start in UTC.
type occurrences interface {
	PatchInstance(stored []byte, app *wbxml.Element, instance time.Time, call *engine.Call, now time.Time) (*Patched, error)
	DeleteInstance(stored []byte, instance time.Time, call *engine.Call, now time.Time) (*Patched, error)
}

// Patched is what Patch made.
type Patched struct {
	Data    []byte
	UID     string
	Changed bool // false: nothing to write
	// Partial: part of the device's change could not be applied (an
	// exception at a time the series has none); what could be is written,
	// and the device is sent the server's object again.
	Partial bool
}
