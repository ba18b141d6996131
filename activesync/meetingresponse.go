package activesync

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

func meetingResponder(b Backend) bool { _, ok := b.(MeetingResponder); return ok }

// maxMeetingAnswers bounds one MeetingResponse request.
const maxMeetingAnswers = 100

// handleMeetingResponse answers MeetingResponse (MS-ASCMD 2.2.1.11). A
// Request the front can judge alone (no valid UserResponse, neither
// RequestId nor LongId, an InstanceId before 14.1 or not a date) gets its
// status here and never reaches the Backend.
func handleMeetingResponse(ctx context.Context, c *call) (*wbxml.Element, error) {
	reqs := c.req.All(wbxml.MeetingResponse, "Request")
	if len(reqs) == 0 {
		return nil, CommandStatus(MeetingRespStatusInvalidRequest, "MeetingResponse without Request")
	}
	if len(reqs) > maxMeetingAnswers {
		return nil, CommandStatus(MeetingRespStatusInvalidRequest, "too many Requests in one MeetingResponse")
	}
	answers := make([]MeetingAnswer, 0, len(reqs))
	results := make([]MeetingResult, len(reqs))
	index := make([]int, 0, len(reqs)) // answers[i] is reqs[index[i]]
	decoded := make([]MeetingAnswer, len(reqs))
	for i, el := range reqs {
		a, status := decodeMeetingAnswer(el, c.ver)
		decoded[i] = a
		if status != 0 {
			results[i].Status = status
			continue
		}
		answers = append(answers, a)
		index = append(index, i)
	}
	if len(answers) > 0 {
		got, err := c.s.Backend.(MeetingResponder).MeetingResponse(ctx, c.acct, c.q.DeviceID, c.ver, answers)
		if err != nil {
			return nil, err
		}
		for j, i := range index {
			results[i] = MeetingResult{Status: MeetingRespStatusServerError}
			if j < len(got) {
				results[i] = got[j]
			}
		}
	}
	resp := wbxml.New(wbxml.MeetingResponse, "MeetingResponse")
	for i, el := range reqs {
		r := resp.Add(wbxml.MeetingResponse, "Result")
		// MS-ASCMD 2.2.3.152.1: RequestId echoes the request's; an answer
		// named by LongId has none.
		if id := el.ChildText(wbxml.MeetingResponse, "RequestId"); id != "" && !el.Has(wbxml.Search, "LongId") {
			r.AddText(wbxml.MeetingResponse, "RequestId", id)
		}
		r.AddText(wbxml.MeetingResponse, "Status", strconv.Itoa(results[i].Status))
		if results[i].Status == MeetingRespStatusOK && results[i].CalendarID != "" {
			r.AddText(wbxml.MeetingResponse, "CalendarId", results[i].CalendarID)
		}
		if inst := decoded[i].InstanceID; inst != nil {
			// MS-ASCMD 2.2.3.92.1: the Result names the occurrence answered
			// (a 24-character dateTime, MS-ASCMD 6.26).
			r.AddText(wbxml.MeetingResponse, "InstanceId", inst.UTC().Format("2006-01-02T15:04:05.000Z"))
		}
	}
	c.log.Info("meeting responses", "count", len(reqs), "answered", len(answers))
	return resp, nil
}

// decodeMeetingAnswer reads one Request; a non-zero status is the Result
// status of a Request that cannot be served.
func decodeMeetingAnswer(el *wbxml.Element, ver Version) (MeetingAnswer, int) {
	a := MeetingAnswer{
		CollectionID: el.ChildText(wbxml.MeetingResponse, "CollectionId"),
		RequestID:    el.ChildText(wbxml.MeetingResponse, "RequestId"),
		LongID:       el.ChildText(wbxml.Search, "LongId"),
	}
	n, err := strconv.Atoi(strings.TrimSpace(el.ChildText(wbxml.MeetingResponse, "UserResponse")))
	if err != nil || n < MeetingAccept || n > MeetingDecline {
		return a, MeetingRespStatusInvalidRequest
	}
	a.UserResponse = n
	switch {
	case a.LongID != "":
		// MS-ASCMD 2.2.3.92: LongId replaces CollectionId and RequestId.
		if a.RequestID != "" || a.CollectionID != "" {
			return a, int(StatusInvalidCombinationOfIDs)
		}
	case a.RequestID == "" || a.CollectionID == "":
		return a, MeetingRespStatusInvalidRequest
	}
	if inst := el.Child(wbxml.MeetingResponse, "InstanceId"); inst != nil {
		// MS-ASCMD 2.2.3.89.1: not defined before 14.1 (status 2 there);
		// a value that is no dateTime is status 104.
		if ver < 141 {
			return a, MeetingRespStatusInvalidRequest
		}
		t, ok := parseMeetingTime(inst.Content())
		if !ok {
			return a, int(StatusInvalidDateTime)
		}
		a.InstanceID = &t
	}
	if sr := el.Child(wbxml.MeetingResponse, "SendResponse"); sr != nil && ver >= 160 {
		reply := &MeetingReply{}
		if body := sr.Child(wbxml.AirSyncBase, "Body"); body != nil {
			reply.BodyType, _ = strconv.Atoi(body.ChildText(wbxml.AirSyncBase, "Type"))
			reply.Body = body.ChildText(wbxml.AirSyncBase, "Data")
		}
		for _, f := range []struct {
			name string
			dst  **time.Time
		}{{"ProposedStartTime", &reply.ProposedStart}, {"ProposedEndTime", &reply.ProposedEnd}} {
			if p := sr.Child(wbxml.MeetingResponse, f.name); p != nil {
				t, ok := parseMeetingTime(p.Content())
				if !ok {
					return a, int(StatusInvalidDateTime)
				}
				*f.dst = &t
			}
		}
		a.SendResponse = reply
	}
	return a, 0
}

// parseMeetingTime reads either MS-ASDTYPE date form (devices mix them):
// 2026-12-14T09:00:00.000Z or 20261214T090000Z.
func parseMeetingTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02T15:04:05.999Z", "2006-01-02T15:04:05Z", "20060102T150405Z"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
