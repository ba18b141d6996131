package calconv

import (
	"bytes"
	"errors"
	"fmt"
	"html"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-ical"
	"github.com/idlebridge/idlebridge/activesync/items"
)

// Options say for whom and in which form an item is converted.
type Options struct {
	Version items.Version
	Zones   Zones
	// UserZone is the user's zone: floating times are read in it, and
	// 12.1–14.1 all-day events are sent as its local midnight (research
	// note P3). nil means UTC.
	UserZone *time.Location
	// UserEmail tells organizer from attendee (MeetingStatus, ResponseType).
	UserEmail string
	// UserName is the user's display name, for the ORGANIZER a merge adds
	// to an event the device invites to; "" leaves CN out.
	UserName string
	// BodyType is the preferred AirSyncBase body type: 2 for HTML, else plain.
	BodyType int
	// TruncationSize caps the body in bytes; 0 means no cap.
	TruncationSize int
	// Now is the time a series' TimeZone rules are taken at (blobYear);
	// zero means the clock's.
	Now time.Time
}

func (o Options) now() time.Time {
	if o.Now.IsZero() {
		return time.Now()
	}
	return o.Now
}

func (o Options) userZone() *time.Location {
	if o.UserZone == nil {
		return time.UTC
	}
	return o.UserZone
}

// Result is a converted event.
type Result struct {
	Item *items.Calendar
	// Inexpressible lists what of the object EAS cannot carry (an RRULE
	// with BYHOUR, an RDATE, …). The parts are left out of Item rather than
	// simplified, and the caller should make the item read-only on the
	// device so a Change cannot overwrite what it never saw (P7).
	Inexpressible []string
}

// ErrNoEvent is returned for a VCALENDAR without a master VEVENT.
var ErrNoEvent = errors.New("calconv: no VEVENT without RECURRENCE-ID")

// ParseICal decodes an iCalendar object. go-ical's decoder panics on some
// malformed parameter lists (found by FuzzFromICal: "0;0="), so the panic
// is turned into an error here: a broken object from the server must cost
// one item, never the process.
func ParseICal(data []byte) (cal *ical.Calendar, err error) {
	defer func() {
		if r := recover(); r != nil {
			cal, err = nil, fmt.Errorf("calconv: parse iCalendar: %v", r)
		}
	}()
	cal, err = ical.NewDecoder(bytes.NewReader(data)).Decode()
	if err != nil {
		return nil, fmt.Errorf("calconv: parse iCalendar: %w", err)
	}
	return cal, nil
}

// FromICal converts a stored VCALENDAR holding one event series (the
// master VEVENT and its RECURRENCE-ID overrides) to a Calendar item.
func FromICal(data []byte, opt Options) (*Result, error) {
	cal, err := ParseICal(data)
	if err != nil {
		return nil, err
	}
	return EventFromCalendar(cal.Component, opt)
}

// EventFromCalendar is FromICal on a decoded VCALENDAR.
func EventFromCalendar(cal *ical.Component, opt Options) (*Result, error) {
	var master *ical.Component
	var overrides []*ical.Component
	for _, c := range cal.Children {
		if c.Name != ical.CompEvent {
			continue
		}
		if c.Props.Get(ical.PropRecurrenceID) != nil {
			overrides = append(overrides, c)
		} else if master == nil {
			master = c
		}
	}
	if master == nil {
		return nil, ErrNoEvent
	}
	cv := &eventConv{opt: opt, tr: newTimeReader(cal, opt.Zones, opt.userZone())}
	res := &Result{Item: &items.Calendar{}}
	c := res.Item
	ev, start, err := cv.event(master)
	if err != nil {
		return nil, err
	}
	c.Event = *ev
	if uid := master.Props.Get(ical.PropUID); uid != nil {
		c.UID = items.Ptr(clean(uid.Value))
	}
	if org := master.Props.Get(ical.PropOrganizer); org != nil {
		if email := calAddress(org); email != "" {
			c.OrganizerEmail = items.Ptr(email)
			c.OrganizerName = items.Ptr(nameOr(org, email))
		}
	}
	if alt := master.Props.Get("X-ALT-DESC"); alt != nil && strings.EqualFold(alt.Params.Get(ical.ParamFormatType), "text/html") {
		c.NativeBodyType = items.Ptr(items.BodyHTML)
	} else if c.Body != nil {
		c.NativeBodyType = items.Ptr(items.BodyPlain)
	}
	if opt.Version >= items.V140 && len(c.Attendees) > 0 {
		c.ResponseRequested = items.Ptr(true)
	}
	if p := master.Props.Get("X-MICROSOFT-DISALLOW-COUNTER"); p != nil {
		c.DisallowNewTimeProposal = items.Ptr(strings.EqualFold(p.Value, "TRUE"))
	}

	why, err := cv.recurrence(master, overrides, start, c)
	if err != nil {
		return nil, err
	}
	if why != "" {
		res.Inexpressible = append(res.Inexpressible, why)
		c.Recurrence, c.Exceptions = nil, nil
	}
	if !start.date || opt.Version < items.V160 {
		// MS-ASCAL 2.2.2.44; 16.x all-day items carry no TimeZone (P3).
		c.TimeZone = opt.Zones.Blob(cv.seriesZone(start), blobYear(*c.StartTime, c.Recurrence, opt.now()))
	}
	return res, nil
}

