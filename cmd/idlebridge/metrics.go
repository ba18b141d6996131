package main

import (
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/internal/metrics"
)

// easObserver adapts the metrics to activesync.Server.Observe, which knows
// the EAS status as its own type.
func easObserver(m *metrics.Metrics) func(cmd string, httpCode int, status activesync.Status, d time.Duration) {
	return func(cmd string, httpCode int, status activesync.Status, d time.Duration) {
		m.ObserveRequest(cmd, httpCode, int(status), d)
	}
}
