package calconv

import (
	"github.com/emersion/go-ical"
	"time"
)

// Instant reads one date property of a VCALENDAR (a RECURRENCE-ID, a
// COUNTER's proposed DTSTART) in the EAS form FromICal gives StartTime:
// the UTC instant, or for a DATE the local midnight of the user's zone up
// to 14.1 and the date at 00:00Z in 16.x. date reports a DATE value. It
// lets bridge/imip read iTIP properties with the same zone rules as the
// calendar sync, rather than a second copy of them.
func Instant(cal *ical.Component, p *ical.Prop, opt Options) (t time.Time, date bool, err error) {
	tr := newTimeReader(cal, opt.Zones, opt.userZone())
	w, err := tr.read(p, p.Value)
	if err != nil {
		return time.Time{}, false, err
	}
	cv := &eventConv{opt: opt, tr: tr}
	return cv.instant(w), w.date, nil
}
