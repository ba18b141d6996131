package loadtest

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// instances are the bridge processes under test: one, or several sharing
// one Redis (--instances). Several processes are how a town of 10 000
// one-phone users is held on a machine whose descriptor limit (RLIMIT_NOFILE)
// a single process cannot raise: each user costs a device socket and an
// upstream connection. Users are spread over the instances round robin and
// all devices of a user talk to the same one, as a load balancer that is
// sticky by user would do. Every process figure is the sum over them.
type instances struct {
	urls    []string
	pids    []int    // 0 = unknown (--url without --bridge-pid)
	metrics []string // metrics listeners; "" = none
}

// urlFor is the base URL the devices of user u talk to.
func (in *instances) urlFor(user int) string { return in.urls[user%len(in.urls)] }

// measurable reports whether every process can be read from /proc.
func (in *instances) measurable() bool {
	if len(in.pids) == 0 {
		return false
	}
	for _, p := range in.pids {
		if p <= 0 {
			return false
		}
	}
	return true
}

// scrapable reports whether every instance has a metrics listener.
func (in *instances) scrapable() bool {
	if len(in.metrics) == 0 {
		return false
	}
	for _, m := range in.metrics {
		if m == "" {
			return false
		}
	}
	return true
}

func (in *instances) mem() (rss, anon int64, err error) {
	for _, p := range in.pids {
		r, a, e := memBytes(p)
		if e != nil {
			return 0, 0, fmt.Errorf("pid %d: %w", p, e)
		}
		rss, anon = rss+r, anon+a
	}
	return rss, anon, nil
}

func (in *instances) rss() (int64, error) {
	var sum int64
	for _, p := range in.pids {
		r, err := rssBytes(p)
		if err != nil {
			return 0, fmt.Errorf("pid %d: %w", p, err)
		}
		sum += r
	}
	return sum, nil
}

func (in *instances) cpu() (time.Duration, error) {
	var sum time.Duration
	for _, p := range in.pids {
		c, err := cpuTime(p)
		if err != nil {
			return 0, fmt.Errorf("pid %d: %w", p, err)
		}
		sum += c
	}
	return sum, nil
}

func (in *instances) threads() (int64, error) {
	var sum int64
	for _, p := range in.pids {
		n, err := threads(p)
		if err != nil {
			return 0, fmt.Errorf("pid %d: %w", p, err)
		}
		sum += n
	}
	return sum, nil
}

func (in *instances) upstreamConns(remotePort int) (int, error) {
	each, err := in.upstreamConnsEach(remotePort)
	sum := 0
	for _, n := range each {
		sum += n
	}
	return sum, err
}

// upstreamConnsEach is upstreamConns per instance, to show that every
// instance holds its share of the users.
func (in *instances) upstreamConnsEach(remotePort int) ([]int, error) {
	each := make([]int, 0, len(in.pids))
	for _, p := range in.pids {
		n, err := upstreamConns(p, remotePort)
		if err != nil {
			return nil, fmt.Errorf("pid %d: %w", p, err)
		}
		each = append(each, n)
	}
	return each, nil
}

// scrape sums the wanted metrics over the instances. A metric missing
// from one instance is missing from the sum: a partial sum would read as
// a figure for all of them.
func (in *instances) scrape(ctx context.Context, want ...string) (map[string]float64, error) {
	if !in.scrapable() {
		return nil, errors.New("an instance has no metrics listener")
	}
	sum := map[string]float64{}
	seen := map[string]int{}
	for _, addr := range in.metrics {
		m, err := scrapeMetrics(ctx, addr, want...)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", addr, err)
		}
		for k, v := range m {
			sum[k] += v
			seen[k]++
		}
	}
	for k, n := range seen {
		if n != len(in.metrics) {
			delete(sum, k)
		}
	}
	return sum, nil
}
