package davsync

import (
	"github.com/idlebridge/idlebridge/bridge/caltz"
	"github.com/idlebridge/idlebridge/bridge/engine"
)

// CalendarClass is the engine.Class of CalDAV: calendars (KindCalendar)
// and task lists (KindTasks) from the user's caldav URL, one source,
// hierarchy (with folder editing) and watcher for both.
func CalendarClass(opts Options) engine.Class {
	opts = opts.withDefaults()
	conv := &converter{zones: caltz.New(caltz.Options{UserZone: opts.UserZone}), userZone: opts.UserZone}
	c := newCore(opts, serviceCalDAV, events{conv}, tasks{conv})
	return engine.Class{
		Kinds:     []engine.Kind{engine.KindCalendar, engine.KindTasks},
		Source:    source{c},
		Hierarchy: calendarHierarchy{c},
		Watcher:   watcher{c},
	}
}
