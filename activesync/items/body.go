package items

import (
	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// Body types of AirSyncBase:Type (MS-ASAIRS 2.2.2.22.1).
const (
	BodyPlain = 1
	BodyHTML  = 2
	BodyRTF   = 3
	BodyMIME  = 4
)

// Body is AirSyncBase:Body (MS-ASAIRS 2.2.2.9) as the calendar, task and
// contact classes carry it: the server fills Data (possibly truncated) and
// EstimatedDataSize; a device sends Type and Data.
type Body struct {
	Type              int
	Data              string
	EstimatedDataSize int // 0 = len(Data)
	Truncated         bool
	Preview           string // 14.0+, only when asked for
}

func (b *Body) encode(parent *wbxml.Element) {
	if b == nil {
		return
	}
	el := baseBody.add(parent)
	baseType.text(el, itoa(b.Type))
	size := b.EstimatedDataSize
	if size == 0 {
		size = len(b.Data)
	}
	baseEstimatedSize.text(el, itoa(size))
	if b.Truncated {
		baseTruncated.text(el, "1")
	}
	// MS-ASAIRS 2.2.2.20.1: Data is omitted when there is nothing to send.
	if b.Data != "" {
		baseData.text(el, b.Data)
	}
	if b.Preview != "" {
		basePreview.text(el, b.Preview)
	}
}

// decodeBody reads an AirSyncBase:Body; an empty <Body/> is an empty plain
// body (the device cleared the notes), absent is nil.
func decodeBody(parent *wbxml.Element) (*Body, error) {
	el := baseBody.child(parent)
	if el == nil {
		return nil, nil
	}
	t, err := optInt(baseType.child(el), "Body Type")
	if err != nil {
		return nil, err
	}
	b := &Body{Type: BodyPlain, Data: text(baseData.child(el))}
	if t != nil {
		b.Type = *t
	}
	if tr, _ := optBool(baseTruncated.child(el), "Truncated"); tr != nil {
		b.Truncated = *tr
	}
	return b, nil
}
