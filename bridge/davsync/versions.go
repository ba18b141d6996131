package davsync

import (
	"context"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/bridge/engine"
)

// versioned is an Items whose objects come in versions of their format
// (vCard 3.0 and 4.0): a device's Add is written in the version the
// collection's objects already have, so a book of 4.0 cards gets no 3.0
// card from the phone (issue 14: "written back in the address book's own
// vCard version").
type versioned interface {
	// VersionOf is the version of a stored object ("" when unreadable).
	VersionOf(data []byte) string
	// Versions are the versions PatchNew can write, the fallback first.
	Versions() []string
	// PatchNew is Patch of a device's Add in the given version.
	PatchNew(app *wbxml.Element, call *engine.Call, version string) (*Patched, error)
}

// Listing Meta keys of a versioned class.
const (
	metaOffered = "versions" // the versions the collection takes (supported-address-data), "3.0,4.0"
	metaHeld    = "held"     // the version most fetched objects have
)

// versionSample is how many objects make a tally worth storing: fewer
// only when the collection holds fewer.
const versionSample = 16

// newVersion picks the version of a new object: the one the collection's
// objects have, if the collection takes it; else the first the server
// says it takes; else the class's fallback (vCard 3.0, which RFC 6352 5.1
// makes every CardDAV server take).
func newVersion(vs versioned, meta map[string]string) string {
	known := vs.Versions()
	var offered []string
	for _, v := range strings.Split(meta[metaOffered], ",") {
		if slices.Contains(known, v) {
			offered = append(offered, v)
		}
	}
	if held := meta[metaHeld]; slices.Contains(known, held) && (len(offered) == 0 || slices.Contains(offered, held)) {
		return held
	}
	if len(offered) > 0 {
		return offered[0]
	}
	return known[0]
}

// tally counts the versions of objects and returns the most common one
// with the number counted; a tie keeps prev when it is among the most
// common, else takes the earliest of them in the class's order.
func tally(vs versioned, datas [][]byte, prev string) (string, int) {
	counts := map[string]int{}
	n := 0
	for _, d := range datas {
		if v := vs.VersionOf(d); v != "" {
			counts[v]++
			n++
		}
	}
	if n == 0 {
		return "", 0
	}
	best, most := "", 0
	order := append([]string{prev}, vs.Versions()...)
	for v := range counts {
		if !slices.Contains(order, v) {
			order = append(order, v)
		}
	}
	for _, v := range order {
		if counts[v] > most {
			best, most = v, counts[v]
		}
	}
	return best, n
}

// learnVersion records the version most of the fetched objects have, when
// they are enough to say (a refetch of one edited card does not outvote a
// book). It only writes when the answer changed.
func (j *job) learnVersion(l *listing, datas [][]byte, ed *edit) {
	vs, ok := j.it.(versioned)
	if !ok {
		return
	}
	prev := l.meta[metaHeld]
	best, n := tally(vs, datas, prev)
	own := 0
	for _, e := range l.items {
		if !e.foreign && j.inDefault(l, e.href) {
			own++
		}
	}
	if n == 0 || n < min(versionSample, own) || best == prev {
		return
	}
	ed.meta[metaHeld] = best
}

// addVersion is the version of the device's Add. A listing that never had
// a tally (made before the bridge kept one, or every fetch so far was
// small) is sampled once: one multiget of a few objects, stored with the
// Add's listing edit, so later Adds ask nothing.
func (j *job) addVersion(ctx context.Context, vs versioned, l *listing, ed *edit) string {
	meta := l.meta
	if v, ok := ed.meta[metaHeld]; ok {
		meta = mergedMeta(l.meta, metaHeld, v)
	}
	if meta[metaHeld] == "" {
		var hrefs []string
		for _, e := range l.mine() {
			if j.inDefault(l, e.href) {
				hrefs = append(hrefs, e.href)
			}
		}
		if len(hrefs) > 0 {
			sort.Strings(hrefs)
			hrefs = hrefs[:min(len(hrefs), versionSample)]
			objs, _, err := j.cl.MultiGet(ctx, j.collectionOf(l, hrefs[0]), j.it.Collection(), hrefs)
			if err != nil {
				j.log.Warn("dav: the collection's format version not sampled; the new object takes the default", "err", err)
			} else {
				datas := make([][]byte, len(objs))
				for i := range objs {
					datas[i] = objs[i].Data
				}
				if best, n := tally(vs, datas, ""); n > 0 {
					ed.meta[metaHeld] = best
					meta = mergedMeta(l.meta, metaHeld, best)
				}
			}
		}
	}
	return newVersion(vs, meta)
}

func mergedMeta(m map[string]string, k, v string) map[string]string {
	out := maps.Clone(m)
	out[k] = v
	return out
}
