package davsync

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"path"
	"sort"
	"strings"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/accounts"
	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/upstream/dav"
)

// calendarHierarchy lists a user's calendars as FolderSync folders: the
// VEVENT side of each as a calendar (type 8 for the default one, 13 for
// the others), the VTODO side as a task list (7 and 15); a mixed calendar
// yields one of each (research note P15). It also creates, renames and
// deletes them (engine.FolderEditor).
type calendarHierarchy struct{ c *core }

func (calendarHierarchy) Kinds() []engine.Kind {
	return []engine.Kind{engine.KindCalendar, engine.KindTasks}
}

// Serves implements engine.Served: users with a CalDAV server.
func (calendarHierarchy) Serves(p *accounts.Principal) bool {
	return p != nil && p.User != nil && p.User.CalDAV != ""
}

// Folders lists the calendars. A user without a CalDAV server has none;
// a server that cannot be reached is an error (FolderSync then keeps the
// folders the device has).
func (h calendarHierarchy) Folders(ctx context.Context, p *accounts.Principal, _ engine.Client) ([]engine.Folder, error) {
	if p == nil || p.User == nil || p.User.CalDAV == "" {
		return nil, nil
	}
	// No touch here: the push hub lists hierarchies on its own timer,
	// which says nothing about the user; FolderSync, a request, is in
	// the device's LastActive.
	cols, err := h.calendars(ctx, p)
	if err != nil {
		return nil, err
	}
	var evs, todos []dav.Collection
	for _, col := range cols {
		if col.Supports("VEVENT") {
			evs = append(evs, col)
		}
		if col.Supports("VTODO") {
			todos = append(todos, col)
		}
	}
	var out []engine.Folder
	defEv, defTodo := defaultOf(evs), defaultOf(todos)
	for i, col := range evs {
		t := activesync.FolderUserCalendar
		if i == defEv {
			t = activesync.FolderCalendar
		}
		out = append(out, engine.Folder{Ref: engine.Ref{Kind: engine.KindCalendar, Path: col.Href}, DisplayName: folderName(col), Type: t})
	}
	for i, col := range todos {
		t := activesync.FolderUserTasks
		if i == defTodo {
			t = activesync.FolderTasks
		}
		out = append(out, engine.Folder{Ref: engine.Ref{Kind: engine.KindTasks, Path: col.Href}, DisplayName: folderName(col), Type: t})
	}
	return out, nil
}

func (h calendarHierarchy) calendars(ctx context.Context, p *accounts.Principal) ([]dav.Collection, error) {
	ce, err := h.c.clients.get(p, serviceCalDAV)
	if err != nil {
		return nil, err
	}
	d, err := ce.discovery(ctx)
	if err != nil {
		return nil, err
	}
	if d.CalendarHome == "" {
		return nil, nil
	}
	cols, err := ce.client.Calendars(ctx, d.CalendarHome)
	if err != nil {
		return nil, upstreamErr(err)
	}
	sort.Slice(cols, func(i, k int) bool { return cols[i].Href < cols[k].Href })
	return cols, nil
}

// defaultOf picks the default folder among collections sorted by href:
// the one a server marks as the user's own by name ("default",
// "personal", "calendar", "tasks", "home" — Nextcloud, SOGo, Radicale's
// clients), else the first. -1 when there are none.
func defaultOf(cols []dav.Collection) int {
	if len(cols) == 0 {
		return -1
	}
	for _, want := range []string{"default", "personal", "calendar", "tasks", "home"} {
		for i, col := range cols {
			if strings.EqualFold(path.Base(strings.TrimSuffix(col.Href, "/")), want) {
				return i
			}
		}
	}
	return 0
}

func folderName(col dav.Collection) string {
	if col.DisplayName != "" {
		return col.DisplayName
	}
	return path.Base(strings.TrimSuffix(col.Href, "/"))
}

