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
	baseAttachments    baseTag = "Attachments"
	baseAttachment     baseTag = "Attachment"
	baseFileReference  baseTag = "FileReference"
	baseMethod         baseTag = "Method"
	baseContentID      baseTag = "ContentId"
	baseIsInline       baseTag = "IsInline"
)

// emailTag is a tag of the Email code page (MS-ASWBXML 2.1.2.1.3).
type emailTag string

const (
	emailTo                      emailTag = "To"
	emailCc                      emailTag = "Cc"
	emailFrom                    emailTag = "From"
	emailSubject                 emailTag = "Subject"
	emailReplyTo                 emailTag = "ReplyTo"
	emailDateReceived            emailTag = "DateReceived"
	emailDisplayTo               emailTag = "DisplayTo"
	emailThreadTopic             emailTag = "ThreadTopic"
	emailImportance              emailTag = "Importance"
	emailRead                    emailTag = "Read"
	emailMessageClass            emailTag = "MessageClass"
	emailInternetCPID            emailTag = "InternetCPID"
	emailFlag                    emailTag = "Flag"
	emailFlagStatus              emailTag = "FlagStatus"
	emailFlagType                emailTag = "FlagType"
	emailContentClass            emailTag = "ContentClass"
	emailCategories              emailTag = "Categories"
	emailCategory                emailTag = "Category"
	emailMeetingRequest          emailTag = "MeetingRequest"
	emailAllDayEvent             emailTag = "AllDayEvent"
	emailStartTime               emailTag = "StartTime"
	emailDtStamp                 emailTag = "DtStamp"
	emailEndTime                 emailTag = "EndTime"
	emailInstanceType            emailTag = "InstanceType"
	emailLocation                emailTag = "Location"
	emailOrganizer               emailTag = "Organizer"
	emailRecurrenceID            emailTag = "RecurrenceId"
	emailReminder                emailTag = "Reminder"
	emailResponseRequested       emailTag = "ResponseRequested"
	emailRecurrences             emailTag = "Recurrences"
	emailRecurrence              emailTag = "Recurrence"
	emailType                    emailTag = "Type"
	emailInterval                emailTag = "Interval"
	emailUntil                   emailTag = "Until"
	emailOccurrences             emailTag = "Occurrences"
	emailWeekOfMonth             emailTag = "WeekOfMonth"
	emailDayOfMonth              emailTag = "DayOfMonth"
	emailDayOfWeek               emailTag = "DayOfWeek"
	emailMonthOfYear             emailTag = "MonthOfYear"
	emailSensitivity             emailTag = "Sensitivity"
	emailBusyStatus              emailTag = "BusyStatus"
	emailTimeZone                emailTag = "TimeZone"
	emailGlobalObjID             emailTag = "GlobalObjId"
	emailDisallowNewTimeProposal emailTag = "DisallowNewTimeProposal"
)

// email2Tag is a tag of the Email2 code page (MS-ASWBXML 2.1.2.1.23).
type email2Tag string

const (
	email2ConversationID     email2Tag = "ConversationId"
	email2ConversationIndex  email2Tag = "ConversationIndex"
	email2LastVerbExecuted   email2Tag = "LastVerbExecuted"
	email2Sender             email2Tag = "Sender"
	email2IsDraft            email2Tag = "IsDraft"
	email2Bcc                email2Tag = "Bcc"
	email2Send               email2Tag = "Send"
	email2CalendarType       email2Tag = "CalendarType"
	email2IsLeapMonth        email2Tag = "IsLeapMonth"
	email2FirstDayOfWeek     email2Tag = "FirstDayOfWeek"
	email2MeetingMessageType email2Tag = "MeetingMessageType"
)

// respTag is a tag of the MeetingResponse code page (MS-ASWBXML
// 2.1.2.1.9), which a 16.1 MeetingRequest borrows for a proposed time.
type respTag string

const (
	respProposedStartTime respTag = "ProposedStartTime"
	respProposedEndTime   respTag = "ProposedEndTime"
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
func (t emailTag) child(e *wbxml.Element) *wbxml.Element {
	return e.Child(wbxml.Email, string(t))
}
func (t emailTag) new() *wbxml.Element                   { return wbxml.New(wbxml.Email, string(t)) }
func (t emailTag) all(e *wbxml.Element) []*wbxml.Element { return e.All(wbxml.Email, string(t)) }
func (t emailTag) add(e *wbxml.Element) *wbxml.Element   { return e.Add(wbxml.Email, string(t)) }
func (t emailTag) text(e *wbxml.Element, s string)       { e.AddText(wbxml.Email, string(t), s) }
func (t email2Tag) child(e *wbxml.Element) *wbxml.Element {
	return e.Child(wbxml.Email2, string(t))
}
func (t email2Tag) add(e *wbxml.Element) *wbxml.Element { return e.Add(wbxml.Email2, string(t)) }
func (t email2Tag) text(e *wbxml.Element, s string)     { e.AddText(wbxml.Email2, string(t), s) }
func (t email2Tag) opaque(e *wbxml.Element, b []byte)   { e.AddOpaque(wbxml.Email2, string(t), b) }
func (t respTag) text(e *wbxml.Element, s string)       { e.AddText(wbxml.MeetingResponse, string(t), s) }
