package directory

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"
	"github.com/idlebridge/idlebridge/bridge/calconv"
)

// Free/busy digits of MergedFreeBusy (MS-ASCMD 2.2.3.107); a slot takes
// the highest level of anything that overlaps it.
const (
	fbFree      = '0'
	fbTentative = '1'
	fbBusy      = '2'
	fbOOF       = '3'
)

const slot = 30 * time.Minute

// maxPeriods bounds the work one VFREEBUSY can cause.
const maxPeriods = 10000

// busy is one FREEBUSY period (RFC 5545 3.8.2.6) with its level.
type busy struct {
	start, end time.Time
	level      byte
}

// parseFreeBusy reads the FREEBUSY periods of every VFREEBUSY in an
// iCalendar text: FBTYPE BUSY (the default) is busy, BUSY-TENTATIVE
// tentative, BUSY-UNAVAILABLE out of office; FREE and unknown types add
// nothing. Values are UTC (RFC 5545 3.8.2.6); "start/end" and
// "start/duration" are both read.
func parseFreeBusy(data []byte) ([]busy, error) {
	// calconv's parser turns go-ical's panics on malformed parameters
	// into errors.
	cal, err := calconv.ParseICal(data)
	if err != nil {
		return nil, fmt.Errorf("free/busy: %w", err)
	}
	var out []busy
	for _, comp := range cal.Children {
		if comp.Name != ical.CompFreeBusy {
			continue
		}
		for _, p := range comp.Props[ical.PropFreeBusy] {
			level := byte(fbBusy)
			switch strings.ToUpper(p.Params.Get("FBTYPE")) {
			case "", "BUSY":
			case "BUSY-TENTATIVE":
				level = fbTentative
			case "BUSY-UNAVAILABLE":
				level = fbOOF
			default:
				continue
			}
			for _, v := range strings.Split(p.Value, ",") {
				if len(out) >= maxPeriods {
					return out, nil
				}
				start, end, err := parsePeriod(strings.TrimSpace(v))
				if err != nil {
					return nil, fmt.Errorf("free/busy: FREEBUSY %q: %w", v, err)
				}
				out = append(out, busy{start, end, level})
			}
		}
	}
	return out, nil
}

func parsePeriod(v string) (time.Time, time.Time, error) {
	a, b, ok := strings.Cut(v, "/")
	if !ok {
		return time.Time{}, time.Time{}, errors.New("not a period")
	}
	start, err := parseUTC(a)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	var end time.Time
	if strings.HasPrefix(b, "P") || strings.HasPrefix(b, "+P") {
		d, err := parseDuration(b)
		if err != nil {
			return time.Time{}, time.Time{}, err
		}
		end = start.Add(d)
	} else if end, err = parseUTC(b); err != nil {
		return time.Time{}, time.Time{}, err
	}
	if !end.After(start) {
		return time.Time{}, time.Time{}, errors.New("period ends before it starts")
	}
	return start, end, nil
}

func parseUTC(s string) (time.Time, error) {
	// A value without Z is floating; UTC is what FREEBUSY must carry, so
	// it is read as UTC rather than refused.
	return time.Parse("20060102T150405", strings.TrimSuffix(s, "Z"))
}

// parseDuration reads a positive RFC 5545 3.3.6 duration: P1W, P1DT2H,
// PT30M, PT1H0M0S.
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimPrefix(s, "+")
	rest, ok := strings.CutPrefix(s, "P")
	if !ok || rest == "" {
		return 0, errors.New("not a duration")
	}
	var d time.Duration
	inTime := false
	for rest != "" {
		if rest[0] == 'T' {
			inTime, rest = true, rest[1:]
			continue
		}
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i == len(rest) || i > 6 {
			return 0, errors.New("bad duration")
		}
		n, _ := strconv.Atoi(rest[:i])
		unit := map[bool]map[byte]time.Duration{
			false: {'W': 7 * 24 * time.Hour, 'D': 24 * time.Hour},
			true:  {'H': time.Hour, 'M': time.Minute, 'S': time.Second},
		}[inTime][rest[i]]
		if unit == 0 {
			return 0, errors.New("bad duration unit")
		}
		d += time.Duration(n) * unit
		rest = rest[i+1:]
	}
	if d <= 0 {
		return 0, errors.New("empty duration")
	}
	return d, nil
}

// mergedFreeBusy writes one digit per 30 minutes from start to end (the
// last slot may be partial).
func mergedFreeBusy(periods []busy, start, end time.Time) string {
	n := int((end.Sub(start) + slot - 1) / slot)
	if n <= 0 {
		return ""
	}
	out := bytes.Repeat([]byte{fbFree}, n)
	for _, p := range periods {
		if !p.end.After(start) || !p.start.Before(end) {
			continue
		}
		first := max(0, int(p.start.Sub(start)/slot))
		last := min(n-1, int((p.end.Sub(start)-1)/slot))
		for i := first; i <= last; i++ {
			if p.level > out[i] {
				out[i] = p.level
			}
		}
	}
	return string(out)
}
