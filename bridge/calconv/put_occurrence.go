package calconv

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// PutOccurrence writes an organizer's invitation to one occurrence of a
// series (a REQUEST whose VEVENT has a RECURRENCE-ID, RFC 5546 3.2.2)
// into the stored series: it replaces the stored override of that
// occurrence (keeping the user's alarms when the invitation has none) or
// is added beside it. The master, its rules and the other overrides stay
// as they were; VTIMEZONEs the invitation brings are added. An invitation
// older (lower SEQUENCE) than the stored override changes nothing.
func PutOccurrence(stored, invitation []byte, instance time.Time, opt Options) ([]byte, error) {
	root, events, _, err := loadEvents(stored)
	if err != nil {
		return nil, err
	}
	iroot, ievents, _, err := loadEvents(invitation)
	if err != nil {
		return nil, err
	}
	ov, err := override(invitation, ievents, instance, opt)
	if err != nil {
		return nil, err
	}
	if ov == nil {
		return nil, fmt.Errorf("calconv: the invitation has no occurrence at %s", instance.UTC().Format(time.RFC3339))
	}
	old, err := override(stored, events, instance, opt)
	if err != nil {
		return nil, err
	}
	if old != nil {
		if seqOf(old) > seqOf(ov) {
			return stored, nil
		}
		if len(ov.children("VALARM")) == 0 {
			for _, a := range old.children("VALARM") {
				ov.addChild(a)
			}
		}
		for i, e := range root.entries {
			if e.child == old {
				root.entries[i].child = ov
			}
		}
	} else {
		m := &merger{root: root}
		m.insertOverride(ov)
	}
	have := map[string]bool{}
	for _, z := range root.children("VTIMEZONE") {
		have[lineValue(z.line("TZID"))] = true
	}
	for _, z := range iroot.children("VTIMEZONE") {
		if id := lineValue(z.line("TZID")); !have[id] {
			have[id] = true
			// Before the first component: the calendar's properties come first.
			at := len(root.entries)
			for i, e := range root.entries {
				if e.child != nil {
					at = i
					break
				}
			}
			root.entries = append(root.entries[:at], append([]rawEntry{{child: z}}, root.entries[at:]...)...)
		}
	}
	root.del("METHOD")
	var b bytes.Buffer
	root.encode(&b)
	if _, err := ParseICal(b.Bytes()); err != nil {
		return nil, fmt.Errorf("calconv: series with the new occurrence does not parse: %w", err)
	}
	return b.Bytes(), nil
}

func seqOf(c *rawComp) int {
	n, _ := strconv.Atoi(strings.TrimSpace(lineValue(c.line("SEQUENCE"))))
	return n
}
