package calconv

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-ical"
)

// Answer is a user's answer to a meeting, to be written into the event
// object on the CalDAV server (MeetingResponse).
type Answer struct {
	Email, Name string // the user; Name is used only for a line the event lacks
	PartStat    string // ACCEPTED, TENTATIVE, DECLINED
	// Instance is the original start (UTC) of the one occurrence answered;
	// nil answers the series, which sets PARTSTAT in every VEVENT of it.
	Instance *time.Time
}

// SetPartStat patches an event object with the user's answer: the
// PARTSTAT of the user's ATTENDEE line (RSVP dropped: answered), the line
// added where the user was invited through a list. An occurrence without
// an override gets one, copied from the master with the occurrence's
// times. Every other line stays as it was (the same line-preserving tree
// as Merge), and METHOD is removed: a stored calendar object must not
// carry one (RFC 4791 4.1), while an invitation's object does.
func SetPartStat(data []byte, a Answer, opt Options) ([]byte, error) {
	if a.Email == "" || a.PartStat == "" {
		return nil, fmt.Errorf("calconv: answer without attendee or PARTSTAT")
	}
	root, events, master, err := loadEvents(data)
	if err != nil {
		return nil, err
	}
	targets := events
	if a.Instance != nil {
		ov, err := override(data, events, *a.Instance, opt)
		if err != nil {
			return nil, err
		}
		if ov == nil {
			if master == nil {
				return nil, fmt.Errorf("calconv: no series to answer an occurrence of")
			}
			if ov, err = newOverride(data, master, *a.Instance, opt); err != nil {
				return nil, err
			}
			root.addChild(ov)
		}
		targets = []*rawComp{ov}
	}
	for _, ev := range targets {
		setAttendee(ev, a)
	}
	root.del("METHOD")
	var b bytes.Buffer
	root.encode(&b)
	return b.Bytes(), nil
}

// MarkCancelled writes an organizer's CANCEL into an event object:
// STATUS:CANCELLED on the series, or on the one occurrence (an override
// made for it if needed). changed is false when it already was.
func MarkCancelled(data []byte, instance *time.Time, opt Options) (out []byte, changed bool, err error) {
	root, events, master, err := loadEvents(data)
	if err != nil {
		return nil, false, err
	}
	targets := events
	if instance != nil {
		ov, err := override(data, events, *instance, opt)
		if err != nil {
			return nil, false, err
		}
		if ov == nil {
			if master == nil {
				return nil, false, fmt.Errorf("calconv: no series to cancel an occurrence of")
			}
			if ov, err = newOverride(data, master, *instance, opt); err != nil {
				return nil, false, err
			}
			root.addChild(ov)
		}
		targets = []*rawComp{ov}
	}
	for _, ev := range targets {
		if l := ev.line("STATUS"); l == "" || !strings.EqualFold(lineValue(l), "CANCELLED") {
			ev.set("STATUS", "STATUS:CANCELLED")
			changed = true
		}
	}
	if root.has("METHOD") {
		root.del("METHOD")
		changed = true
	}
	var b bytes.Buffer
	root.encode(&b)
	return b.Bytes(), changed, nil
}

// loadEvents parses the object into the raw tree and its VEVENTs.
func loadEvents(data []byte) (root *rawComp, events []*rawComp, master *rawComp, err error) {
	if _, err := ParseICal(data); err != nil {
		return nil, nil, nil, err
	}
	if root, err = parseRaw(data); err != nil {
		return nil, nil, nil, err
	}
	events = root.children("VEVENT")
	for _, ev := range events {
		if !ev.has("RECURRENCE-ID") && master == nil {
			master = ev
		}
	}
	if len(events) == 0 {
		return nil, nil, nil, ErrNoEvent
	}
	return root, events, master, nil
}

// override returns the VEVENT overriding the occurrence at instance, nil
// when there is none.
func override(data []byte, events []*rawComp, instance time.Time, opt Options) (*rawComp, error) {
	cal, err := ParseICal(data)
	if err != nil {
		return nil, err
	}
	tr := newTimeReader(cal.Component, opt.Zones, opt.userZone())
	cv := &eventConv{opt: opt, tr: tr}
	for _, ev := range events {
		l := ev.line("RECURRENCE-ID")
		if l == "" {
			continue
		}
		w, err := tr.read(rawProp(l), lineValue(l))
		if err != nil {
			continue
		}
		if cv.instant(w).Equal(instance) || (w.date && sameDate(w.t, instance.In(opt.userZone()))) {
			return ev, nil
		}
	}
	return nil, nil
}

func sameDate(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd
}

