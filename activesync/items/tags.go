package items

import "github.com/idlebridge/idlebridge/activesync/wbxml"

// calTag is a tag of the Calendar code page (MS-ASWBXML 2.1.2.1.5). Only
// these constants are passed to the encoding helpers, so a tag that is not
// listed here does not compile.
type calTag string

const (
	calTimeZone                  calTag = "TimeZone"
	calAllDayEvent               calTag = "AllDayEvent"
	calAttendees                 calTag = "Attendees"
	calAttendee                  calTag = "Attendee"
	calEmail                     calTag = "Email"
	calName                      calTag = "Name"
	calBusyStatus                calTag = "BusyStatus"
	calCategories                calTag = "Categories"
	calCategory                  calTag = "Category"
	calDtStamp                   calTag = "DtStamp"
	calEndTime                   calTag = "EndTime"
	calException                 calTag = "Exception"
	calExceptions                calTag = "Exceptions"
	calDeleted                   calTag = "Deleted"
	calExceptionStartTime        calTag = "ExceptionStartTime"
	calLocation                  calTag = "Location"
	calMeetingStatus             calTag = "MeetingStatus"
	calOrganizerEmail            calTag = "OrganizerEmail"
	calOrganizerName             calTag = "OrganizerName"
	calRecurrence                calTag = "Recurrence"
	calType                      calTag = "Type"
	calUntil                     calTag = "Until"
	calOccurrences               calTag = "Occurrences"
	calInterval                  calTag = "Interval"
	calDayOfWeek                 calTag = "DayOfWeek"
	calDayOfMonth                calTag = "DayOfMonth"
	calWeekOfMonth               calTag = "WeekOfMonth"
	calMonthOfYear               calTag = "MonthOfYear"
	calReminder                  calTag = "Reminder"
	calSensitivity               calTag = "Sensitivity"
	calSubject                   calTag = "Subject"
	calStartTime                 calTag = "StartTime"
	calUID                       calTag = "UID"
	calAttendeeStatus            calTag = "AttendeeStatus"
	calAttendeeType              calTag = "AttendeeType"
	calDisallowNewTimeProposal   calTag = "DisallowNewTimeProposal"
	calResponseRequested         calTag = "ResponseRequested"
	calAppointmentReplyTime      calTag = "AppointmentReplyTime"
	calResponseType              calTag = "ResponseType"
	calCalendarType              calTag = "CalendarType"
	calIsLeapMonth               calTag = "IsLeapMonth"
	calFirstDayOfWeek            calTag = "FirstDayOfWeek"
	calOnlineMeetingConfLink     calTag = "OnlineMeetingConfLink"
	calOnlineMeetingExternalLink calTag = "OnlineMeetingExternalLink"
	calClientUID                 calTag = "ClientUid"
)

// taskTag is a tag of the Tasks code page (MS-ASWBXML 2.1.2.1.10).
type taskTag string

const (
	taskCategories     taskTag = "Categories"
	taskCategory       taskTag = "Category"
	taskComplete       taskTag = "Complete"
	taskDateCompleted  taskTag = "DateCompleted"
	taskDueDate        taskTag = "DueDate"
	taskUtcDueDate     taskTag = "UtcDueDate"
	taskImportance     taskTag = "Importance"
	taskRecurrence     taskTag = "Recurrence"
	taskType           taskTag = "Type"
	taskStart          taskTag = "Start"
	taskUntil          taskTag = "Until"
	taskOccurrences    taskTag = "Occurrences"
	taskInterval       taskTag = "Interval"
	taskDayOfMonth     taskTag = "DayOfMonth"
	taskDayOfWeek      taskTag = "DayOfWeek"
	taskWeekOfMonth    taskTag = "WeekOfMonth"
	taskMonthOfYear    taskTag = "MonthOfYear"
	taskRegenerate     taskTag = "Regenerate"
	taskDeadOccur      taskTag = "DeadOccur"
	taskReminderSet    taskTag = "ReminderSet"
	taskReminderTime   taskTag = "ReminderTime"
	taskSensitivity    taskTag = "Sensitivity"
	taskStartDate      taskTag = "StartDate"
	taskUtcStartDate   taskTag = "UtcStartDate"
	taskSubject        taskTag = "Subject"
	taskCalendarType   taskTag = "CalendarType"
	taskIsLeapMonth    taskTag = "IsLeapMonth"
	taskFirstDayOfWeek taskTag = "FirstDayOfWeek"
)

// baseTag is a tag of the AirSyncBase code page (MS-ASWBXML 2.1.2.1.18).
type baseTag string

const (
	baseType           baseTag = "Type"
	baseBody           baseTag = "Body"
	baseData           baseTag = "Data"
	baseEstimatedSize  baseTag = "EstimatedDataSize"
	baseTruncated      baseTag = "Truncated"
	baseNativeBodyType baseTag = "NativeBodyType"
	basePreview        baseTag = "Preview"
	baseLocation       baseTag = "Location"
	baseDisplayName    baseTag = "DisplayName"
	baseInstanceID     baseTag = "InstanceId"
)

// The typed helpers below are the only way this package names a tag.

func (t calTag) child(e *wbxml.Element) *wbxml.Element  { return e.Child(wbxml.Calendar, string(t)) }
func (t calTag) all(e *wbxml.Element) []*wbxml.Element  { return e.All(wbxml.Calendar, string(t)) }
func (t calTag) add(e *wbxml.Element) *wbxml.Element    { return e.Add(wbxml.Calendar, string(t)) }
func (t calTag) text(e *wbxml.Element, s string)        { e.AddText(wbxml.Calendar, string(t), s) }
func (t taskTag) child(e *wbxml.Element) *wbxml.Element { return e.Child(wbxml.Tasks, string(t)) }
func (t taskTag) all(e *wbxml.Element) []*wbxml.Element { return e.All(wbxml.Tasks, string(t)) }
func (t taskTag) add(e *wbxml.Element) *wbxml.Element   { return e.Add(wbxml.Tasks, string(t)) }
func (t taskTag) text(e *wbxml.Element, s string)       { e.AddText(wbxml.Tasks, string(t), s) }
func (t baseTag) child(e *wbxml.Element) *wbxml.Element { return e.Child(wbxml.AirSyncBase, string(t)) }
func (t baseTag) add(e *wbxml.Element) *wbxml.Element   { return e.Add(wbxml.AirSyncBase, string(t)) }
func (t baseTag) text(e *wbxml.Element, s string)       { e.AddText(wbxml.AirSyncBase, string(t), s) }
