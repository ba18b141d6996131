package main

import (
	"strings"
	"testing"
)

// TestOnlyLoopback: the tool refuses any target but plain http on a
// loopback address, and unknown scenarios.
func TestOnlyLoopback(t *testing.T) {
	for _, u := range []string{"http://192.0.2.1:8080", "https://127.0.0.1:8080", "http://example.com", "http://[::2]:80"} {
		if err := run(opts{url: u}, "headers"); err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("%s: %v, want a loopback refusal", u, err)
		}
	}
	if err := run(opts{url: "http://127.0.0.1:1"}, "nosuch"); err == nil || !strings.Contains(err.Error(), "unknown scenario") {
		t.Errorf("unknown scenario: %v", err)
	}
	if got := def(0, 1000, 2000); got != 1000 {
		t.Errorf("default %d", got)
	}
	if got := def(1e6, 1000, 2000); got != 2000 {
		t.Errorf("bounded %d", got)
	}
}
