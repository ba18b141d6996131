package items

import (
	"fmt"
	"time"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// Attendee status and type values (MS-ASCAL 2.2.2.4, 2.2.2.5).
const (
	AttendeeResponseUnknown = 0
	AttendeeTentative       = 2
	AttendeeAccepted        = 3
	AttendeeDeclined        = 4
	AttendeeNotResponded    = 5

	AttendeeRequired = 1
	AttendeeOptional = 2
	AttendeeResource = 3
)

// Attendee is one Calendar Attendee (MS-ASCAL 2.2.2.3).
type Attendee struct {
	Email  string
	Name   string
	Status *int // AttendeeStatus, responses only
	Type   *int // AttendeeType
}

// Event holds the fields a Calendar item and one of its exceptions share;
// in an Exception, nil means "as the series" (MS-ASCAL 2.2.2.42 and siblings).
type Event struct {
	AllDayEvent   *bool
	StartTime     *time.Time
	EndTime       *time.Time
	DtStamp       *time.Time
	Subject       *string
	Location      *string // calendar:Location ≤ 14.1, airsyncbase:Location/DisplayName in 16.x
	Body          *Body
	BusyStatus    *int // 0 free, 1 tentative, 2 busy, 3 out of office, 4 working elsewhere
	Sensitivity   *int // 0 normal, 1 personal, 2 private, 3 confidential
	Reminder      *int // minutes before StartTime
	MeetingStatus *int
	Categories    []string   // nil absent, empty = sent empty
	Attendees     []Attendee // nil absent, empty = sent empty

	ResponseType              *int // 14.0+
	AppointmentReplyTime      *time.Time
	OnlineMeetingConfLink     *string // 14.1+
	OnlineMeetingExternalLink *string
}

// Calendar is one item of the Calendar class (MS-ASCAL 2.2.2).
type Calendar struct {
	Event
	TimeZone                []byte // MS-ASDTYPE 2.7.6 blob, raw; nil = absent
	UID                     *string
	ClientUID               *string // 16.x, MS-ASCAL 2.2.2.13
	OrganizerName           *string // responses only in 16.x (MS-ASCAL 2.2.2.36)
	OrganizerEmail          *string
	Recurrence              *Recurrence
	Exceptions              []Exception // nil absent; 16.x devices never send it (MS-ASCAL 2.2.2.22)
	ResponseRequested       *bool       // 14.0+
	DisallowNewTimeProposal *bool
	NativeBodyType          *int
	// InstanceID is the 16.x airsyncbase:InstanceId at the ApplicationData
	// level: a Change of one instance of a series (MS-ASAIRS 2.2.2.25), or an
	// orphan instance in a response.
	InstanceID *time.Time
}

// Exception is one Calendar Exception (MS-ASCAL 2.2.2.21): an instance of
// the series deleted or changed. Start is the instance's original start in
// UTC: ExceptionStartTime up to 14.1, airsyncbase:InstanceId in 16.x.
type Exception struct {
	Event
	Start   time.Time
	Deleted bool
}

// Encode returns the ApplicationData element for a response of protocol
// version v, leaving out what v does not define.
func (c *Calendar) Encode(v Version) *wbxml.Element {
	app := wbxml.New(wbxml.AirSync, "ApplicationData")
	if c.TimeZone != nil {
		// The blob travels as base64 text (MS-ASCAL 2.2.2.44); TbSync cannot
		// read OPAQUE where a string is allowed.
		calTimeZone.text(app, encodeBase64(c.TimeZone))
	}
	c.Event.encode(app, v, true)
	if c.OrganizerName != nil {
		calOrganizerName.text(app, *c.OrganizerName)
	}
	if c.OrganizerEmail != nil {
		calOrganizerEmail.text(app, *c.OrganizerEmail)
	}
	if c.UID != nil {
		calUID.text(app, *c.UID)
	}
	c.Recurrence.encode(app, calRecTags, v)
	if len(c.Exceptions) > 0 {
		ex := calExceptions.add(app)
		for i := range c.Exceptions {
			c.Exceptions[i].encode(ex, v)
		}
	}
	if v >= V140 && c.ResponseRequested != nil {
		calResponseRequested.text(app, btoa(*c.ResponseRequested))
	}
	if v >= V140 && c.DisallowNewTimeProposal != nil {
		calDisallowNewTimeProposal.text(app, btoa(*c.DisallowNewTimeProposal))
	}
	if v >= V160 && c.ClientUID != nil {
		calClientUID.text(app, *c.ClientUID)
	}
	if v >= V160 && c.InstanceID != nil {
		baseInstanceID.text(app, FormatCompact(*c.InstanceID))
	}
	if c.NativeBodyType != nil {
		baseNativeBodyType.text(app, itoa(*c.NativeBodyType))
	}
	return app
}

func (x *Exception) encode(parent *wbxml.Element, v Version) {
	el := calException.add(parent)
	if x.Deleted {
		calDeleted.text(el, "1")
	}
	// MS-ASAIRS 2.2.2.25: in 16.x the instance is named by InstanceId.
	if v >= V160 {
		baseInstanceID.text(el, FormatCompact(x.Start))
	} else {
		calExceptionStartTime.text(el, FormatCompact(x.Start))
	}
	if !x.Deleted {
		x.Event.encode(el, v, false)
	}
}

func (e *Event) encode(el *wbxml.Element, v Version, top bool) {
	if e.AllDayEvent != nil {
		calAllDayEvent.text(el, btoa(*e.AllDayEvent))
	}
	e.Body.encode(el)
	if e.BusyStatus != nil {
		calBusyStatus.text(el, itoa(*e.BusyStatus))
	}
	if e.DtStamp != nil {
		calDtStamp.text(el, FormatCompact(*e.DtStamp))
	}
	if e.EndTime != nil {
		calEndTime.text(el, FormatCompact(*e.EndTime))
	}
	if e.Location != nil {
		if v >= V160 {
			// MS-ASCAL 2.2.2.27: 16.x uses airsyncbase:Location (MS-ASAIRS 2.2.2.27).
			loc := baseLocation.add(el)
			baseDisplayName.text(loc, *e.Location)
		} else {
			calLocation.text(el, *e.Location)
		}
	}
	if e.Reminder != nil {
		calReminder.text(el, itoa(*e.Reminder))
	}
	if e.Sensitivity != nil {
		calSensitivity.text(el, itoa(*e.Sensitivity))
	}
	if e.Subject != nil {
		calSubject.text(el, *e.Subject)
	}
	if e.StartTime != nil {
		calStartTime.text(el, FormatCompact(*e.StartTime))
	}
	if e.MeetingStatus != nil {
		calMeetingStatus.text(el, itoa(*e.MeetingStatus))
	}
	if len(e.Attendees) > 0 {
		atts := calAttendees.add(el)
		for _, a := range e.Attendees {
			at := calAttendee.add(atts)
			calEmail.text(at, a.Email)
			calName.text(at, a.Name)
			if a.Status != nil {
				calAttendeeStatus.text(at, itoa(*a.Status))
			}
			if a.Type != nil {
				calAttendeeType.text(at, itoa(*a.Type))
			}
		}
	}
	if len(e.Categories) > 0 {
		cats := calCategories.add(el)
		for _, c := range e.Categories {
			calCategory.text(cats, c)
		}
	}
	if v >= V140 && e.ResponseType != nil {
		calResponseType.text(el, itoa(*e.ResponseType))
	}
	if v >= V140 && e.AppointmentReplyTime != nil {
		calAppointmentReplyTime.text(el, FormatDashes(*e.AppointmentReplyTime))
	}
	if v >= V141 && e.OnlineMeetingConfLink != nil {
		calOnlineMeetingConfLink.text(el, *e.OnlineMeetingConfLink)
	}
	if v >= V141 && e.OnlineMeetingExternalLink != nil {
		calOnlineMeetingExternalLink.text(el, *e.OnlineMeetingExternalLink)
	}
}

// DecodeCalendar reads the ApplicationData of a device's Add or Change. It
// accepts every version's form of an element (calendar:Location and
// airsyncbase:Location alike) and ignores what a version forbids clients
// to send rather than failing the item.
func DecodeCalendar(app *wbxml.Element, v Version) (*Calendar, error) {
	c := &Calendar{}
	if err := c.Event.decode(app); err != nil {
		return nil, err
	}
	if tz := calTimeZone.child(app); tz != nil && tz.Content() != "" {
		blob, err := decodeBlob(tz)
		if err != nil {
			return nil, err
		}
		c.TimeZone = blob
	}
	c.UID = optString(calUID.child(app))
	c.ClientUID = optString(calClientUID.child(app))
	if v < V160 {
		// MS-ASCAL 2.2.2.35/36: a 16.x client MUST NOT send these; accept and
		// ignore them there (Horde rejects, which loses the item).
		c.OrganizerName = optString(calOrganizerName.child(app))
		c.OrganizerEmail = optString(calOrganizerEmail.child(app))
	}
	var err error
	if c.Recurrence, err = decodeRecurrence(app, calRecTags); err != nil {
		return nil, err
	}
	if c.ResponseRequested, err = optBool(calResponseRequested.child(app), "ResponseRequested"); err != nil {
		return nil, err
	}
	if c.DisallowNewTimeProposal, err = optBool(calDisallowNewTimeProposal.child(app), "DisallowNewTimeProposal"); err != nil {
		return nil, err
	}
	if c.NativeBodyType, err = optInt(baseNativeBodyType.child(app), "NativeBodyType"); err != nil {
		return nil, err
	}
	if c.InstanceID, err = optTime(baseInstanceID.child(app)); err != nil {
		return nil, err
	}
	if exs := calExceptions.child(app); exs != nil {
		c.Exceptions = []Exception{}
		for _, xel := range calException.all(exs) {
			x := Exception{}
			start := calExceptionStartTime.child(xel)
			if start == nil {
				start = baseInstanceID.child(xel)
			}
			t, err := optTime(start)
			if err != nil {
				return nil, err
			}
			if t == nil {
				return nil, fmt.Errorf("items: Exception without ExceptionStartTime or InstanceId")
			}
			x.Start = *t
			del, err := optBool(calDeleted.child(xel), "Deleted")
			if err != nil {
				return nil, err
			}
			x.Deleted = del != nil && *del
			if err := x.Event.decode(xel); err != nil {
				return nil, err
			}
			c.Exceptions = append(c.Exceptions, x)
		}
	}
	return c, nil
}

func (e *Event) decode(el *wbxml.Element) error {
	var err error
	if e.AllDayEvent, err = optBool(calAllDayEvent.child(el), "AllDayEvent"); err != nil {
		return err
	}
	for _, f := range []struct {
		tag calTag
		dst **time.Time
	}{{calStartTime, &e.StartTime}, {calEndTime, &e.EndTime}, {calDtStamp, &e.DtStamp}, {calAppointmentReplyTime, &e.AppointmentReplyTime}} {
		if *f.dst, err = optTime(f.tag.child(el)); err != nil {
			return fmt.Errorf("items: %s: %w", f.tag, err)
		}
	}
	for _, f := range []struct {
		tag calTag
		dst **int
	}{{calBusyStatus, &e.BusyStatus}, {calSensitivity, &e.Sensitivity}, {calReminder, &e.Reminder},
		{calMeetingStatus, &e.MeetingStatus}, {calResponseType, &e.ResponseType}} {
		if *f.dst, err = optInt(f.tag.child(el), string(f.tag)); err != nil {
			return err
		}
	}
	e.Subject = optString(calSubject.child(el))
	e.OnlineMeetingConfLink = optString(calOnlineMeetingConfLink.child(el))
	e.OnlineMeetingExternalLink = optString(calOnlineMeetingExternalLink.child(el))
	if loc := baseLocation.child(el); loc != nil {
		s := text(baseDisplayName.child(loc))
		e.Location = &s
	} else {
		e.Location = optString(calLocation.child(el))
	}
	if e.Body, err = decodeBody(el); err != nil {
		return err
	}
	if cats := calCategories.child(el); cats != nil {
		e.Categories = []string{}
		for _, c := range calCategory.all(cats) {
			e.Categories = append(e.Categories, text(c))
		}
	}
	if atts := calAttendees.child(el); atts != nil {
		e.Attendees = []Attendee{}
		for _, ael := range calAttendee.all(atts) {
			a := Attendee{Email: text(calEmail.child(ael)), Name: text(calName.child(ael))}
			if a.Status, err = optInt(calAttendeeStatus.child(ael), "AttendeeStatus"); err != nil {
				return err
			}
			if a.Type, err = optInt(calAttendeeType.child(ael), "AttendeeType"); err != nil {
				return err
			}
			e.Attendees = append(e.Attendees, a)
		}
	}
	return nil
}
