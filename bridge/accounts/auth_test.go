package accounts

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/internal/testenv"
)

// fakeChecker stands in for the upstream IMAP login: it accepts one
// password, can simulate an unreachable server and can hold logins until
// released, to test concurrent first logins.
type fakeChecker struct {
	password string
	down     atomic.Bool
	calls    atomic.Int32
	gate     chan struct{} // when not nil, logins wait for it to close
	mu       sync.Mutex
	seen     []string // "host:port user"
}

func (f *fakeChecker) CheckIMAPLogin(ctx context.Context, ep Endpoint, username, password string) error {
	f.calls.Add(1)
	f.mu.Lock()
	f.seen = append(f.seen, ep.Addr()+" "+username)
	f.mu.Unlock()
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if f.down.Load() {
		return errors.New("dial tcp: connection refused")
	}
	if password != f.password {
		return fmt.Errorf("imap login: %w: NO [AUTHENTICATIONFAILED]", ErrLoginRejected)
	}
	return nil
}

// fakeClock is an injectable, settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newTestAuth(t testing.TB, checker LoginChecker) (*Authenticator, *fakeClock) {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir, "pass@example.com.yaml", "preset: dovecot\nimap: {host: imap.example.com}\nlogin: {mode: passthrough, upstream_user: pass}\n")
	writeFile(t, dir, "app@example.com.yaml", "preset: fastmail\nlogin:\n  mode: app-password\n  device_password_bcrypt: \""+testDeviceHash+"\"\n  upstream_password: provider-secret\n")
	d := openTestDirectory(t, dir)
	if len(d.Users()) != 2 {
		t.Fatalf("test users not loaded: %v", d.Problems())
	}
	clock := &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	return NewAuthenticator(d, checker, 15*time.Minute, clock.Now), clock
}

func TestAuthenticateAppPassword(t *testing.T) {
	checker := &fakeChecker{}
	a, _ := newTestAuth(t, checker)
	tests := []struct {
		name, address, password string
		wantErr                 error
	}{
		{"good", "app@example.com", "device-secret", nil},
		{"good, address case differs", "APP@Example.com", "device-secret", nil},
		{"wrong password", "app@example.com", "wrong", ErrBadCredentials},
		{"wrong after a cached success", "app@example.com", "device-secret2", ErrBadCredentials},
		{"empty password", "app@example.com", "", ErrBadCredentials},
		{"unknown user", "nobody@example.com", "device-secret", ErrBadCredentials},
		{"good again (cached)", "app@example.com", "device-secret", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := a.Authenticate(t.Context(), tc.address, tc.password)
			if !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
				t.Fatalf("Authenticate = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				if p != nil {
					t.Errorf("a Principal came with the error: %+v", p)
				}
				return
			}
			if p.User.Address != "app@example.com" || p.Upstream != (Credentials{"app@example.com", "provider-secret"}) {
				t.Errorf("Principal = %+v / %+v", p.User.Address, p.Upstream)
			}
		})
	}
	if n := checker.calls.Load(); n != 0 {
		t.Errorf("app-password logins made %d upstream checks, want 0", n)
	}
}

func TestAuthenticatePassthroughCache(t *testing.T) {
	checker := &fakeChecker{password: "provider-pw"}
	a, clock := newTestAuth(t, checker)
	ctx := t.Context()

	steps := []struct {
		name      string
		password  string
		advance   time.Duration
		down      bool
		wantErr   error
		wantCalls int32 // upstream checks made so far
	}{
		{name: "first login checks upstream", password: "provider-pw", wantCalls: 1},
		{name: "repeat is served from the cache", password: "provider-pw", wantCalls: 1},
		{name: "still cached just before expiry", password: "provider-pw", advance: 15*time.Minute - time.Second, wantCalls: 1},
		{name: "wrong password after a cached success asks upstream and fails", password: "other", wantErr: ErrBadCredentials, wantCalls: 2},
		{name: "the right one is still cached", password: "provider-pw", wantCalls: 2},
		{name: "expired entry checks upstream again", password: "provider-pw", advance: 2 * time.Second, wantCalls: 3},
		{name: "fresh entry cached", password: "provider-pw", wantCalls: 3},
		{name: "upstream down after expiry is unavailable, not bad credentials", password: "provider-pw", advance: time.Hour, down: true, wantErr: ErrUpstreamUnavailable, wantCalls: 4},
		{name: "failures are not cached", password: "provider-pw", wantCalls: 5},
	}
	for _, s := range steps {
		clock.Advance(s.advance)
		checker.down.Store(s.down)
		p, err := a.Authenticate(ctx, "pass@example.com", s.password)
		if !errors.Is(err, s.wantErr) || (err == nil) != (s.wantErr == nil) {
			t.Fatalf("%s: Authenticate = %v, want %v", s.name, err, s.wantErr)
		}
		if errors.Is(err, ErrUpstreamUnavailable) && errors.Is(err, ErrBadCredentials) {
			t.Errorf("%s: error %v is both unavailable and bad credentials", s.name, err)
		}
		if got := checker.calls.Load(); got != s.wantCalls {
			t.Fatalf("%s: %d upstream checks, want %d", s.name, got, s.wantCalls)
		}
		if err == nil && p.Upstream != (Credentials{"pass", s.password}) {
			t.Errorf("%s: Upstream = %+v", s.name, p.Upstream)
		}
	}
	if checker.seen[0] != "imap.example.com:993 pass" {
		t.Errorf("checker was asked %q, want the user's IMAP endpoint and upstream user", checker.seen[0])
	}
}

