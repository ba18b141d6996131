package accounts

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/internal/testenv"
)

// A wrong passthrough password is asked upstream once; repeats are refused
// from the negative cache until it expires.
func TestAuthenticateNegativeCache(t *testing.T) {
	checker := &fakeChecker{password: "provider-pw"}
	a, clock := newTestAuth(t, checker)
	for range 5 {
		if _, err := a.Authenticate(t.Context(), "pass@example.com", "wrong"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("wrong password: %v", err)
		}
	}
	if n := checker.calls.Load(); n != 1 {
		t.Fatalf("5 tries of one wrong password made %d upstream logins, want 1", n)
	}
	if _, err := a.Authenticate(t.Context(), "pass@example.com", "provider-pw"); err != nil {
		t.Fatalf("the right password after wrong ones: %v", err)
	}
	clock.Advance(rejectedTTL + time.Second)
	if _, err := a.Authenticate(t.Context(), "pass@example.com", "wrong"); !errors.Is(err, ErrBadCredentials) {
		t.Fatal(err)
	}
	if n := checker.calls.Load(); n != 3 {
		t.Fatalf("after the negative cache expired: %d upstream logins, want 3", n)
	}
	u, _ := a.dir.Lookup("pass@example.com")
	if a.rejected.verified(u, "provider-pw") {
		t.Fatal("the right password is in the negative cache")
	}
	// Bounded per user.
	for i := range 3 * maxRejectedPerUser {
		a.rejected.remember(u, fmt.Sprint("w", i))
	}
	a.rejected.mu.Lock()
	n := len(a.rejected.entries[u.Address])
	a.rejected.mu.Unlock()
	if n > maxRejectedPerUser {
		t.Fatalf("negative cache holds %d entries for one user, want ≤ %d", n, maxRejectedPerUser)
	}
}

// Distinct wrong passwords, even all at once, reach the provider at most
// budgetBurst times, then one per budgetEvery; the rest are refused with
// ErrThrottled (not ErrBadCredentials: they were not checked). A device
// that logged in before has a budget of its own.
func TestAuthenticateUpstreamBudget(t *testing.T) {
	checker := &fakeChecker{password: "provider-pw", gate: make(chan struct{})}
	a, clock := newTestAuth(t, checker)
	a.cache.ttl = 0 // every good login goes upstream too
	const n = 200
	var wg sync.WaitGroup
	var mu sync.Mutex
	results := map[string]int{}
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := a.Authenticate(context.Background(), "pass@example.com", fmt.Sprint("guess", i))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, ErrThrottled):
				results["throttled"]++
			case errors.Is(err, ErrBadCredentials):
				results["rejected"]++
			default:
				results[fmt.Sprint(err)]++
			}
		}()
	}
	// The throttled ones return at once; then release the others.
	testenv.WaitFor(t, 10*time.Second, "the attempts beyond the budget to be refused", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return results["throttled"] == n-budgetBurst
	})
	close(checker.gate)
	wg.Wait()
	if got := checker.calls.Load(); got != budgetBurst {
		t.Fatalf("%d concurrent wrong passwords made %d upstream logins, want %d: %v", n, got, budgetBurst, results)
	}
	if results["rejected"] != budgetBurst || results["throttled"] != n-budgetBurst {
		t.Fatalf("results %v", results)
	}
	var te *ThrottledError
	_, err := a.Authenticate(t.Context(), "pass@example.com", "another")
	if !errors.As(err, &te) || te.RetryAfter <= 0 || te.RetryAfter > budgetEvery {
		t.Fatalf("throttled error %v, want a wait up to %v", err, budgetEvery)
	}

	// A stranger's right guess waits too; the user's known phone does not.
	if _, err := a.Authenticate(t.Context(), "pass@example.com", "provider-pw"); !errors.Is(err, ErrThrottled) {
		t.Fatalf("unknown device with the budget spent: %v", err)
	}
	asked := 0
	known := func() bool { asked++; return true }
	for range 10 {
		if _, err := a.AuthenticateDevice(t.Context(), "pass@example.com", "provider-pw", known); err != nil {
			t.Fatalf("known device with the strangers' budget spent: %v", err)
		}
	}
	if asked == 0 {
		t.Fatal("the known-device check was never asked")
	}
	// Successes gave their tokens back; one more failure per budgetEvery.
	clock.Advance(budgetEvery)
	before := checker.calls.Load()
	for i := range 3 {
		_, _ = a.Authenticate(t.Context(), "pass@example.com", fmt.Sprint("later", i))
	}
	if got := checker.calls.Load() - before; got != 1 {
		t.Fatalf("a minute later %d upstream logins, want 1", got)
	}
}

