package items

import (
	"strconv"
	"time"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// Email is one item of the Email class (MS-ASEMAIL 2.2.2) as the server
// sends it in a Sync Add, a Fetch or a Search result.
//
// Unlike the other classes, an Email is never patched field by field from
// this type: the server always sends the whole item. So the fields every
// item carries are plain values and are written even when empty (an empty
// To is still <To/>), and the optional ones are omitted when zero, as the
// comments say. Version rules live in Encode: the Email2 fields from 14.0,
// IsDraft from 16.0.
type Email struct {
	To           string
	Cc           string // omitted when ""
	From         string
	Subject      string
	ReplyTo      string // omitted when ""
	DateReceived time.Time
	DisplayTo    string
	ThreadTopic  string
	Importance   int // 0 low, 1 normal, 2 high (MS-ASEMAIL 2.2.2.40)
	Read         bool
	Attachments  []Attachment // omitted when empty
	Body         *EmailBody
	MessageClass string
	// MeetingRequest is the invitation part (MS-ASEMAIL 2.2.2.48); nil
	// for an ordinary message.
	MeetingRequest *MeetingRequest
	InternetCPID   string
	Flag           Flag
	ContentClass   string
	NativeBodyType int

	// 14.0+ (Email2). ConversationID and ConversationIndex are opaque
	// bytes (MS-ASEMAIL 2.2.2.20, 2.2.2.21) and always written from 14.0.
	ConversationID    []byte
	ConversationIndex []byte
	LastVerbExecuted  int    // omitted when 0 (none)
	Sender            string // omitted when ""
	Categories        []string
	// Categories is omitted when empty on a full item; an EmailChange
	// is where an empty list removes the device's categories.

	IsDraft bool // 16.0+
}

// InternetCPIDUTF8 is Email:InternetCPID for UTF-8 text (MS-ASEMAIL
// 2.2.2.39 names Windows code page identifiers), and ContentClassMail the
// Email:ContentClass of a message (2.2.2.18).
const (
	InternetCPIDUTF8 = "65001"
	ContentClassMail = "urn:content-classes:message"
)

// EmailBody is AirSyncBase:Body as the Email class sends it (MS-ASAIRS
// 2.2.2.9). It differs from Body, which the other classes share: Truncated
// is always written, and Data is written whenever it is present, even
// empty, because mail clients read a missing Data as "fetch the rest".
type EmailBody struct {
	Type              int
	EstimatedDataSize int64
	Truncated         bool
	// Data is nil when no data is sent: an AllOrNone preference the
	// message does not fit (MS-ASAIRS 2.2.2.5).
	Data    *string
	Preview string // 14.0+, omitted when ""
}

// Attachment is one AirSyncBase:Attachment (MS-ASAIRS 2.2.2.7).
type Attachment struct {
	DisplayName       string
	FileReference     string
	Method            int // MS-ASAIRS 2.2.2.31: 1 normal, 5 embedded message
	EstimatedDataSize int64
	ContentID         string // omitted when ""
	IsInline          bool   // written only when true
}

// Flag is Email:Flag (MS-ASEMAIL 2.2.2.34). A zero Flag is the empty
// element, which clears a flag on the device.
type Flag struct {
	Status int    // FlagStatus: 0 cleared, 1 complete, 2 active; 0 writes no children
	Type   string // FlagType, written with an active Status
}

// Flag states of Email:FlagStatus (MS-ASEMAIL 2.2.2.35).
const (
	FlagCleared  = 0
	FlagComplete = 1
	FlagActive   = 2
)

// Encode returns the ApplicationData element for a response, children in
// the order mail clients have always received them from this server.
func (m *Email) Encode(v Version) *wbxml.Element {
	app := wbxml.New(wbxml.AirSync, "ApplicationData")
	emailTo.text(app, m.To)
	if m.Cc != "" {
		emailCc.text(app, m.Cc)
	}
	emailFrom.text(app, m.From)
	emailSubject.text(app, m.Subject)
	if m.ReplyTo != "" {
		emailReplyTo.text(app, m.ReplyTo)
	}
	emailDateReceived.text(app, FormatDashes(m.DateReceived))
	emailDisplayTo.text(app, m.DisplayTo)
	emailThreadTopic.text(app, m.ThreadTopic)
	emailImportance.text(app, itoa(m.Importance))
	emailRead.text(app, btoa(m.Read))
	if len(m.Attachments) > 0 {
		list := baseAttachments.add(app)
		for i := range m.Attachments {
			m.Attachments[i].encode(list)
		}
	}
	m.Body.encode(app, v)
	emailMessageClass.text(app, m.MessageClass)
	if m.MeetingRequest != nil {
		app.Append(m.MeetingRequest.Encode(v))
	}
	emailInternetCPID.text(app, m.InternetCPID)
	m.Flag.encode(app)
	emailContentClass.text(app, m.ContentClass)
	baseNativeBodyType.text(app, itoa(m.NativeBodyType))
	if v >= V140 {
		email2ConversationID.opaque(app, m.ConversationID)
		email2ConversationIndex.opaque(app, m.ConversationIndex)
		if m.LastVerbExecuted != 0 {
			email2LastVerbExecuted.text(app, itoa(m.LastVerbExecuted))
		}
		if m.Sender != "" {
			email2Sender.text(app, m.Sender)
		}
		if len(m.Categories) > 0 {
			encodeEmailCategories(app, m.Categories)
		}
	}
	if v >= V160 {
		// MS-ASEMAIL 2.2.2.42 IsDraft, 16.0+.
		email2IsDraft.text(app, btoa(m.IsDraft))
	}
	return app
}

func (b *EmailBody) encode(parent *wbxml.Element, v Version) {
	if b == nil {
		return
	}
	el := baseBody.add(parent)
	baseType.text(el, itoa(b.Type))
	baseEstimatedSize.text(el, strconv.FormatInt(b.EstimatedDataSize, 10))
	baseTruncated.text(el, btoa(b.Truncated))
	if b.Data != nil {
		baseData.text(el, *b.Data)
	}
	if v >= V140 && b.Preview != "" {
		basePreview.text(el, b.Preview)
	}
}

func (a *Attachment) encode(list *wbxml.Element) {
	el := baseAttachment.add(list)
	baseDisplayName.text(el, a.DisplayName)
	baseFileReference.text(el, a.FileReference)
	baseMethod.text(el, itoa(a.Method))
	baseEstimatedSize.text(el, strconv.FormatInt(a.EstimatedDataSize, 10))
	if a.ContentID != "" {
		baseContentID.text(el, a.ContentID)
	}
	if a.IsInline {
		baseIsInline.text(el, "1")
	}
}

func (f Flag) encode(parent *wbxml.Element) {
	el := emailFlag.add(parent)
	if f.Status != FlagCleared {
		emailFlagStatus.text(el, itoa(f.Status))
		if f.Type != "" {
			emailFlagType.text(el, f.Type)
		}
	}
}

// encodeEmailCategories writes Email:Categories; with no categories it is
// the empty element, which removes all categories on the device.
func encodeEmailCategories(parent *wbxml.Element, cats []string) {
	el := emailCategories.add(parent)
	for _, c := range cats {
		emailCategory.text(el, c)
	}
}
