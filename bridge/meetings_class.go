package bridge

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"
	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/activesync/items"
	"github.com/idlebridge/idlebridge/bridge/accounts"
	"github.com/idlebridge/idlebridge/bridge/calconv"
	"github.com/idlebridge/idlebridge/bridge/caltz"
	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/bridge/foldermap"
	"github.com/idlebridge/idlebridge/bridge/imip"
	"github.com/idlebridge/idlebridge/bridge/send"
)

// meetingStore is what a calendar class's Source offers MeetingResponse
// (bridge/davsync.MeetingStore; declared here by shape so the bridge does
// not import the class).
type meetingStore interface {
	StoreMeeting(ctx context.Context, p *accounts.Principal, folderID string, ref engine.Ref, uid string, serverReplies bool, patch func(stored []byte) ([]byte, error)) (string, error)
	HoldsUID(ctx context.Context, p *accounts.Principal, ref engine.Ref, uid string) (bool, error)
	ReadItem(ctx context.Context, p *accounts.Principal, folderID string, ref engine.Ref, serverID string) ([]byte, error)
	SchedulesItself(ctx context.Context, p *accounts.Principal) bool
}

// classMeetings is the MeetingCalendar over the calendar class plugged
// into the bridge: answers go into the calendar folder they came from or
// the one holding the event, else the user's default calendar (FolderSync
// type 8); devices see the event under the IDs returned.
type classMeetings struct {
	b     *Bridge
	cls   *engine.Class
	store meetingStore
	zones *caltz.Zones
}

// meetingCalendarOf returns the MeetingCalendar of the bridge's calendar
// class, nil when none is plugged in or it cannot store meetings.
func meetingCalendarOf(b *Bridge) MeetingCalendar {
	cls := b.classOf(engine.KindCalendar)
	if cls == nil {
		return nil
	}
	ms, ok := cls.Source.(meetingStore)
	if !ok || cls.Hierarchy == nil {
		return nil
	}
	return &classMeetings{b: b, cls: cls, store: ms, zones: caltz.New(caltz.Options{})}
}

// errNoCalendar: the user has no calendar to put the meeting in.
var errNoCalendar = errors.New("no calendar")

// calFolder is one calendar folder of the user, with its folder ID.
type calFolder struct {
	id  string
	ref engine.Ref
}

// calendars lists the user's calendar folders, the default one (FolderSync
// type 8) first.
func (c *classMeetings) calendars(ctx context.Context, acct *Account) ([]calFolder, error) {
	folders, err := c.cls.Hierarchy.Folders(ctx, acct.Principal, engine.Client{})
	if err != nil {
		return nil, err
	}
	var refs []engine.Ref
	for _, f := range folders {
		refs = append(refs, f.Ref)
	}
	fm, err := foldermap.ReconcileKinds(ctx, c.b.Store, acct.Address(), c.cls.Hierarchy.Kinds(), refs)
	if err != nil {
		return nil, storeErr(err)
	}
	var out []calFolder
	for _, f := range folders {
		if f.Ref.Kind != engine.KindCalendar {
			continue
		}
		id, ok := fm.ByRef[f.Ref]
		if !ok {
			return nil, fmt.Errorf("calendar %s has no folder ID", f.Ref.Path)
		}
		cf := calFolder{id: id, ref: f.Ref}
		if f.Type == activesync.FolderCalendar {
			out = append([]calFolder{cf}, out...)
		} else {
			out = append(out, cf)
		}
	}
	if len(out) == 0 {
		return nil, errNoCalendar
	}
	return out, nil
}

// calendarFor is the folder an answer to or a CANCEL of the meeting uid
// is written to: the calendar folder the device answered from; else the
// calendar that already holds the event (one query per calendar beyond
// the first, only for users with several); else the default calendar.
// Writing to the default calendar an event another calendar holds would
// show the meeting twice, under a CalendarId of the wrong folder.
func (c *classMeetings) calendarFor(ctx context.Context, acct *Account, uid, from string) (calFolder, error) {
	cals, err := c.calendars(ctx, acct)
	if err != nil {
		return calFolder{}, err
	}
	for _, cf := range cals {
		if cf.id == from {
			return cf, nil
		}
	}
	if len(cals) > 1 {
		for _, cf := range cals {
			held, err := c.store.HoldsUID(ctx, acct.Principal, cf.ref, uid)
			if err != nil {
				return calFolder{}, err
			}
			if held {
				return cf, nil
			}
		}
	}
	return cals[0], nil
}

// errDeclinedAbsent stops a decline from creating an event.
var errDeclinedAbsent = errors.New("declined, not stored")