// Every refusal is held until the slowest kind of refusal seen would have
// taken: an unknown address, an empty password and a negative-cache hit
// take the same path as a provider's refusal. The test checks the
// mechanism (what the hold is asked to wait), not the clock.
func TestAuthenticateRefusalsTakeComparableTime(t *testing.T) {
	checker := &fakeChecker{password: "provider-pw"}
	a, clock := newTestAuth(t, checker)
	var mu sync.Mutex
	var held []time.Duration
	a.sleep = func(_ context.Context, d time.Duration) {
		mu.Lock()
		held = append(held, d)
		mu.Unlock()
		clock.Advance(d)
	}
	// The provider takes 500 ms to refuse.
	slow := &slowChecker{fakeChecker: checker, clock: clock, took: 500 * time.Millisecond}
	a.checker = slow
	if _, err := a.Authenticate(t.Context(), "pass@example.com", "wrong"); !errors.Is(err, ErrBadCredentials) {
		t.Fatal(err)
	}
	if f := a.timing.floor(); f != 500*time.Millisecond {
		t.Fatalf("refusal floor %v after one 500 ms provider refusal", f)
	}
	held = nil
	cases := []struct{ name, address, password string }{
		{"unknown address", "nobody@example.com", "x"},
		{"empty password", "pass@example.com", ""},
		{"negative-cache hit", "pass@example.com", "wrong"},
		{"app-password mismatch", "app@example.com", "wrong"},
	}
	for _, tc := range cases {
		start := clock.Now()
		if _, err := a.Authenticate(t.Context(), tc.address, tc.password); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if took := clock.Now().Sub(start); took != 500*time.Millisecond {
			t.Errorf("%s took %v on the test clock, want the 500 ms floor", tc.name, took)
		}
	}
	if len(held) != len(cases) {
		t.Fatalf("the hold was asked %d times for %d refusals", len(held), len(cases))
	}
	// Good logins are never held.
	held = nil
	if _, err := a.Authenticate(t.Context(), "app@example.com", "device-secret"); err != nil || len(held) != 0 {
		t.Fatalf("a good login: %v, held %v", err, held)
	}
}

// slowChecker is a fakeChecker whose logins take took on the test clock.
type slowChecker struct {
	*fakeChecker
	clock *fakeClock
	took  time.Duration
}

func (s *slowChecker) CheckIMAPLogin(ctx context.Context, ep Endpoint, username, password string) error {
	s.clock.Advance(s.took)
	return s.fakeChecker.CheckIMAPLogin(ctx, ep, username, password)
}

// Verified answers from the cache only: never for a wrong or unknown
// password, and never by asking the provider.
func TestAuthenticatorVerified(t *testing.T) {
	checker := &fakeChecker{password: "provider-pw"}
	a, clock := newTestAuth(t, checker)
	if a.Verified("pass@example.com", "provider-pw") {
		t.Fatal("verified before any login")
	}
	if _, err := a.Authenticate(t.Context(), "pass@example.com", "provider-pw"); err != nil {
		t.Fatal(err)
	}
	if !a.Verified("PASS@example.com", "provider-pw") || a.Verified("pass@example.com", "other") || a.Verified("nobody@example.com", "provider-pw") {
		t.Fatal("Verified does not follow the cache")
	}
	clock.Advance(16 * time.Minute)
	if a.Verified("pass@example.com", "provider-pw") {
		t.Fatal("verified after the cache expired")
	}
	if n := checker.calls.Load(); n != 1 {
		t.Fatalf("Verified made upstream logins: %d", n)
	}
}