// blobYear is the year whose rules a TimeZone blob carries for an event
// starting at start: its own, or for a series still running the current
// one. The blob holds one rule set (MS-ASDTYPE 2.7.6) that the device
// applies to every occurrence, so a series begun before its zone's rules
// changed (the United States in 2007) would otherwise show this year's
// occurrences an hour off for weeks.
func blobYear(start time.Time, rec *items.Recurrence, now time.Time) int {
	y := start.Year()
	if rec == nil {
		return y
	}
	cur := now.Year()
	if rec.Until != nil && rec.Until.Year() < cur {
		cur = rec.Until.Year()
	}
	return max(y, cur)
}

type eventConv struct {
	opt Options
	tr  *timeReader
}

// seriesZone is the zone EAS is told the series lives in: the DTSTART's,
// or the user's for UTC, floating and all-day times.
func (cv *eventConv) seriesZone(start when) *time.Location {
	if start.tzid != "" {
		return start.loc
	}
	return cv.opt.userZone()
}

// instant is the EAS form of a time: the instant itself, or for a DATE
// local midnight in the user's zone (≤ 14.1) or the date at 00:00Z (16.x),
// MS-ASCAL 2.2.2.1 and research note P3.
func (cv *eventConv) instant(w when) time.Time {
	if !w.date {
		return w.t.UTC()
	}
	if cv.opt.Version >= items.V160 {
		return w.t
	}
	y, m, d := w.t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, cv.opt.userZone()).UTC()
}

// event converts the fields a VEVENT shares with an exception.
func (cv *eventConv) event(c *ical.Component) (*items.Event, when, error) {
	e := &items.Event{}
	start, ok, err := cv.tr.readProp(c, ical.PropDateTimeStart)
	if err != nil {
		return nil, start, err
	}
	if !ok {
		return nil, start, fmt.Errorf("calconv: VEVENT without DTSTART")
	}
	end, ok, err := cv.tr.readProp(c, ical.PropDateTimeEnd)
	if err != nil {
		return nil, start, err
	}
	if !ok {
		// RFC 5545 3.6.1: DURATION, else one day for a DATE, else no length.
		end = start
		if p := c.Props.Get(ical.PropDuration); p != nil {
			d, err := p.Duration()
			if err != nil {
				return nil, start, fmt.Errorf("calconv: DURATION: %w", err)
			}
			end.t = start.t.Add(d)
		} else if start.date {
			end.t = start.t.AddDate(0, 0, 1)
		}
	}
	if start.date != end.date {
		return nil, start, fmt.Errorf("calconv: DTSTART and DTEND of different types")
	}
	e.AllDayEvent = items.Ptr(start.date)
	e.StartTime, e.EndTime = items.Ptr(cv.instant(start)), items.Ptr(cv.instant(end))
	if !inRange(*e.StartTime) || !inRange(*e.EndTime) {
		return nil, start, fmt.Errorf("calconv: event time outside the years 1601–9999")
	}
	if p := c.Props.Get(ical.PropDateTimeStamp); p != nil {
		if w, err := cv.tr.read(p, p.Value); err == nil && inRange(w.t) {
			e.DtStamp = items.Ptr(w.t.UTC())
		}
	}
	if e.Subject, err = text(c, ical.PropSummary); err != nil {
		return nil, start, err
	}
	if e.Location, err = text(c, ical.PropLocation); err != nil {
		return nil, start, err
	}
	if e.Body, err = cv.body(c); err != nil {
		return nil, start, err
	}
	e.Sensitivity = items.Ptr(sensitivity(c))
	e.BusyStatus = items.Ptr(busyStatus(c))
	e.Reminder = reminder(c, e.StartTime.Sub(*e.EndTime))
	if cats, err := categories(c); err != nil {
		return nil, start, err
	} else if cats != nil {
		e.Categories = cats
	}
	cv.attendees(c, e)
	return e, start, nil
}

