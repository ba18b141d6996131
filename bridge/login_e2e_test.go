package bridge_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/internal/bridgetest"
	"github.com/idlebridge/idlebridge/internal/testenv"
)

// 500 concurrent wrong passwords from one address, against a passthrough
// user of the real Dovecot behind a counting proxy: the provider sees at
// most the user's budget of failed logins (it saw 332 of 500 before), a
// wrong password once refused is refused locally, and the user's phone —
// which logged in before — keeps working from its own address even though
// every request of it needs a provider login (no cache).
func TestWrongPasswordFloodSparesTheRealDevice(t *testing.T) {
	imapAddr, _ := testenv.IMAP(t)
	proxy := bridgetest.StartProxy(t, imapAddr)
	e := bridgetest.Start(t, bridgetest.Options{
		IMAPAddr:     proxy.Addr(),
		Limiter:      activesync.NewLoginLimiter(5, 30*time.Second),
		AuthCacheTTL: -1,
	})
	ctx := context.Background()
	phone := &client.Client{BaseURL: e.URL, User: e.User, Password: e.Password, DeviceID: "realphone", Version: "16.1",
		DeviceType: "TestPhone", HTTP: bridgetest.From("198.51.100.7", 30*time.Second)}
	if _, err := phone.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := phone.FolderSync(ctx, "0"); err != nil {
		t.Fatal(err)
	}

	before := proxy.Dialed()
	const flood = 500
	codes := map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range flood {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A few seconds is all a guesser's request waits: the delayed
			// ones give up instead of pinning the test.
			c := &client.Client{BaseURL: e.URL, User: e.User, Password: fmt.Sprintf("guess-%d", i),
				DeviceID: fmt.Sprintf("evil%d", i), Version: "16.1", HTTP: bridgetest.From("203.0.113.66", 3*time.Second)}
			// No body, so that the front notices a guesser who gave up
			// while it was held back (net/http watches the connection
			// only once the body is read).
			_, err := c.DoRaw(ctx, "FolderSync", client.Params{}, nil, "")
			code := -1
			var he *client.HTTPError
			if errors.As(err, &he) {
				code = he.Code
			}
			mu.Lock()
			codes[code]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	upstream := proxy.Dialed() - before
	t.Logf("%d wrong passwords: answers %v, %d provider logins", flood, codes, upstream)
	if codes[200] != 0 {
		t.Fatalf("a wrong password was accepted: %v", codes)
	}
	if upstream > 5 {
		t.Fatalf("%d wrong passwords made %d provider logins, want at most the budget of 5", flood, upstream)
	}

	// The real phone, from its own address, with a provider login for
	// every request: not locked out.
	for range 3 {
		if _, err := phone.FolderSync(ctx, "0"); err != nil {
			t.Fatalf("the user's phone after the flood: %v", err)
		}
	}
	// A repeated wrong password is refused locally, from any address,
	// however spent the budget is.
	mark := proxy.Dialed()
	for i := range 3 {
		c := &client.Client{BaseURL: e.URL, User: e.User, Password: "guess-0", DeviceID: "other", Version: "16.1",
			HTTP: bridgetest.From(fmt.Sprintf("192.0.2.%d", 10+i), 10*time.Second)}
		_, err := c.FolderSync(ctx, "0")
		var he *client.HTTPError
		if !errors.As(err, &he) || (he.Code != 401 && he.Code != 429) {
			t.Fatalf("a known-wrong password: %v, want 401 (or 429)", err)
		}
	}
	// The phone's own logins went upstream (they succeed and give their
	// budget back); the known-wrong password did not.
	if n := proxy.Dialed() - mark; n != 0 {
		t.Fatalf("known-wrong passwords made %d provider logins", n)
	}
}
