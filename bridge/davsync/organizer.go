package davsync

import (
	"context"
	"sync/atomic"

	"github.com/idlebridge/idlebridge/bridge/accounts"
	"github.com/idlebridge/idlebridge/bridge/engine"
)

// The iTIP methods an organizer's edit calls for (RFC 5546 3.2).
const (
	MethodRequest = "REQUEST"
	MethodCancel  = "CANCEL"
)

// organizerHook is told of every event a 16.x device added, changed or
// deleted, with the object as the server now holds it (for a delete, as
// it was): at 16.x the server, not the device, sends the meeting's
// REQUEST or CANCEL to its attendees (MS-ASCAL 16.0). The bridge decides
// whether there is anything to send (the user organizes it, it has
// attendees, the CalDAV server does not schedule itself) and sends it
// once. Set after construction, because the Sender is made after the
// classes.
type organizerHook = func(ctx context.Context, p *accounts.Principal, method string, object []byte)

// SetOrganizerHook installs the hook (nil removes it).
func (s source) SetOrganizerHook(h func(ctx context.Context, p *accounts.Principal, method string, object []byte)) {
	if h == nil {
		s.c.organizer.Store(nil)
		return
	}
	s.c.organizer.Store(&h)
}

// organizerSends returns the hook when this job's edits call for one: a
// calendar (not tasks) at 16.x.
func (j *job) organizerSends() organizerHook {
	if j.it.Kind() != engine.KindCalendar || j.call.Options.Version < 160 {
		return nil
	}
	if h := j.c.organizer.Load(); h != nil {
		return *h
	}
	return nil
}

// organizerPtr is the hook's slot in the core.
type organizerPtr = atomic.Pointer[organizerHook]
