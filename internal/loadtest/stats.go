package loadtest

import (
	"math"
	"slices"
	"time"
)

// Latency summarises a set of durations, in milliseconds for the JSON
// report (readable, and what push latency is discussed in).
type Latency struct {
	N      int     `json:"n"`
	Median float64 `json:"median_ms"`
	P95    float64 `json:"p95_ms"`
	P99    float64 `json:"p99_ms"`
	Max    float64 `json:"max_ms"`
	Min    float64 `json:"min_ms"`
}

// summarize computes nearest-rank percentiles; the zero Latency for none.
func summarize(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return Latency{
		N:      len(s),
		Median: ms(percentile(s, 50)),
		P95:    ms(percentile(s, 95)),
		P99:    ms(percentile(s, 99)),
		Max:    ms(s[len(s)-1]),
		Min:    ms(s[0]),
	}
}

// percentile is the nearest-rank percentile of sorted s (p in 0..100).
func percentile(s []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	rank = min(max(rank, 1), len(s))
	return s[rank-1]
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/float64(time.Microsecond)) / 1000 }
