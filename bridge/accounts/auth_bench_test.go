package accounts

import "testing"

// BenchmarkAuthenticateCached is the cost of a phone request after its
// password was verified once: the path taken by almost every request.
func BenchmarkAuthenticateCached(b *testing.B) {
	checker := &fakeChecker{password: "provider-pw"}
	a, _ := newTestAuth(b, checker)
	ctx := b.Context()
	if _, err := a.Authenticate(ctx, "pass@example.com", "provider-pw"); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := a.Authenticate(ctx, "pass@example.com", "provider-pw"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthenticateUnknownUser is the deliberate cost of a wrong
// address (a bcrypt compare at the default cost).
func BenchmarkAuthenticateUnknownUser(b *testing.B) {
	a, _ := newTestAuth(b, &fakeChecker{})
	for b.Loop() {
		if _, err := a.Authenticate(b.Context(), "nobody@example.com", "x"); err != ErrBadCredentials {
			b.Fatal(err)
		}
	}
}