// inRange reports whether t fits the EAS date forms: four-digit years, and
// no earlier than the Windows epoch the devices count from.
func inRange(t time.Time) bool {
	y := t.UTC().Year()
	return y >= 1601 && y <= 9999
}

func text(c *ical.Component, name string) (*string, error) {
	p := c.Props.Get(name)
	if p == nil {
		return nil, nil
	}
	s, err := p.Text()
	if err != nil {
		return nil, fmt.Errorf("calconv: %s: %w", name, err)
	}
	s = clean(s)
	return &s, nil
}

// clean makes server text fit WBXML STR_I: valid UTF-8 without NUL, which
// ends an inline string (MS-ASWBXML 2.1.2.1).
func clean(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

// body is DESCRIPTION, or the X-ALT-DESC HTML when the device prefers HTML
// (research note §2.6).
func (cv *eventConv) body(c *ical.Component) (*items.Body, error) {
	plain, err := text(c, ical.PropDescription)
	if err != nil {
		return nil, err
	}
	b := &items.Body{Type: items.BodyPlain}
	switch {
	case cv.opt.BodyType == items.BodyHTML:
		b.Type = items.BodyHTML
		if alt := c.Props.Get("X-ALT-DESC"); alt != nil && strings.EqualFold(alt.Params.Get(ical.ParamFormatType), "text/html") {
			s, err := alt.Text()
			if err != nil {
				return nil, fmt.Errorf("calconv: X-ALT-DESC: %w", err)
			}
			b.Data = clean(s)
		} else if plain != nil {
			b.Data = "<html><body>" + strings.ReplaceAll(html.EscapeString(*plain), "\n", "<br>") + "</body></html>"
		} else {
			return nil, nil
		}
	case plain != nil:
		b.Data = *plain
	default:
		return nil, nil
	}
	b.EstimatedDataSize = len(b.Data)
	if n := cv.opt.TruncationSize; n > 0 && len(b.Data) > n {
		for n > 0 && !utf8.RuneStart(b.Data[n]) {
			n--
		}
		b.Data, b.Truncated = b.Data[:n], true
	}
	return b, nil
}

// sensitivity maps CLASS (research note §2.6): EAS 1 "personal" has no
// iCalendar value.
func sensitivity(c *ical.Component) int {
	if p := c.Props.Get(ical.PropClass); p != nil {
		switch strings.ToUpper(p.Value) {
		case "PRIVATE":
			return 2
		case "CONFIDENTIAL":
			return 3
		}
	}
	return 0
}

// busyNames are the MS-OXCICAL busy status values in EAS BusyStatus order.
const busyNames = "FREE TENTATIVE BUSY OOF WORKINGELSEWHERE"

// busyStatus reads the MS-OXCICAL busy status, else TRANSP and STATUS.
func busyStatus(c *ical.Component) int {
	for _, name := range []string{"X-MICROSOFT-CDO-BUSYSTATUS", "X-MICROSOFT-CDO-INTENDEDSTATUS"} {
		if p := c.Props.Get(name); p != nil {
			if n := slices.Index(strings.Fields(busyNames), strings.ToUpper(p.Value)); n >= 0 {
				return n
			}
		}
	}
	if p := c.Props.Get(ical.PropTransparency); p != nil && strings.EqualFold(p.Value, "TRANSPARENT") {
		return 0
	}
	if p := c.Props.Get(ical.PropStatus); p != nil && strings.EqualFold(p.Value, "TENTATIVE") {
		return 1
	}
	return 2
}

// firstAlarm is the VALARM that Reminder stands for: the first DISPLAY or
// AUDIO alarm (research note P13); the others are never touched.
func firstAlarm(c *ical.Component) *ical.Component {
	for _, a := range c.Children {
		if a.Name != ical.CompAlarm {
			continue
		}
		if act := a.Props.Get(ical.PropAction); act != nil && (strings.EqualFold(act.Value, "DISPLAY") || strings.EqualFold(act.Value, "AUDIO")) {
			return a
		}
	}
	return nil
}

// reminder is the first alarm's lead time in minutes before the start;
// negLen is start−end, for triggers related to the end.
func reminder(c *ical.Component, negLen time.Duration) *int {
	a := firstAlarm(c)
	if a == nil {
		return nil
	}
	p := a.Props.Get(ical.PropTrigger)
	if p == nil || strings.EqualFold(p.Params.Get(ical.ParamValue), "DATE-TIME") {
		// An absolute trigger needs the start in the same frame; EAS
		// clients rarely see them, so leave Reminder out.
		return nil
	}
	d, err := p.Duration()
	if err != nil {
		return nil
	}
	if strings.EqualFold(p.Params.Get(ical.ParamRelated), "END") {
		d -= negLen
	}
	if d > 0 {
		return nil // after the start: no EAS form
	}
	return items.Ptr(int(-d / time.Minute))
}

func categories(c *ical.Component) ([]string, error) {
	var out []string
	for i := range c.Props[ical.PropCategories] {
		l, err := c.Props[ical.PropCategories][i].TextList()
		if err != nil {
			return nil, fmt.Errorf("calconv: CATEGORIES: %w", err)
		}
		for _, s := range l {
			if s = strings.TrimSpace(clean(s)); s != "" {
				out = append(out, s)
			}
		}
	}
	return out, nil
}

// calAddress is the e-mail of an ORGANIZER or ATTENDEE: the mailto: value,
// else the EMAIL parameter (RFC 7986 6.2).
func calAddress(p *ical.Prop) string {
	if v := p.Value; len(v) > 7 && strings.EqualFold(v[:7], "mailto:") {
		return clean(v[7:])
	}
	return clean(p.Params.Get("EMAIL"))
}

func nameOr(p *ical.Prop, email string) string {
	if cn := clean(p.Params.Get(ical.ParamCommonName)); cn != "" {
		return cn
	}
	return email
}

// partStat maps PARTSTAT to AttendeeStatus (research note P12).
func partStat(s string) int {
	switch strings.ToUpper(s) {
	case "NEEDS-ACTION":
		return items.AttendeeNotResponded
	case "TENTATIVE":
		return items.AttendeeTentative
	case "ACCEPTED":
		return items.AttendeeAccepted
	case "DECLINED":
		return items.AttendeeDeclined
	}
	return items.AttendeeResponseUnknown
}

// attendees fills Attendees, MeetingStatus and ResponseType (research note
// P12, §2.6).
func (cv *eventConv) attendees(c *ical.Component, e *items.Event) {
	org := ""
	if p := c.Props.Get(ical.PropOrganizer); p != nil {
		org = calAddress(p)
	}
	isOrganizer := org == "" || strings.EqualFold(org, cv.opt.UserEmail)
	var own *int
	for i := range c.Props[ical.PropAttendee] {
		p := &c.Props[ical.PropAttendee][i]
		email := calAddress(p)
		if email == "" || strings.EqualFold(email, org) {
			continue // EAS needs an e-mail; the organizer is shown apart
		}
		a := items.Attendee{Email: email, Name: nameOr(p, email)}
		st := partStat(p.Params.Get(ical.ParamParticipationStatus))
		a.Status = items.Ptr(st)
		typ := items.AttendeeRequired
		switch strings.ToUpper(p.Params.Get(ical.ParamCalendarUserType)) {
		case "RESOURCE", "ROOM":
			typ = items.AttendeeResource
		default:
			if r := strings.ToUpper(p.Params.Get(ical.ParamRole)); r == "OPT-PARTICIPANT" || r == "NON-PARTICIPANT" {
				typ = items.AttendeeOptional
			}
		}
		a.Type = items.Ptr(typ)
		if strings.EqualFold(email, cv.opt.UserEmail) {
			own = items.Ptr(st)
		}
		e.Attendees = append(e.Attendees, a)
	}
	cancelled := false
	if p := c.Props.Get(ical.PropStatus); p != nil && strings.EqualFold(p.Value, "CANCELLED") {
		cancelled = true
	}
	// MS-ASCAL 2.2.2.29 MeetingStatus: 0 appointment, 1 meeting organized
	// by the user, 3 received, 5/7 their cancelled forms.
	status := 0
	switch {
	case len(e.Attendees) == 0:
	case isOrganizer && cancelled:
		status = 5
	case isOrganizer:
		status = 1
	case cancelled:
		status = 7
	default:
		status = 3
	}
	e.MeetingStatus = items.Ptr(status)
	if cv.opt.Version >= items.V140 && len(e.Attendees) > 0 {
		// MS-ASCAL 2.2.2.41 ResponseType: 1 organizer, else the user's own answer.
		switch {
		case isOrganizer:
			e.ResponseType = items.Ptr(1)
		case own != nil && *own == items.AttendeeResponseUnknown:
			e.ResponseType = items.Ptr(0)
		case own != nil:
			e.ResponseType = own
		}
	}
}
