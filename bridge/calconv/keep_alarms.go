package calconv

import (
	"bytes"
	"strings"
)

// KeepAlarms carries the user's alarms from the stored copy of a meeting
// into the organizer's newer object (an updated invitation the user
// answers): alarms are the attendee's own (RFC 5546 3.2.2: the organizer
// does not send them, or sends its own as a default), and replacing the
// stored object with the organizer's must not lose the reminder the user
// set. Only the series' master is handled; a master in the new object
// that already holds a VALARM is left as the organizer wrote it. Lines
// are moved as they are (unfolded lines stay folded as stored).
func KeepAlarms(newer, stored []byte) []byte {
	alarms := masterAlarms(stored)
	if len(alarms) == 0 {
		return newer
	}
	nl := "\r\n"
	if !bytes.Contains(newer, []byte("\r\n")) {
		nl = "\n"
	}
	lines := splitLines(newer)
	start, end := masterSpan(lines)
	if start < 0 {
		return newer
	}
	for _, l := range lines[start:end] {
		if strings.EqualFold(strings.TrimSpace(l), "BEGIN:VALARM") {
			return newer
		}
	}
	var b strings.Builder
	for i, l := range lines {
		if i == end {
			for _, a := range alarms {
				b.WriteString(a)
				b.WriteString(nl)
			}
		}
		b.WriteString(l)
		if i < len(lines)-1 || bytes.HasSuffix(newer, []byte("\n")) {
			b.WriteString(nl)
		}
	}
	return []byte(b.String())
}

// splitLines splits an object into its physical lines (CRLF or LF).
func splitLines(data []byte) []string {
	s := strings.ReplaceAll(string(data), "\r\n", "\n")
	s = strings.TrimSuffix(s, "\n")
	return strings.Split(s, "\n")
}

// masterSpan finds the series master VEVENT (no RECURRENCE-ID): the index
// of its BEGIN line and of its END line, or -1.
func masterSpan(lines []string) (int, int) {
	for i := 0; i < len(lines); i++ {
		if !strings.EqualFold(strings.TrimSpace(lines[i]), "BEGIN:VEVENT") {
			continue
		}
		depth, override := 0, false
		for j := i + 1; j < len(lines); j++ {
			l := strings.ToUpper(strings.TrimSpace(lines[j]))
			switch {
			case strings.HasPrefix(l, "BEGIN:"):
				depth++
			case l == "END:VEVENT" && depth == 0:
				if !override {
					return i, j
				}
				i = j
				j = len(lines)
			case strings.HasPrefix(l, "END:"):
				depth--
			case depth == 0 && (strings.HasPrefix(l, "RECURRENCE-ID:") || strings.HasPrefix(l, "RECURRENCE-ID;")):
				override = true
			}
		}
	}
	return -1, -1
}

// masterAlarms returns the VALARM blocks of the master VEVENT, line by
// line (a folded line's continuation lines included).
func masterAlarms(data []byte) []string {
	lines := splitLines(data)
	start, end := masterSpan(lines)
	if start < 0 {
		return nil
	}
	var out []string
	in := false
	for _, l := range lines[start+1 : end] {
		t := strings.ToUpper(strings.TrimSpace(l))
		if t == "BEGIN:VALARM" {
			in = true
		}
		if in {
			out = append(out, l)
		}
		if t == "END:VALARM" {
			in = false
		}
	}
	return out
}