// CreateFolder makes a calendar (type 13) or task list (15) with
// MKCALENDAR in the user's calendar home.
func (h calendarHierarchy) CreateFolder(ctx context.Context, p *accounts.Principal, _ engine.Ref, name string, folderType int) (engine.Ref, error) {
	var comp string
	var kind engine.Kind
	switch folderType {
	case activesync.FolderUserCalendar:
		comp, kind = "VEVENT", engine.KindCalendar
	case activesync.FolderUserTasks:
		comp, kind = "VTODO", engine.KindTasks
	default:
		return engine.Ref{}, activesync.CommandStatus(activesync.FolderStatusBadRequest, "only calendars and task lists can be created on CalDAV")
	}
	if strings.TrimSpace(name) == "" {
		return engine.Ref{}, activesync.CommandStatus(activesync.FolderStatusBadRequest, "empty folder name")
	}
	cols, err := h.calendars(ctx, p)
	if err != nil {
		return engine.Ref{}, err
	}
	for _, col := range cols {
		if col.Supports(comp) && strings.EqualFold(folderName(col), name) {
			return engine.Ref{}, activesync.CommandStatus(activesync.FolderStatusExists, "a folder of that name exists")
		}
	}
	ce, err := h.c.clients.get(p, serviceCalDAV)
	if err != nil {
		return engine.Ref{}, err
	}
	d, err := ce.discovery(ctx)
	if err != nil {
		return engine.Ref{}, err
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	href := strings.TrimSuffix(d.CalendarHome, "/") + "/" + hex.EncodeToString(rnd[:]) + "/"
	if err := ce.client.MakeCalendar(ctx, href, name, []string{comp}, ""); err != nil {
		return engine.Ref{}, folderErr(err)
	}
	return engine.Ref{Kind: kind, Path: href}, nil
}

// RenameFolder sets the calendar's display name (PROPPATCH). Both sides
// of a mixed calendar carry its one name.
func (h calendarHierarchy) RenameFolder(ctx context.Context, p *accounts.Principal, ref engine.Ref, name string) (engine.Ref, error) {
	if strings.TrimSpace(name) == "" {
		return engine.Ref{}, activesync.CommandStatus(activesync.FolderStatusBadRequest, "empty folder name")
	}
	ce, err := h.c.clients.get(p, serviceCalDAV)
	if err != nil {
		return engine.Ref{}, err
	}
	if err := ce.client.SetDisplayName(ctx, ref.Path, name); err != nil {
		return engine.Ref{}, folderErr(err)
	}
	return ref, nil
}

// DeleteFolder deletes the calendar. The default folders are special
// (MS-ASCMD 2.2.3.162.3 Status 3), and so is one side of a mixed
// calendar: deleting it would delete the other side's objects, which the
// device does not show in this folder.
func (h calendarHierarchy) DeleteFolder(ctx context.Context, p *accounts.Principal, ref engine.Ref) error {
	ce, err := h.c.clients.get(p, serviceCalDAV)
	if err != nil {
		return err
	}
	folders, err := h.Folders(ctx, p, engine.Client{})
	if err != nil {
		return err
	}
	sides := 0
	for _, f := range folders {
		if f.Ref.Path != ref.Path {
			continue
		}
		sides++
		if f.Ref == ref && (f.Type == activesync.FolderCalendar || f.Type == activesync.FolderTasks) {
			return activesync.CommandStatus(activesync.FolderStatusSpecial, "the default calendar and task list cannot be deleted")
		}
	}
	if sides == 0 {
		return activesync.CommandStatus(activesync.FolderStatusNotFound, "no such calendar")
	}
	if sides > 1 {
		return activesync.CommandStatus(activesync.FolderStatusSpecial, "the calendar holds events and tasks; delete it from a CalDAV client")
	}
	if err := ce.client.DeleteCollection(ctx, ref.Path); err != nil && !errors.Is(err, dav.ErrNotFound) {
		return folderErr(err)
	}
	return nil
}

// folderErr maps a refused collection edit to a FolderCreate/Update/
// Delete status; outages stay retryable.
func folderErr(err error) error {
	switch {
	case errors.Is(err, dav.ErrNotFound):
		return activesync.CommandStatus(activesync.FolderStatusNotFound, err.Error())
	case errors.Is(err, dav.ErrForbidden), errors.Is(err, dav.ErrConflict), errors.Is(err, dav.ErrPrecondition):
		return activesync.CommandStatus(activesync.FolderStatusSpecial, err.Error())
	}
	return upstreamErr(err)
}
