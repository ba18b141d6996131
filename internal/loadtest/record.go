package loadtest

import (
	"sync"
	"time"
)

// delivery is one APPEND and who should hear of it.
type delivery struct {
	seq        int
	user       int
	folder     int       // index into Options.mailboxes
	started    time.Time // APPEND sent
	done       time.Time // tagged OK received; zero if it failed
	failed     bool
	baseline   time.Time // the baseline IDLE client's onChange for it
	baseSeen   bool
	wakes      map[int]time.Time // device → Ping Status 2
	coalesced  map[int]bool      // device learned of it in a Sync woken by an earlier delivery
	deviceWant int
}

// recorder collects deliveries and wake-ups from every goroutine.
type recorder struct {
	mu         sync.Mutex
	deliveries []*delivery
	// byTarget lists each (user, folder)'s deliveries in order, for the
	// baseline, whose onChange does not say which message arrived.
	byTarget map[[2]int][]*delivery
	// duplicate counts wake-ups that brought nothing new (or a delivery a
	// device had already been woken for); spurious baseline calls too.
	duplicates, baseDuplicates int
	// unknown counts messages a Sync brought that no delivery of this run
	// explains (should stay 0).
	unknown int
}

func newRecorder() *recorder { return &recorder{byTarget: map[[2]int][]*delivery{}} }

// startDelivery registers an APPEND about to be sent.
func (r *recorder) startDelivery(seq, user, folder, devices int, at time.Time) *delivery {
	d := &delivery{seq: seq, user: user, folder: folder, started: at, wakes: map[int]time.Time{}, coalesced: map[int]bool{}, deviceWant: devices}
	r.mu.Lock()
	r.deliveries = append(r.deliveries, d)
	r.byTarget[[2]int{user, folder}] = append(r.byTarget[[2]int{user, folder}], d)
	r.mu.Unlock()
	return d
}

func (r *recorder) finishDelivery(d *delivery, at time.Time, ok bool) {
	r.mu.Lock()
	d.done, d.failed = at, !ok
	r.mu.Unlock()
}

// wake records that device's Ping answered Status 2 at `at` and that the
// Sync after it brought the deliveries seqs (in any order). The earliest
// delivery is the one that woke the device; later ones arrived while it
// was syncing and count as seen, without a latency.
func (r *recorder) wake(device int, at time.Time, seqs []int, unknown int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.unknown += unknown
	first := -1
	for _, s := range seqs {
		if s >= 0 && s < len(r.deliveries) && (first < 0 || s < first) {
			first = s
		}
	}
	if first < 0 {
		r.duplicates++ // woken, but nothing of ours was new
		return
	}
	for _, s := range seqs {
		if s < 0 || s >= len(r.deliveries) {
			continue
		}
		d := r.deliveries[s]
		if _, dup := d.wakes[device]; dup || d.coalesced[device] {
			r.duplicates++
			continue
		}
		if s == first {
			d.wakes[device] = at
		} else {
			d.coalesced[device] = true
		}
	}
}

// baselineChange attributes an IDLE client's change notice for a user's
// folder to the oldest delivery there it has not yet reported.
func (r *recorder) baselineChange(user, folder int, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, d := range r.byTarget[[2]int{user, folder}] {
		if !d.baseSeen {
			d.baseSeen, d.baseline = true, at
			return
		}
	}
	r.baseDuplicates++
}

// complete reports whether every delivery so far was seen by every device
// and (when wantBaseline) by the baseline client.
func (r *recorder) complete(wantBaseline bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, d := range r.deliveries {
		if d.failed {
			continue
		}
		if len(d.wakes)+len(d.coalesced) < d.deviceWant || (wantBaseline && !d.baseSeen) {
			return false
		}
	}
	return true
}
