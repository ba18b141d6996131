package imappools

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/login"
	"github.com/idlebridge/idlebridge/internal/mailrig"
)

// testAccount is a fresh passthrough user of the test Dovecot.
func testAccount(t *testing.T) *login.Account {
	t.Helper()
	acct, _ := mailrig.Account(t)
	return acct
}

func TestRegistryReplaceAndIdle(t *testing.T) {
	acct := testAccount(t)
	up := New(Options{PoolIdle: 200 * time.Millisecond, MaxConnsPerUser: 2}, slog.New(slog.DiscardHandler))
	defer up.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	s, release, err := up.Acquire(ctx, acct)
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	if err := s.Noop(ctx); err != nil {
		t.Fatal(err)
	}
	release(false)
	first := up.pools[acct.Address()].pool

	// A wrong password replaces the pool and is reported as bad
	// credentials, not as an outage.
	bad := *acct
	p := *acct.Principal
	p.Upstream.Password = "wrong"
	bad.Principal = &p
	if _, _, err := up.Acquire(ctx, &bad); !errors.Is(err, activesync.ErrBadCredentials) {
		t.Fatalf("wrong password: %v, want ErrBadCredentials", err)
	}
	// The right one again gets a new, working pool.
	s, release, err = up.Acquire(ctx, acct)
	if err != nil {
		t.Fatalf("Acquire after password change: %v", err)
	}
	release(false)
	if up.pools[acct.Address()].pool == first {
		t.Error("pool not replaced after a credentials change")
	}
	// Idle pools are closed and forgotten.
	deadline := time.Now().Add(5 * time.Second)
	for up.Users() != 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if up.Users() != 0 {
		t.Errorf("%d pools still open after PoolIdle", up.Users())
	}
	_ = s
}
