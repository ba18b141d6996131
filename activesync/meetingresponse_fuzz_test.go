package activesync

import (
	"testing"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// FuzzMeetingResponseRequest: any WBXML body decodes into answers or
// per-Request statuses without panicking, and a decoded answer always
// names its invitation and a valid UserResponse.
func FuzzMeetingResponseRequest(f *testing.F) {
	req := wbxml.New(wbxml.MeetingResponse, "MeetingResponse")
	r := req.Add(wbxml.MeetingResponse, "Request")
	r.AddText(wbxml.MeetingResponse, "UserResponse", "1")
	r.AddText(wbxml.MeetingResponse, "CollectionId", "5")
	r.AddText(wbxml.MeetingResponse, "RequestId", "5:10")
	r.AddText(wbxml.MeetingResponse, "InstanceId", "2026-12-14T09:00:00.000Z")
	sr := r.Add(wbxml.MeetingResponse, "SendResponse")
	sr.AddText(wbxml.MeetingResponse, "ProposedStartTime", "20261215T150000Z")
	seed, err := wbxml.Encode(req)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed, uint8(161))
	f.Add([]byte{0x03, 0x01, 0x6a, 0x00}, uint8(121))
	f.Fuzz(func(t *testing.T, data []byte, ver uint8) {
		doc, err := wbxml.Decode(data, wbxml.Limits{})
		if err != nil {
			return
		}
		for _, el := range doc.All(wbxml.MeetingResponse, "Request") {
			a, status := decodeMeetingAnswer(el, Version(ver))
			if status != 0 {
				continue
			}
			if a.UserResponse < MeetingAccept || a.UserResponse > MeetingDecline {
				t.Fatalf("UserResponse %d passed", a.UserResponse)
			}
			if a.LongID == "" && (a.RequestID == "" || a.CollectionID == "") {
				t.Fatalf("answer without an invitation: %+v", a)
			}
		}
	})
}
