package activesync

import (
	"context"
	"log/slog"
	"strconv"
	"strings"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// The debug trace: at log level debug every WBXML request and response is
// logged as a one-line outline of its elements, for whoever debugs what a
// phone sent and was told. It is redacted by construction: only the
// elements named in traceValues show their values (protocol bookkeeping:
// sync keys, collection and item ids, statuses, sizes); every other
// element shows its name and, when it has content, only the content's
// length. Subjects, addresses, bodies, MIME, folder names and device
// information are therefore never written; credentials are never in a
// WBXML body at all (they come in the Authorization header).

// traceValues are the elements whose text the trace shows. Keep this list
// to protocol state; never add an element that carries user content.
var traceValues = map[string]bool{
	"SyncKey": true, "CollectionId": true, "ServerId": true, "ClientId": true,
	"Status": true, "Class": true, "WindowSize": true, "FilterType": true,
	"GetChanges": true, "DeletesAsMoves": true, "MoreAvailable": true,
	"Conflict": true, "MIMESupport": true, "MIMETruncation": true, "Truncation": true,
	"TruncationSize": true, "Type": true, "ParentId": true, "Id": true,
	"HeartbeatInterval": true, "Wait": true, "MaxFolders": true, "Limit": true,
	"SrcMsgId": true, "SrcFldId": true, "DstFldId": true, "DstMsgId": true,
	"FileReference": true, "Store": true, "Estimate": true, "PolicyType": true,
	"Count": true, "LongId": true, "Name": true, "Range": true, "Total": true, "Part": true, "Deleted": true, "Read": true,
}

// traceSkip are containers whose content is the item itself: the trace
// shows their size, not their children (names of item properties say
// little and cost a long line per message).
var traceSkip = map[string]bool{
	"ApplicationData": true, "Properties": true, "DeviceInformation": true,
	"EASProvisionDoc": true, "Data": true, "Mime": true, "Body": true,
}

// maxTraceLen bounds one trace line; a 100-item Sync window stays readable.
const maxTraceLen = 4000

// trace logs one document of the exchange at debug level (dir "request"
// or "response"; bytes is its encoded size, known or 0).
func (c *call) trace(dir string, doc *wbxml.Element, bytes int) {
	if !c.log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	attrs := []any{"dir", dir, "bytes", bytes}
	if doc != nil {
		attrs = append(attrs, "doc", outline(doc))
	} else if c.r != nil && dir == "request" {
		attrs = append(attrs, "content_type", c.r.Header.Get("Content-Type"))
	}
	c.log.Debug("trace", attrs...)
}

// outline renders a document as Name{Child=value Child[12B] Child{...}}.
func outline(doc *wbxml.Element) string {
	var b strings.Builder
	writeOutline(&b, doc)
	if b.Len() > maxTraceLen {
		return b.String()[:maxTraceLen] + "…"
	}
	return b.String()
}

func writeOutline(b *strings.Builder, e *wbxml.Element) {
	if b.Len() > maxTraceLen {
		return
	}
	b.WriteString(e.Name)
	switch {
	case traceSkip[e.Name]:
		if n := contentSize(e); n > 0 {
			b.WriteString("[" + strconv.Itoa(n) + "B]")
		}
	case len(e.Children) > 0:
		b.WriteByte('{')
		for i, ch := range e.Children {
			if i > 0 {
				b.WriteByte(' ')
			}
			writeOutline(b, ch)
		}
		b.WriteByte('}')
	case traceValues[e.Name] && !e.IsOpaque && len(e.Text) <= 128:
		if e.Text != "" {
			b.WriteString("=" + strconv.Quote(e.Text))
		}
	default:
		if n := contentSize(e); n > 0 {
			b.WriteString("[" + strconv.Itoa(n) + "B]")
		}
	}
}

// contentSize is the number of content bytes under e.
func contentSize(e *wbxml.Element) int {
	n := len(e.Text) + len(e.Opaque)
	for _, ch := range e.Children {
		n += contentSize(ch)
	}
	return n
}