func TestAuthenticatePassthroughCacheHoldsNoPlaintext(t *testing.T) {
	checker := &fakeChecker{password: "provider-pw"}
	a, _ := newTestAuth(t, checker)
	if _, err := a.Authenticate(t.Context(), "pass@example.com", "provider-pw"); err != nil {
		t.Fatal(err)
	}
	a.cache.mu.Lock()
	defer a.cache.mu.Unlock()
	entries := a.cache.entries["pass@example.com"]
	if len(entries) != 1 {
		t.Fatalf("cache holds %d entries, want 1", len(entries))
	}
	// The entry's MAC depends on its salt: the same password remembered
	// twice must not give the same bytes.
	u, _ := a.dir.Lookup("pass@example.com")
	if again := a.cache.mac([]byte("another salt...."), u, "provider-pw"); again == entries[0].mac {
		t.Error("MAC does not depend on the salt")
	}
}

func TestAuthenticateConcurrentFirstLogins(t *testing.T) {
	checker := &fakeChecker{password: "provider-pw", gate: make(chan struct{})}
	a, _ := newTestAuth(t, checker)
	// Without the cache, only the shared in-flight check can keep this to
	// one upstream login.
	a.cache.ttl = 0
	const n = 20
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := a.Authenticate(t.Context(), "pass@example.com", "provider-pw")
			errs <- err
		}()
	}
	// Hold the upstream login until every request is waiting on it.
	testenv.WaitFor(t, 5*time.Second, "all requests to join the upstream check", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		for _, c := range a.inflight {
			return c.waiters == n
		}
		return false
	})
	close(checker.gate)
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("Authenticate = %v", err)
		}
	}
	if got := checker.calls.Load(); got != 1 {
		t.Errorf("%d concurrent first logins made %d upstream checks, want 1", n, got)
	}
}

func TestAuthenticateCallerGivesUp(t *testing.T) {
	checker := &fakeChecker{password: "provider-pw", gate: make(chan struct{})}
	a, _ := newTestAuth(t, checker)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := a.Authenticate(ctx, "pass@example.com", "provider-pw"); !errors.Is(err, context.Canceled) {
		t.Errorf("Authenticate with a cancelled context = %v, want context.Canceled", err)
	}
	// The detached check still completes and serves the next request.
	close(checker.gate)
	if _, err := a.Authenticate(t.Context(), "pass@example.com", "provider-pw"); err != nil {
		t.Errorf("Authenticate after release = %v", err)
	}
}

func TestAuthenticateUserFileChangeInvalidatesCache(t *testing.T) {
	checker := &fakeChecker{password: "provider-pw"}
	a, _ := newTestAuth(t, checker)
	if _, err := a.Authenticate(t.Context(), "pass@example.com", "provider-pw"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, a.dir.Dir(), "pass@example.com.yaml", "preset: dovecot\nimap: {host: imap2.example.com}\nlogin: {mode: passthrough, upstream_user: pass}\n")
	if err := a.dir.rescan(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(t.Context(), "pass@example.com", "provider-pw"); err != nil {
		t.Fatal(err)
	}
	if got := checker.calls.Load(); got != 2 {
		t.Errorf("%d upstream checks, want 2: a new IMAP host must be asked again", got)
	}
}
