package caltz

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// Options configure a Zones.
type Options struct {
	// UserZone breaks ties between zones whose rules match a blob equally,
	// after the blob's StandardName (P2). Nil: no preference.
	UserZone *time.Location
	// Now gives the year used to match a VTIMEZONE whose rules recur (an
	// Outlook VTIMEZONE starts in 1601). Nil: time.Now.
	Now func() time.Time
}

// Zones resolves iCalendar TZIDs and converts locations to and from the EAS
// TimeZone blob. It implements bridge/calconv's Zones interface. Safe for
// concurrent use; the zero value is not usable, call New.
type Zones struct {
	opts Options

	loadOnce   sync.Once
	candidates []candidate     // every zone of the CLDR table, in its order
	byIANA     map[string]int  // IANA name (canonical or alias) → windowsZones index
	byWindows  map[string]int  // lower-cased Windows ID or display name → index
	defaults   map[string]bool // territory-001 defaults

	mu    sync.Mutex
	years map[int][]yearRules // candidate rules per year, parallel to candidates
}

type candidate struct {
	name string
	loc  *time.Location
}

// maxCachedYears bounds the per-year cache; events span a few decades.
const maxCachedYears = 64

// New returns a Zones. Zones are loaded on first use.
func New(opts Options) *Zones {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Zones{opts: opts, years: map[int][]yearRules{}}
}

func (z *Zones) load() {
	z.loadOnce.Do(func() {
		z.byIANA = map[string]int{}
		z.byWindows = map[string]int{}
		z.defaults = map[string]bool{}
		for i, w := range windowsZones {
			z.byWindows[strings.ToLower(w.name)] = i
			if w.display != "" {
				z.byWindows[strings.ToLower(w.display)] = i
			}
			z.defaults[w.zones[0]] = true
			for _, name := range w.zones {
				if _, dup := z.byIANA[name]; dup {
					continue
				}
				z.byIANA[name] = i
				loc, err := time.LoadLocation(name)
				if err != nil {
					continue // a name this tzdata lacks cannot be a candidate
				}
				z.candidates = append(z.candidates, candidate{name: name, loc: loc})
			}
		}
		for alias, target := range zoneAliases {
			if i, ok := z.byIANA[target]; ok {
				if _, dup := z.byIANA[alias]; !dup {
					z.byIANA[alias] = i
				}
			}
		}
	})
}

// rulesFor returns every candidate's rules in year, computed once per year.
func (z *Zones) rulesFor(year int) []yearRules {
	z.mu.Lock()
	rs, ok := z.years[year]
	z.mu.Unlock()
	if ok {
		return rs
	}
	rs = make([]yearRules, len(z.candidates))
	for i, c := range z.candidates {
		rs[i] = rulesOf(c.loc, year)
	}
	z.mu.Lock()
	if len(z.years) >= maxCachedYears {
		clear(z.years)
	}
	z.years[year] = rs
	z.mu.Unlock()
	return rs
}

// windowsName returns the Windows zone ID for an IANA name, "" if CLDR has none.
func (z *Zones) windowsName(iana string) string {
	z.load()
	if i, ok := z.byIANA[iana]; ok {
		return windowsZones[i].name
	}
	return ""
}

// Blob encodes loc's rules in force in year as a raw TimeZone blob, built
// from the zone's real transitions of that year. Names are the Windows
// standard name from CLDR (MS-ASDTYPE 2.7.6 calls them optional; Outlook and
// Windows phones show them), else the location's own name.
func (z *Zones) Blob(loc *time.Location, year int) []byte {
	return z.blob(loc, year).Encode()
}

func (z *Zones) blob(loc *time.Location, year int) Blob {
	r := rulesOf(loc, year)
	b := blobOf(r)
	if name := z.windowsName(loc.String()); name != "" {
		b.StandardName = name
		if r.hasDST() {
			b.DaylightName = strings.Replace(name, "Standard", "Daylight", 1)
		}
		return b
	}
	// A zone CLDR does not list (a newer IANA zone, one built from a
	// device's blob or a VTIMEZONE) keeps its own name, so a blob read back
	// finds it again by name among equal rules.
	name := loc.String()
	if name == "" || name == "Local" {
		name = r.stdAbbr
	}
	b.StandardName = name
	if r.hasDST() {
		b.DaylightName = name
	}
	return b
}

// FromBlob finds the location whose rules in year match the raw blob (P2:
// by rules for the event's year, never by name alone). Among several
// matches the blob's StandardName (a Windows ID, via CLDR) decides, then the
// configured user zone, then CLDR's territory-001 defaults, then table
// order. When nothing matches it returns a location built from the blob's
// own rules (a fixed offset when it has no DST) and ok=false — never UTC
// unless the blob says UTC.
func (z *Zones) FromBlob(raw []byte, year int) (*time.Location, bool, error) {
	b, err := DecodeBlob(raw)
	if err != nil {
		return nil, false, err
	}
	loc, ok := z.match(b, year)
	if ok {
		return loc, true, nil
	}
	loc, err = locationFromBlob(b, blobName(b))
	if err != nil {
		return nil, false, err
	}
	return loc, false, nil
}

// match tries the blob as sent, then the Motorola reading, each exactly
// and then with an hour's slack on the switch times.
func (z *Zones) match(b Blob, year int) (*time.Location, bool) {
	z.load()
	readings := []Blob{b}
	// Motorola Milestone sends DaylightBias +60 where -60 is meant (Horde
	// _checkTransition); the literal reading is tried first.
	if b.DaylightBias > 0 && b.HasDST() {
		fixed := b
		fixed.DaylightBias = -b.DaylightBias
		readings = append(readings, fixed)
	}
	// Exact instants first, then an hour's slack for devices that write the
	// switch time in the other offset.
	for _, slack := range []time.Duration{0, time.Hour} {
		for _, r := range readings {
			if loc, ok := z.pick(r, rulesOfBlob(r, year), slack, year); ok {
				return loc, true
			}
		}
	}
	return nil, false
}

func (z *Zones) pick(b Blob, want yearRules, slack time.Duration, year int) (*time.Location, bool) {
	rs := z.rulesFor(year)
	var hits []int
	for i, r := range rs {
		if r.matches(want, slack) {
			hits = append(hits, i)
		}
	}
	if len(hits) == 0 {
		return nil, false
	}
	// StandardName as a Windows ID (or display name, or IANA name).
	if i, ok := z.byWindows[strings.ToLower(b.StandardName)]; ok {
		for _, name := range windowsZones[i].zones {
			for _, h := range hits {
				if z.candidates[h].name == name {
					return z.candidates[h].loc, true
				}
			}
		}
	}
	for _, h := range hits {
		if b.StandardName != "" && z.candidates[h].name == b.StandardName {
			return z.candidates[h].loc, true
		}
	}
	if u := z.opts.UserZone; u != nil && rulesOf(u, year).matches(want, slack) {
		return u, true
	}
	for _, h := range hits {
		if z.defaults[z.candidates[h].name] {
			return z.candidates[h].loc, true
		}
	}
	return z.candidates[hits[0]].loc, true
}

// blobName names a location built from a blob: its StandardName when it has
// one, else the offset.
func blobName(b Blob) string {
	if b.StandardName != "" {
		return b.StandardName
	}
	return offsetName(b.stdOffset())
}

func offsetName(off int) string {
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("UTC%c%02d:%02d", sign, off/3600, off/60%60)
}
