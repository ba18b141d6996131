package activesync

import (
	"context"
	"errors"
	"net/http"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

func sender(b Backend) bool { _, ok := b.(Sender); return ok }

// maxClientIDLen bounds ComposeMail:ClientId. MS-ASCMD 2.2.3.29.2 allows
// up to 40 characters; some clients send GUIDs with braces, so leave room.
const maxClientIDLen = 128

// handleSendMail answers SendMail, SmartReply and SmartForward (MS-ASCMD
// 2.2.1.17, 2.2.1.20, 2.2.1.19). 12.x devices post the MIME message as
// the body (Content-Type message/rfc822) with SaveInSent, ItemId and
// CollectionId in the URI; 14.0+ devices post a ComposeMail document.
//
// Success is an empty 200 in every version: "If the command succeeds, no
// XML body is returned in the response" (MS-ASCMD 2.2.3.177.14, .16).
// Failure is <Root><Status>N</Status></Root> for 14.0+, and an HTTP code
// for 12.x, which has no Status element in these commands (sendFailure).
func handleSendMail(ctx context.Context, c *call) (*wbxml.Element, error) {
	m, err := parseOutgoing(c.cmd.name, c.req, c.raw, c.q)
	if err != nil {
		return nil, sendFailure(c.ver, err)
	}
	if err := c.s.Backend.(Sender).Send(ctx, c.acct, c.q.DeviceID, m); err != nil {
		return nil, sendFailure(c.ver, err)
	}
	c.log.Info("mail submitted", "kind", m.Kind, "bytes", len(m.MIME), "save_in_sent", m.SaveInSent, "client_id", m.ClientID)
	return nil, nil
}

// parseOutgoing reads the request in either form. It never fails on what
// it does not know; a request without a message is InvalidContent.
func parseOutgoing(kind string, req *wbxml.Element, raw []byte, q *Query) (*OutgoingMail, error) {
	m := &OutgoingMail{Kind: kind}
	if req == nil {
		// 12.x: the body is the message (MS-ASCMD 2.2.1.17.1 for 12.1).
		m.MIME = raw
		m.SaveInSent = q.SaveInSent
		m.SourceFolderID = q.CollectionID
		m.SourceItemID = q.ItemID
		m.SourceLongID = q.LongID
	} else {
		const ns = wbxml.ComposeMail
		m.ClientID = req.ChildText(ns, "ClientId")
		// SaveInSentItems and ReplaceMime are empty elements: present
		// means true (MS-ASCMD 2.2.3.155, 2.2.3.146).
		m.SaveInSent = req.Has(ns, "SaveInSentItems")
		m.ReplaceMime = req.Has(ns, "ReplaceMime")
		if mime := req.Child(ns, "Mime"); mime != nil {
			if mime.IsOpaque {
				m.MIME = mime.Opaque
			} else {
				m.MIME = []byte(mime.Text)
			}
		}
		if src := req.Child(ns, "Source"); src != nil {
			m.SourceFolderID = src.ChildText(ns, "FolderId")
			m.SourceItemID = src.ChildText(ns, "ItemId")
			m.SourceLongID = src.ChildText(ns, "LongId")
			m.SourceInstanceID = src.ChildText(ns, "InstanceId")
		}
	}
	switch {
	case len(m.MIME) == 0:
		return nil, statusError(StatusInvalidContent, http.StatusBadRequest, kind+" without a message", nil)
	case len(m.ClientID) > maxClientIDLen:
		return nil, statusError(StatusInvalidContent, http.StatusBadRequest, "ClientId too long", nil)
	case kind != "SendMail" && m.SourceItemID == "" && m.SourceLongID == "":
		return nil, statusError(StatusInvalidContent, http.StatusBadRequest, kind+" without a source item", nil)
	}
	return m, nil
}

// sendFailure keeps 14.0+ statuses and turns them into HTTP codes for
// 12.x (the Status element of these commands exists from 14.0 on, MS-ASCMD
// 2.2.3.177.14). What is wrong with the message itself is a 4xx: sending
// it again cannot succeed, and a 500 makes 12.x clients retry it forever
// (413 for a message over the size limit, 400 for the rest). Failures
// of the bridge or the provider stay 500; retryable outages (503) keep
// their HTTP code in every version.
func sendFailure(ver Version, err error) error {
	if ver >= V140 {
		return err
	}
	var e *Error
	if errors.As(err, &e) && e.HTTP == 0 {
		return &Error{HTTP: sendFailureHTTP(e), Status: e.Status, Msg: e.Msg, Err: e.Err}
	}
	return err
}

// sendFailureHTTP is the 12.x HTTP code of a send's status.
func sendFailureHTTP(e *Error) int {
	switch e.Status {
	case StatusInvalidContent, StatusInvalidWBXML, StatusInvalidXML, StatusInvalidMIME,
		StatusMessageRecipientUnresolved, StatusMessageHasNoRecipient, StatusMessageReplyFailed,
		StatusItemNotFound:
		return http.StatusBadRequest
	case StatusAttachmentIsTooLarge:
		return http.StatusRequestEntityTooLarge
	}
	if e.Fallback >= 400 && e.Fallback < 500 {
		return e.Fallback
	}
	return http.StatusInternalServerError
}
