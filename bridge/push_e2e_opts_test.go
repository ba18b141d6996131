package bridge_test

import (
	"time"

	"github.com/idlebridge/idlebridge/bridge"
)

// pushOpts uses a short lease so failover tests finish quickly.
func pushOpts(instance string) bridge.PushOptions {
	return bridge.PushOptions{Instance: instance, LeaseTTL: 1500 * time.Millisecond}
}