// newOverride copies the master for one occurrence: no recurrence rules,
// RECURRENCE-ID and DTSTART at the occurrence (UTC, or its date for an
// all-day series), DTEND shifted by the master's length.
func newOverride(data []byte, master *rawComp, instance time.Time, opt Options) (*rawComp, error) {
	cal, err := ParseICal(data)
	if err != nil {
		return nil, err
	}
	tr := newTimeReader(cal.Component, opt.Zones, opt.userZone())
	startLine := master.line("DTSTART")
	if startLine == "" {
		return nil, fmt.Errorf("calconv: series without DTSTART")
	}
	start, err := tr.read(rawProp(startLine), lineValue(startLine))
	if err != nil {
		return nil, err
	}
	length := time.Duration(0)
	if l := master.line("DTEND"); l != "" {
		if end, err := tr.read(rawProp(l), lineValue(l)); err == nil {
			length = end.t.Sub(start.t)
		}
	}
	ov := &rawComp{name: "VEVENT"}
	for _, e := range master.entries {
		switch e.name {
		case "RRULE", "RDATE", "EXDATE", "EXRULE", "DTSTART", "DTEND", "RECURRENCE-ID":
			continue
		}
		ov.entries = append(ov.entries, e)
	}
	if start.date {
		y, m, d := instance.In(opt.userZone()).Date()
		day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		ov.set("RECURRENCE-ID", "RECURRENCE-ID;VALUE=DATE:"+day.Format("20060102"))
		ov.set("DTSTART", "DTSTART;VALUE=DATE:"+day.Format("20060102"))
		if length > 0 {
			ov.set("DTEND", "DTEND;VALUE=DATE:"+day.Add(length).Format("20060102"))
		}
		return ov, nil
	}
	at := instance.UTC()
	ov.set("RECURRENCE-ID", "RECURRENCE-ID:"+at.Format("20060102T150405Z"))
	ov.set("DTSTART", "DTSTART:"+at.Format("20060102T150405Z"))
	if master.has("DTEND") {
		ov.set("DTEND", "DTEND:"+at.Add(length).Format("20060102T150405Z"))
	}
	return ov, nil
}

// setAttendee sets the user's PARTSTAT in one VEVENT.
func setAttendee(ev *rawComp, a Answer) {
	for i, e := range ev.entries {
		if e.child != nil || e.name != "ATTENDEE" || !strings.EqualFold(attendeeAddress(e.line), a.Email) {
			continue
		}
		ev.entries[i].line = withParams(e.line, map[string]string{"PARTSTAT": a.PartStat, "RSVP": ""})
		return
	}
	line := "ATTENDEE"
	if a.Name != "" {
		line += ";CN=" + quoteParam(a.Name)
	}
	ev.add("ATTENDEE", line+";PARTSTAT="+a.PartStat+":mailto:"+a.Email)
}

// attendeeAddress is the e-mail of an ATTENDEE line.
func attendeeAddress(line string) string {
	v := lineValue(line)
	if len(v) > 7 && strings.EqualFold(v[:7], "mailto:") {
		return v[7:]
	}
	for _, p := range splitParams(paramsOf(line)) {
		if k, val, _ := strings.Cut(p, "="); strings.EqualFold(k, "EMAIL") {
			return strings.Trim(val, `"`)
		}
	}
	return ""
}

// rawProp is a content line as a go-ical Prop (name, parameters, value),
// for the time reader.
func rawProp(line string) *ical.Prop {
	p := &ical.Prop{Name: propName(line), Params: ical.Params{}, Value: lineValue(line)}
	for _, kv := range splitParams(paramsOf(line)) {
		if k, v, ok := strings.Cut(kv, "="); ok {
			p.Params.Set(strings.ToUpper(k), strings.Trim(v, `"`))
		}
	}
	return p
}

// splitParams splits ";A=1;B="x;y"" into its parameters, quotes kept.
func splitParams(s string) []string {
	var out []string
	inQuote, start := false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			inQuote = !inQuote
		case ';':
			if !inQuote {
				if i > start {
					out = append(out, s[start:i])
				}
				start = i + 1
			}
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

// withParams rewrites a line's parameters: each key set to its value, or
// removed for "". Other parameters keep their text and order.
func withParams(line string, set map[string]string) string {
	var params []string
	done := map[string]bool{}
	for _, p := range splitParams(paramsOf(line)) {
		k, _, _ := strings.Cut(p, "=")
		if v, ok := set[strings.ToUpper(k)]; ok {
			done[strings.ToUpper(k)] = true
			if v != "" {
				params = append(params, strings.ToUpper(k)+"="+v)
			}
			continue
		}
		params = append(params, p)
	}
	for _, k := range []string{"PARTSTAT", "RSVP"} {
		if v := set[k]; v != "" && !done[k] {
			params = append(params, k+"="+v)
		}
	}
	out := propName(line)
	for _, p := range params {
		out += ";" + p
	}
	return out + ":" + lineValue(line)
}
