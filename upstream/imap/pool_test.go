package imap

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestPoolBoundAndReuse(t *testing.T) {
	cfg := plainConfig(t)
	p := NewPool(cfg, 2, time.Minute, nil)
	defer p.Close()
	ctx := testCtx(t)

	s1, rel1, err := p.Acquire(ctx)
	if err != nil {
		t.Fatalf("Acquire 1: %v", err)
	}
	_, rel2, err := p.Acquire(ctx)
	if err != nil {
		t.Fatalf("Acquire 2: %v", err)
	}

	// A third acquirer waits while both are lent out...
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	_, _, err = p.Acquire(short)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Acquire beyond maxConns = %v, want DeadlineExceeded", err)
	}

	// ...and gets the released session, not a new one.
	got := make(chan *Session, 1)
	go func() {
		s, rel, err := p.Acquire(ctx)
		if err != nil {
			t.Errorf("waiting Acquire: %v", err)
			got <- nil
			return
		}
		defer rel(false)
		got <- s
	}()
	select {
	case s := <-got:
		t.Fatalf("waiting Acquire returned %v before any release", s)
	case <-time.After(100 * time.Millisecond):
	}
	rel1(false)
	rel1(false) // a second release is ignored
	select {
	case s := <-got:
		if s != s1 {
			t.Fatal("waiting Acquire got a new session instead of the released one")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("waiting Acquire did not get the released session")
	}

	// A session released as broken is closed, not kept.
	rel2(true)
	deadline := time.Now().Add(5 * time.Second)
	for p.Idle() != 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := p.Idle(); n != 1 {
		t.Fatalf("idle sessions = %d, want 1 (the broken one dropped)", n)
	}
}

func TestPoolDropsBrokenAndExpiresIdle(t *testing.T) {
	cfg := plainConfig(t)
	p := NewPool(cfg, 1, 300*time.Millisecond, nil)
	defer p.Close()
	ctx := testCtx(t)

	s, rel, err := p.Acquire(ctx)
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	_ = s.Close() // the connection dies while lent out
	rel(false)    // the holder did not notice; the pool must
	if p.Idle() != 0 {
		t.Fatal("a closed session went back to the idle list")
	}

	s2, rel2, err := p.Acquire(ctx)
	if err != nil || s2 == s {
		t.Fatalf("Acquire after a dead session: %v (same session: %v)", err, s2 == s)
	}
	if err := s2.Noop(ctx); err != nil {
		t.Fatalf("Noop on a fresh pooled session: %v", err)
	}
	rel2(false)
	// The expiry takes the session off the idle list first and logs it
	// out after (LOGOUT is a round trip): wait for both, not only the first.
	deadline := time.Now().Add(10 * time.Second)
	for (p.Idle() != 0 || !s2.Broken()) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if p.Idle() != 0 {
		t.Fatal("idle session not expired after idleTimeout")
	}
	if !s2.Broken() {
		t.Fatal("expired session not closed")
	}

	p.Close()
	if _, _, err := p.Acquire(ctx); !errors.Is(err, ErrPoolClosed) {
		t.Fatalf("Acquire after Close = %v, want ErrPoolClosed", err)
	}
}

func TestPoolKeepsOneSessionAfterABurst(t *testing.T) {
	cfg := plainConfig(t)
	p := newPool(cfg, 3, time.Minute, 300*time.Millisecond, nil)
	defer p.Close()
	ctx := testCtx(t)

	var rels []func(bool)
	for range 3 {
		_, rel, err := p.Acquire(ctx)
		if err != nil {
			t.Fatalf("Acquire: %v", err)
		}
		rels = append(rels, rel)
	}
	for _, rel := range rels {
		rel(false)
	}
	if n := p.Idle(); n != 3 {
		t.Fatalf("idle sessions right after the burst = %d, want 3", n)
	}
	deadline := time.Now().Add(10 * time.Second)
	for p.Idle() > 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // long past spareIdle: the last one stays
	if n := p.Idle(); n != 1 {
		t.Fatalf("idle sessions after the burst = %d, want 1", n)
	}
	s, rel, err := p.Acquire(ctx)
	if err != nil || s.Broken() {
		t.Fatalf("the kept session: %v", err)
	}
	rel(false)
}

func TestPoolLoginRejected(t *testing.T) {
	cfg := plainConfig(t)
	cfg.Password = "wrong"
	p := NewPool(cfg, 1, time.Minute, nil)
	defer p.Close()
	if _, _, err := p.Acquire(testCtx(t)); !errors.Is(err, ErrLoginRejected) {
		t.Fatalf("Acquire with a wrong password = %v, want ErrLoginRejected", err)
	}
	// The failed dial gave its slot back.
	short, cancel := context.WithTimeout(testCtx(t), 2*time.Second)
	defer cancel()
	if _, _, err := p.Acquire(short); !errors.Is(err, ErrLoginRejected) {
		t.Fatalf("second Acquire = %v, want ErrLoginRejected again (slot leaked?)", err)
	}
}
