package mailconv

import (
	"net/mail"
	"strings"
	"time"

	"github.com/idlebridge/idlebridge/activesync/items"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/bridge/imip"
)

// flagTypeFollowUp is the Email:FlagType of a flagged message
// (MS-ASEMAIL 2.2.2.36).
const flagTypeFollowUp = "for Follow Up"

// ToApplicationData converts a message into the <AirSync:ApplicationData>
// element of a Sync Add/Fetch (and the children reused by ItemOperations
// Properties). It never fails on a broken message: the element is always
// valid and encodable; err (a *DecodeError) only reports what was wrong so
// the caller can log it.
func ToApplicationData(raw []byte, meta Meta, opts Options) (*wbxml.Element, error) {
	t := parseTree(raw)
	h := t.root.hdr
	undecodable := len(raw) == 0 || !t.sawField
	if len(raw) == 0 {
		t.problem("empty message")
	} else if !t.sawField {
		t.problem("no header fields")
	}

	to := parseAddresses(h.get("To"))
	subject := decodeHeaderText(h.get("Subject"))
	sent := sentDate(h, meta)
	received := meta.InternalDate
	if received.IsZero() {
		received = sent
	}
	topic := decodeHeaderText(h.get("Thread-Topic"))
	if topic == "" {
		topic = normalizeSubject(subject)
	}
	fl := readFlags(meta.Flags)
	m := &items.Email{
		To:           to.text,
		Cc:           parseAddresses(h.get("Cc")).text,
		From:         parseAddresses(h.get("From")).text,
		Subject:      subject,
		ReplyTo:      parseAddresses(h.get("Reply-To")).text,
		DateReceived: received,
		DisplayTo:    strings.Join(to.names, "; "),
		ThreadTopic:  topic,
		Importance:   importance(h),
		Read:         fl.seen,
		InternetCPID: items.InternetCPIDUTF8,
		Flag:         flagOf(fl.flagged),
		ContentClass: items.ContentClassMail,
		IsDraft:      fl.draft,
	}

	c := analyze(t)
	if !undecodable {
		m.Attachments = attachmentItems(attachmentsOf(c, meta.ServerID))
	}
	smime := smimeClass(t.root) != ""
	if undecodable {
		m.Body = &items.EmailBody{Type: BodyPlain, EstimatedDataSize: int64(len(undecodableNotice)), Data: items.Ptr(undecodableNotice)}
	} else {
		src := &bodySource{raw: raw, meta: meta, c: c}
		m.Body = chooseBody(src, bodyRequests(opts, smime), opts.Version)
	}
	class := smimeClass(t.root)
	var mtg *imip.Meeting
	if class == "" && !undecodable {
		var err error
		if mtg, err = meeting(c, h, opts); err != nil {
			t.problem("invitation: %v", err)
		}
	}
	switch {
	case class != "":
	case mtg != nil:
		class = mtg.Class()
	default:
		class = "IPM.Note"
	}
	m.MessageClass = class
	if mtg != nil {
		m.MeetingRequest = mtg.Request()
	}
	m.NativeBodyType = c.nativeType()
	if opts.Version >= 140 {
		// Only 14.0+ shows these; skip the work for older clients.
		m.ConversationID = conversationID(h)
		m.ConversationIndex = conversationIndex(sent)
		m.LastVerbExecuted = fl.lastVerb()
		if s := h.get("Sender"); s != "" {
			m.Sender = parseAddresses(s).text
		}
		m.Categories = fl.categories
	}
	ad := m.Encode(items.Version(opts.Version))
	if len(t.problems) > 0 {
		return ad, &DecodeError{Problems: t.problems}
	}
	return ad, nil
}

// sentDate is the Date header, else the IMAP internal date, else the Unix
// epoch (a fixed value keeps the item stable across syncs).
func sentDate(h header, meta Meta) time.Time {
	if d := h.get("Date"); d != "" {
		if t, err := mail.ParseDate(d); err == nil {
			return t
		}
	}
	if !meta.InternalDate.IsZero() {
		return meta.InternalDate
	}
	return time.Unix(0, 0)
}

// importance maps Importance / X-Priority / Priority / X-MSMail-Priority to
// Email:Importance (0 low, 1 normal, 2 high; MS-ASEMAIL 2.2.2.37).
func importance(h header) int {
	if v := strings.ToLower(strings.TrimSpace(h.get("Importance"))); v != "" {
		switch v {
		case "high":
			return 2
		case "low":
			return 0
		}
		return 1
	}
	if v := strings.TrimSpace(h.get("X-Priority")); v != "" {
		switch v[0] {
		case '1', '2':
			return 2
		case '4', '5':
			return 0
		}
		return 1
	}
	for _, k := range []string{"Priority", "X-MSMail-Priority"} {
		switch strings.ToLower(strings.TrimSpace(h.get(k))) {
		case "urgent", "high":
			return 2
		case "non-urgent", "low":
			return 0
		}
	}
	return 1
}

// smimeClass returns the S/MIME message class of a message root, "" if it
// is not S/MIME (MS-ASEMAIL 2.2.2.49).
func smimeClass(root *entity) string {
	switch root.mediaType {
	case "application/pkcs7-mime", "application/x-pkcs7-mime":
		return "IPM.Note.SMIME"
	case "multipart/signed":
		if p := strings.ToLower(root.params["protocol"]); strings.Contains(p, "pkcs7-signature") {
			return "IPM.Note.SMIME.MultipartSigned"
		}
	}
	return ""
}