// Answer implements MeetingCalendar.
func (c *classMeetings) Answer(ctx context.Context, acct *Account, m *imip.Meeting, a calconv.Answer, where AnswerWhere) (string, error) {
	cf, err := c.calendarFor(ctx, acct, m.UID, where.From)
	if err != nil {
		return "", err
	}
	folderID, ref := cf.id, cf.ref
	opt := calconv.Options{Zones: c.zones}
	if !m.RecurrenceID.IsZero() && a.Instance == nil {
		// An invitation to one occurrence is answered for that one only.
		a.Instance = &m.RecurrenceID
	}
	id, err := c.store.StoreMeeting(ctx, acct.Principal, folderID, ref, m.UID, where.Reply, func(stored []byte) ([]byte, error) {
		switch {
		case stored == nil && a.PartStat == imip.PartStatDeclined:
			// Exchange keeps a declined meeting out of the calendar.
			return nil, errDeclinedAbsent
		case stored == nil:
			return calconv.SetPartStat(m.Raw, a, opt)
		case !m.RecurrenceID.IsZero():
			// The organizer changed one occurrence of the stored series:
			// that occurrence is replaced, never the series (the object
			// holds only the override).
			merged, err := calconv.PutOccurrence(stored, m.Raw, m.RecurrenceID, opt)
			if err != nil {
				return nil, err
			}
			return calconv.SetPartStat(merged, a, opt)
		case sequenceOf(m.Raw) > sequenceOf(stored):
			// The organizer changed the meeting since it was stored: the
			// invitation's object, answered, with the user's own alarms.
			return calconv.SetPartStat(calconv.KeepAlarms(m.Raw, stored), a, opt)
		}
		return calconv.SetPartStat(stored, a, opt)
	})
	if errors.Is(err, errDeclinedAbsent) {
		return "", nil
	}
	return id, err
}

// Invitation implements MeetingCalendar: a calendar item read as the
// REQUEST it came from.
func (c *classMeetings) Invitation(ctx context.Context, acct *Account, collectionID, serverID string, ver activesync.Version) (*imip.Meeting, bool, error) {
	ref, ok, err := foldermap.RefOf(ctx, c.b.Store, acct.Address(), collectionID)
	if err != nil {
		return nil, false, storeErr(err)
	}
	if !ok || ref.Kind != engine.KindCalendar {
		return nil, false, nil
	}
	data, err := c.store.ReadItem(ctx, acct.Principal, collectionID, ref, serverID)
	if err != nil {
		return nil, true, fmt.Errorf("%w: %w", send.ErrOriginalGone, err)
	}
	m, err := imip.Parse(data, imip.Options{Version: items.Version(ver), Zones: c.zones, Method: imip.MethodRequest})
	if err != nil {
		return nil, true, fmt.Errorf("%w: %w", errNotInvitation, err)
	}
	return m, true, nil
}

// SchedulesItself implements MeetingCalendar.
func (c *classMeetings) SchedulesItself(ctx context.Context, acct *Account) bool {
	return c.store.SchedulesItself(ctx, acct.Principal)
}

// sequenceOf is the SEQUENCE of an object's first VEVENT (0 if none).
func sequenceOf(data []byte) int {
	cal, err := calconv.ParseICal(data)
	if err != nil {
		return 0
	}
	for _, ch := range cal.Children {
		if ch.Name == ical.CompEvent {
			if p := ch.Props.Get(ical.PropSequence); p != nil {
				n, _ := strconv.Atoi(strings.TrimSpace(p.Value))
				return n
			}
			return 0
		}
	}
	return 0
}

// Cancel implements MeetingCalendar.
func (c *classMeetings) Cancel(ctx context.Context, acct *Account, m *imip.Meeting) error {
	cf, err := c.calendarFor(ctx, acct, m.UID, "")
	if errors.Is(err, errNoCalendar) {
		return nil
	}
	if err != nil {
		return err
	}
	folderID, ref := cf.id, cf.ref
	opt := calconv.Options{Zones: c.zones}
	var instance *time.Time
	if !m.RecurrenceID.IsZero() {
		instance = &m.RecurrenceID
	}
	_, err = c.store.StoreMeeting(ctx, acct.Principal, folderID, ref, m.UID, false, func(stored []byte) ([]byte, error) {
		if stored == nil || sequenceOf(m.Raw) < sequenceOf(stored) {
			// Not in the calendar, or cancelled before a later invitation.
			return nil, nil
		}
		out, changed, err := calconv.MarkCancelled(stored, instance, opt)
		if err != nil || !changed {
			return nil, err
		}
		return out, nil
	})
	return err
}
