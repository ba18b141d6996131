package accounts

import (
	"context"
	"sync"
	"time"
)

// rejectTiming makes every refused login take about as long as the
// slowest real kind of refusal, so that the time of a 401 does not tell an
// unknown address from a known one. Without it an unknown address was
// answered after a bcrypt (~60 ms) while a wrong password of a passthrough
// user waited for the provider to refuse it (~500 ms), and addresses could
// be listed by timing. The cost of each kind is learnt (a moving average
// of the refusals really seen: provider refusals, bcrypt mismatches), as
// it depends on the provider and the machine; every refusal (unknown
// address, empty password, negative-cache hit, bcrypt mismatch, provider
// refusal) is then held until the largest of them has passed.
type rejectTiming struct {
	mu       sync.Mutex
	upstream time.Duration // average provider refusal; 0 until one is seen
	bcrypt   time.Duration // average bcrypt mismatch
}

// observe folds one measured refusal into its kind's average (weight 1/8,
// so one slow outlier does not set the floor).
func (r *rejectTiming) observe(upstream bool, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	avg := &r.bcrypt
	if upstream {
		avg = &r.upstream
	}
	if *avg == 0 {
		*avg = d
		return
	}
	*avg += (d - *avg) / 8
}

// floor is how long a refusal should take.
func (r *rejectTiming) floor() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return max(r.upstream, r.bcrypt)
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
