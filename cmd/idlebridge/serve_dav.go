package main

import (
	"log/slog"
	"time"

	"github.com/idlebridge/idlebridge/bridge/davsync"
	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/bridge/state"
)

// davClasses are the item classes served over CalDAV and CardDAV beside
// mail.
func davClasses(c DAVConfig, store state.Store, log *slog.Logger) []engine.Class {
	o := davOptions(c, store, log)
	return []engine.Class{davsync.CalendarClass(o), davsync.ContactsClass(o)}
}

// davOptions turns the dav section of the configuration into the
// calendar class's options (Validate has checked the zone).
func davOptions(c DAVConfig, store state.Store, log *slog.Logger) davsync.Options {
	o := davsync.Options{Store: store, Log: log, Timeout: c.Timeout,
		PollActive: c.PollActive, PollIdle: c.PollIdle, ActiveFor: c.PollActiveFor}
	if c.UserZone != "" {
		if loc, err := time.LoadLocation(c.UserZone); err == nil {
			o.UserZone = loc
		}
	}
	return o
}
