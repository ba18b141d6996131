package activesync

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/internal/testenv"
)

// TestByteBudget: grants in arrival order while they fit, a waiter that
// gives up leaves no trace, and released bytes go to the next in line.
func TestByteBudget(t *testing.T) {
	b := newByteBudget(10)
	ctx := context.Background()
	if err := b.acquire(ctx, 6); err != nil {
		t.Fatal(err)
	}
	got := make(chan int64, 2)
	go func() { _ = b.acquire(ctx, 8); got <- 8 }()
	waitWaiters(t, b, 1)
	// A small request behind a waiting large one waits too (no starving).
	cctx, cancel := context.WithCancel(ctx)
	gaveUp := make(chan error, 1)
	go func() { gaveUp <- b.acquire(cctx, 1) }()
	waitWaiters(t, b, 2)
	cancel()
	if err := <-gaveUp; err == nil {
		t.Fatal("a cancelled acquire succeeded")
	}
	waitWaiters(t, b, 1)
	b.release(6)
	if n := <-got; n != 8 {
		t.Fatal(n)
	}
	b.mu.Lock()
	used := b.used
	b.mu.Unlock()
	if used != 8 {
		t.Fatalf("used %d, want 8", used)
	}
}

func waitWaiters(t *testing.T, b *byteBudget, n int) {
	t.Helper()
	testenv.WaitFor(t, 10*time.Second, fmt.Sprintf("%d waiters", n), func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return len(b.waiters) == n
	})
}
