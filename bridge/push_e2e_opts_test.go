package bridge_test

import (
	"time"

	"github.com/idlebridge/idlebridge/bridge"
)

// pushOpts uses a short lease so failover tests finish quickly.
func pushOpts(instance string) bridge.PushOptions {
	return bridge.PushOptions{Instance: instance, LeaseTTL: 1500 * time.Millisecond}
}

// bridgetestPushPolled gives the inbox IDLE (no NOTIFY) and polls the
// rest so rarely that only bus notifications can wake them during a test.
func bridgetestPushPolled() bridge.PushOptions {
	return bridge.PushOptions{NoNotify: true, PollInterval: time.Hour}
}
