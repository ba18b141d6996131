package calconv

import (
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-ical"
)

// when is a DTSTART-like value: a DATE, or a DATE-TIME in UTC, in a TZID's
// zone, or floating (read in the user's zone).
type when struct {
	t    time.Time // for a DATE: midnight of that date in UTC, only Y/M/D count
	date bool
	loc  *time.Location // the zone the value was written in (UTC for Z, user zone for floating)
	tzid string         // as written, "" for UTC, floating and DATE
}

// timeReader reads date-times of one VCALENDAR, resolving each TZID once
// against the calendar's own VTIMEZONEs.
type timeReader struct {
	zones    Zones
	userZone *time.Location
	vtz      map[string]*ical.Component
	cache    map[string]*time.Location
}

func newTimeReader(cal *ical.Component, zones Zones, userZone *time.Location) *timeReader {
	r := &timeReader{zones: zones, userZone: userZone, vtz: map[string]*ical.Component{}, cache: map[string]*time.Location{}}
	for _, c := range cal.Children {
		if c.Name == ical.CompTimezone {
			if id := c.Props.Get(ical.PropTimezoneID); id != nil {
				r.vtz[id.Value] = c
			}
		}
	}
	return r
}

func (r *timeReader) location(tzid string) (*time.Location, error) {
	if loc, ok := r.cache[tzid]; ok {
		return loc, nil
	}
	loc, err := r.zones.Resolve(tzid, r.vtz[tzid])
	if err != nil {
		return nil, err
	}
	r.cache[tzid] = loc
	return loc, nil
}

// read parses one value of p (p.Value itself, or one element of a comma
// list for EXDATE) with p's VALUE and TZID parameters.
func (r *timeReader) read(p *ical.Prop, value string) (when, error) {
	value = strings.TrimSpace(value)
	isDate := strings.EqualFold(p.Params.Get(ical.ParamValue), string(ical.ValueDate)) || len(value) == 8
	if isDate {
		t, err := time.Parse("20060102", value)
		if err != nil {
			return when{}, fmt.Errorf("calconv: %s %q: %w", p.Name, value, err)
		}
		return when{t: t, date: true, loc: r.userZone}, nil
	}
	if strings.HasSuffix(value, "Z") {
		t, err := time.Parse("20060102T150405Z", value)
		if err != nil {
			return when{}, fmt.Errorf("calconv: %s %q: %w", p.Name, value, err)
		}
		return when{t: t, loc: time.UTC}, nil
	}
	loc, tzid := r.userZone, p.Params.Get(ical.PropTimezoneID)
	if tzid != "" {
		var err error
		if loc, err = r.location(tzid); err != nil {
			return when{}, err
		}
	}
	t, err := time.ParseInLocation("20060102T150405", value, loc)
	if err != nil {
		return when{}, fmt.Errorf("calconv: %s %q: %w", p.Name, value, err)
	}
	return when{t: t, loc: loc, tzid: tzid}, nil
}

// readProp parses a single-valued date property; nil p is an error.
func (r *timeReader) readProp(c *ical.Component, name string) (when, bool, error) {
	p := c.Props.Get(name)
	if p == nil {
		return when{}, false, nil
	}
	w, err := r.read(p, p.Value)
	return w, true, err
}

// readList parses every value of every instance of a list property
// (EXDATE may repeat and hold comma lists; go-ical's RecurrenceSet cannot
// read those, research note §4.2).
func (r *timeReader) readList(c *ical.Component, name string) ([]when, error) {
	var out []when
	for i := range c.Props[name] {
		p := &c.Props[name][i]
		for _, v := range strings.Split(p.Value, ",") {
			if strings.TrimSpace(v) == "" {
				continue
			}
			w, err := r.read(p, v)
			if err != nil {
				return nil, err
			}
			out = append(out, w)
		}
	}
	return out, nil
}
