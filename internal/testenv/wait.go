package testenv

import (
	"testing"
	"time"
)

// WaitFor polls cond until it holds, failing the test when it still does
// not after within: for things that happen asynchronously (a Ping
// parking, a file watcher reloading), never as a measure of speed.
func WaitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
