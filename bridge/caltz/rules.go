package caltz

import "time"

// yearRules are the offsets and transitions of one zone in one year, the
// shape both a location and a blob are reduced to before they are compared.
// Times are instants (UTC); offsets are seconds east of UTC.
type yearRules struct {
	std, dst       int       // offsets; dst == std when there is no DST
	toStd, toDST   time.Time // zero when there is no DST
	stdAbbr, dstAb string
}

func (r yearRules) hasDST() bool { return !r.toDST.IsZero() }

// transition is one change of offset found by walking a year.
type transition struct {
	at           time.Time
	from, to     int
	fromDST, dst bool
}

// transitions returns the offset changes of loc during the calendar year (in
// loc's own wall time), found with time.Time.ZoneBounds, so the blob is built
// from the zone's real transitions of that year rather than a fixed rule.
func transitions(loc *time.Location, year int) []transition {
	var out []transition
	t := time.Date(year, time.January, 1, 0, 0, 0, 0, loc)
	endOfYear := time.Date(year+1, time.January, 1, 0, 0, 0, 0, loc)
	for steps := 0; steps < 32 && t.Before(endOfYear); steps++ { // a few changes a year at most
		_, end := t.ZoneBounds()
		if !end.IsZero() && !end.After(t) {
			// For instants ruled by a POSIX TZ string (zones built from a
			// blob, tzdata beyond its table) Go can report a period end at
			// or before t. Step by days to the next period and take its
			// start, which Go reports correctly.
			next := t.Add(24 * time.Hour)
			for next.Before(endOfYear) && sameZone(t, next) {
				next = next.Add(24 * time.Hour)
			}
			if !next.Before(endOfYear) {
				break
			}
			if end, _ = next.ZoneBounds(); !end.After(t) {
				end = next
			}
		}
		if end.IsZero() || !end.Before(endOfYear) {
			break
		}
		if !sameZone(t, end) {
			_, from := t.Zone()
			_, to := end.Zone()
			out = append(out, transition{at: end, from: from, to: to, fromDST: t.IsDST(), dst: end.IsDST()})
		}
		t = end
	}
	return out
}

func sameZone(a, b time.Time) bool {
	_, oa := a.Zone()
	_, ob := b.Zone()
	return oa == ob && a.IsDST() == b.IsDST()
}

// rulesOf reduces loc's year to at most one pair of transitions. A zone with
// several (Morocco around Ramadan) keeps the last change into and out of DST
// of the year; one that only shifts its standard offset is read as having
// no DST, at the offset it ends the year with.
func rulesOf(loc *time.Location, year int) yearRules {
	tr := transitions(loc, year)
	var r yearRules
	var haveStd, haveDST bool
	for _, x := range tr {
		if x.dst && !x.fromDST {
			r.toDST, r.dst, r.std, haveDST = x.at, x.to, x.from, true
		}
		if !x.dst && x.fromDST {
			r.toStd, r.std, r.dst, haveStd = x.at, x.to, x.from, true
		}
	}
	if haveStd && haveDST {
		r.stdAbbr, _ = r.toStd.In(loc).Zone()
		r.dstAb, _ = r.toDST.In(loc).Zone()
		return r
	}
	end := time.Date(year, time.December, 31, 12, 0, 0, 0, loc)
	name, off := end.Zone()
	return yearRules{std: off, dst: off, stdAbbr: name, dstAb: name}
}

// ruleFor turns one transition into the recurring SYSTEMTIME form: the local
// wall clock before the switch (MS-ASDTYPE 2.7.6), and the occurrence of
// the weekday in the month, 5 when it is the last one (as Windows writes
// "last Sunday").
func ruleFor(at time.Time, before int) SystemTime {
	local := at.In(time.FixedZone("", before))
	day := local.Day()
	occ := (day-1)/7 + 1
	if day+7 > daysIn(local.Year(), local.Month()) {
		occ = 5
	}
	return SystemTime{
		Month:     uint16(local.Month()),
		DayOfWeek: uint16(local.Weekday()),
		Day:       uint16(occ),
		Hour:      uint16(local.Hour()),
		Minute:    uint16(local.Minute()),
		Second:    uint16(local.Second()),
	}
}

func daysIn(year int, m time.Month) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// instant evaluates st in year, its wall clock read at offset before. An
// absolute date (wYear != 0) is taken at its month and day in year, so a
// blob that states one year's dates still means something for another.
func (st SystemTime) instant(year, before int) time.Time {
	m := time.Month(st.Month)
	var day int
	if st.Year != 0 {
		day = min(int(st.Day), daysIn(year, m))
	} else {
		first := time.Date(year, m, 1, 0, 0, 0, 0, time.UTC).Weekday()
		day = 1 + (int(st.DayOfWeek)-int(first)+7)%7 + (int(st.Day)-1)*7
		for day > daysIn(year, m) { // occurrence 5 = last (MS-ASDTYPE 2.7.6)
			day -= 7
		}
	}
	wall := time.Date(year, m, day, int(st.Hour), int(st.Minute), int(st.Second), 0, time.UTC)
	return wall.Add(-time.Duration(before) * time.Second)
}

// rulesOfBlob evaluates a blob's rules in year.
func rulesOfBlob(b Blob, year int) yearRules {
	r := yearRules{std: b.stdOffset(), dst: b.stdOffset()}
	if !b.HasDST() || b.stdOffset() == b.dstOffset() {
		return r
	}
	r.dst = b.dstOffset()
	r.toDST = b.DaylightDate.instant(year, r.std)
	r.toStd = b.StandardDate.instant(year, r.dst)
	return r
}

// blobOf builds the blob for loc's rules in year; names are left to the
// caller.
func blobOf(r yearRules) Blob {
	b := Blob{Bias: int32(-r.std / 60)}
	if !r.hasDST() {
		return b
	}
	b.DaylightBias = int32(-(r.dst - r.std) / 60)
	b.StandardDate = ruleFor(r.toStd, r.dst)
	b.DaylightDate = ruleFor(r.toDST, r.std)
	return b
}

// matches reports whether two reductions agree: same offsets, and for DST
// the same instants, give or take slack (devices that write the switch time
// in the other offset, an hour off).
func (r yearRules) matches(o yearRules, slack time.Duration) bool {
	if r.std != o.std || r.dst != o.dst || r.hasDST() != o.hasDST() {
		return false
	}
	if !r.hasDST() {
		return true
	}
	return near(r.toStd, o.toStd, slack) && near(r.toDST, o.toDST, slack)
}

func near(a, b time.Time, slack time.Duration) bool {
	d := a.Sub(b)
	return d <= slack && d >= -slack
}
