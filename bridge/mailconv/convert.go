package mailconv

import (
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/bridge/imip"
)

// dateFormat is the MS-ASDTYPE 2.3 dateTime form.
const dateFormat = "2006-01-02T15:04:05.000Z"

// Fixed values of every item (MS-ASEMAIL 2.2.2.39 InternetCPID: the code
// page of the text we send, UTF-8; 2.2.2.18 ContentClass).
const (
	internetCPIDUTF8 = "65001"
	contentClassMail = "urn:content-classes:message"
	flagTypeFollowUp = "for Follow Up"
)

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

	ad := wbxml.New(wbxml.AirSync, "ApplicationData")
	to := parseAddresses(h.get("To"))
	ad.AddText(wbxml.Email, "To", to.text)
	if cc := parseAddresses(h.get("Cc")); cc.text != "" {
		ad.AddText(wbxml.Email, "Cc", cc.text)
	}
	ad.AddText(wbxml.Email, "From", parseAddresses(h.get("From")).text)
	subject := decodeHeaderText(h.get("Subject"))
	ad.AddText(wbxml.Email, "Subject", subject)
	if rt := parseAddresses(h.get("Reply-To")); rt.text != "" {
		ad.AddText(wbxml.Email, "ReplyTo", rt.text)
	}
	sent := sentDate(h, meta)
	received := meta.InternalDate
	if received.IsZero() {
		received = sent
	}
	ad.AddText(wbxml.Email, "DateReceived", received.UTC().Format(dateFormat))
	ad.AddText(wbxml.Email, "DisplayTo", strings.Join(to.names, "; "))
	topic := decodeHeaderText(h.get("Thread-Topic"))
	if topic == "" {
		topic = normalizeSubject(subject)
	}
	ad.AddText(wbxml.Email, "ThreadTopic", topic)
	ad.AddText(wbxml.Email, "Importance", strconv.Itoa(importance(h)))
	fl := readFlags(meta.Flags)
	ad.AddText(wbxml.Email, "Read", boolText(fl.seen))

	c := analyze(t)
	if !undecodable {
		if atts := attachmentsOf(c, meta.ServerID); len(atts) > 0 {
			ad.Append(attachmentsElement(atts))
		}
	}
	smime := smimeClass(t.root) != ""
	if undecodable {
		b := ad.Add(wbxml.AirSyncBase, "Body")
		b.AddText(wbxml.AirSyncBase, "Type", strconv.Itoa(BodyPlain))
		b.AddText(wbxml.AirSyncBase, "EstimatedDataSize", strconv.Itoa(len(undecodableNotice)))
		b.AddText(wbxml.AirSyncBase, "Truncated", "0")
		b.AddText(wbxml.AirSyncBase, "Data", undecodableNotice)
	} else {
		src := &bodySource{raw: raw, meta: meta, c: c}
		ad.Append(chooseBody(src, bodyRequests(opts, smime), opts.Version))
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
	ad.AddText(wbxml.Email, "MessageClass", class)
	if mr := meetingElement(mtg, opts); mr != nil {
		ad.Append(mr)
	}
	ad.AddText(wbxml.Email, "InternetCPID", internetCPIDUTF8)
	ad.Append(flagElement(fl.flagged))
	ad.AddText(wbxml.Email, "ContentClass", contentClassMail)
	ad.AddText(wbxml.AirSyncBase, "NativeBodyType", strconv.Itoa(c.nativeType()))
	if opts.Version >= 140 {
		ad.AddOpaque(wbxml.Email2, "ConversationId", conversationID(h))
		ad.AddOpaque(wbxml.Email2, "ConversationIndex", conversationIndex(sent))
		if v := fl.lastVerb(); v != 0 {
			ad.AddText(wbxml.Email2, "LastVerbExecuted", strconv.Itoa(v))
		}
		if s := h.get("Sender"); s != "" {
			ad.AddText(wbxml.Email2, "Sender", parseAddresses(s).text)
		}
		if len(fl.categories) > 0 {
			ad.Append(categoriesElement(fl.categories))
		}
	}
	if opts.Version >= 160 {
		// MS-ASEMAIL 2.2.2.42 IsDraft, 16.0+.
		ad.AddText(wbxml.Email2, "IsDraft", boolText(fl.draft))
	}
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
