package bridge_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/internal/bridgetest"
)

// BenchmarkRefusalTimes reports the median time of a 401 for a wrong
// password of a passthrough user (the provider refuses it), the same
// password again (negative cache) and an address with no user file, over
// HTTP against the test Dovecot (go test ./bridge/ -run - -bench
// RefusalTimes -benchtime 1x). Similar figures mean the time of a 401
// does not tell which addresses exist.
func BenchmarkRefusalTimes(b *testing.B) {
	for b.Loop() {
		e := bridgetest.Start(b, bridgetest.Options{})
		ctx := context.Background()
		try := func(user, pass string) time.Duration {
			c := &client.Client{BaseURL: e.URL, User: user, Password: pass, DeviceID: "timing", Version: "16.1"}
			start := time.Now()
			_, err := c.DoRaw(ctx, "FolderSync", client.Params{}, nil, "")
			took := time.Since(start)
			var he *client.HTTPError
			if !errors.As(err, &he) || he.Code != 401 {
				b.Fatalf("%s: %v, want 401", user, err)
			}
			return took
		}
		median := func(f func(i int) time.Duration) float64 {
			var ds []time.Duration
			for i := range 5 {
				ds = append(ds, f(i))
			}
			slices.Sort(ds)
			return float64(ds[2]) / float64(time.Millisecond)
		}
		// Within the user's budget of 5 provider logins.
		b.ReportMetric(median(func(i int) time.Duration { return try(e.User, fmt.Sprint("wrong", i)) }), "ms-provider-refusal")
		b.ReportMetric(median(func(int) time.Duration { return try(e.User, "wrong0") }), "ms-negative-cache")
		b.ReportMetric(median(func(i int) time.Duration { return try(fmt.Sprintf("nobody%d@example.test", i), "x") }), "ms-unknown-address")
	}
}
