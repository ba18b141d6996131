package activesync_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/activesync/client"
)

// knownBackend is the fake backend with devices that logged in before.
type knownBackend struct {
	*fakeBackend
	known    map[string]bool
	verified map[string]bool // user:password
	asked    int
	passed   []string // device IDs LoginDevice was given
}

func (b *knownBackend) KnownDevice(_ context.Context, _, deviceID string) bool {
	b.asked++
	return b.known[deviceID]
}

func (b *knownBackend) Verified(user, pass string) bool { return b.verified[user+":"+pass] }

func (b *knownBackend) LoginDevice(ctx context.Context, user, pass, deviceID string, _ func() bool) (activesync.Account, error) {
	b.passed = append(b.passed, deviceID)
	return b.Login(ctx, user, pass)
}

// Past the per-user ceiling, the front lets a device that logged in
// before through from a new address and holds back a device never seen,
// asking the Backend which is which; it hands the DeviceId to the login.
func TestFrontSparesKnownDevicesPastUserCeiling(t *testing.T) {
	b := &knownBackend{fakeBackend: newFakeBackend(), known: map[string]bool{"phone": true}}
	l := activesync.NewLoginLimiter(5, 10*time.Minute)
	s := &activesync.Server{Backend: b, PublicURL: "https://mail.example.com", Limiter: l,
		ClientAddr: func(r *http.Request) netip.Addr { return netip.MustParseAddr(r.Header.Get("X-Addr")) }}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	// Guessing spread over many addresses: every pair is under its
	// allowance, the user is far past the ceiling.
	for i := range l.UserAllowance + 10 {
		l.Failed("alice@example.com", netip.MustParseAddr(fmt.Sprintf("203.0.113.%d", i%250)), time.Now())
	}
	from := func(id string) *client.Client {
		return &client.Client{BaseURL: ts.URL, User: "alice@example.com", Password: "secret", DeviceID: id,
			DeviceType: "iPhone", Version: "16.1", HTTP: &http.Client{Transport: addrTransport("198.51.100.9")}}
	}
	if _, err := from("phone").Provision(context.Background()); err != nil {
		t.Fatalf("the user's known phone from a new address: %v", err)
	}
	if b.asked == 0 || len(b.passed) == 0 || b.passed[0] != "phone" {
		t.Fatalf("KnownDevice asked %d times, LoginDevice given %v", b.asked, b.passed)
	}
	for i := range l.UserAllowance + 10 {
		l.Failed("alice@example.com", netip.MustParseAddr(fmt.Sprintf("203.0.113.%d", i%250)), time.Now())
	}
	if _, err := from("stranger").Provision(context.Background()); httpCode(err) != http.StatusTooManyRequests {
		t.Fatalf("a device never seen past the per-user ceiling: %v, want 429", err)
	}
}

type addrTransport string

func (a addrTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Addr", string(a))
	return http.DefaultTransport.RoundTrip(r)
}

// A password the Backend verified a moment ago skips the back-off: the
// phone's own parallel requests are not counted as guesses, even from an
// address a guesser shares.
func TestFrontVerifiedPasswordSkipsBackoff(t *testing.T) {
	b := &knownBackend{fakeBackend: newFakeBackend(), verified: map[string]bool{}}
	l := activesync.NewLoginLimiter(5, 10*time.Minute)
	s := &activesync.Server{Backend: b, PublicURL: "https://mail.example.com", Limiter: l,
		ClientAddr: func(r *http.Request) netip.Addr { return netip.MustParseAddr(r.Header.Get("X-Addr")) }}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	nat := netip.MustParseAddr("198.51.100.77")
	for range 20 {
		l.Failed("alice@example.com", nat, time.Now())
	}
	c := &client.Client{BaseURL: ts.URL, User: "alice@example.com", Password: "secret", DeviceID: "phone",
		DeviceType: "iPhone", Version: "16.1", HTTP: &http.Client{Transport: addrTransport(nat.String())}}
	if _, err := c.Provision(context.Background()); httpCode(err) != http.StatusTooManyRequests {
		t.Fatalf("an unverified password from a throttled address: %v, want 429", err)
	}
	b.verified["alice@example.com:secret"] = true
	if _, err := c.Provision(context.Background()); err != nil {
		t.Fatalf("a verified password from a throttled address: %v", err)
	}
}
