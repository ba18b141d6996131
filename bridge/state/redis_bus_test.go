package state

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/internal/testenv"
	"github.com/redis/go-redis/v9"
)

// newBusTestClient connects to the Redis at url for the duration of t.
func newBusTestClient(t testing.TB, url string) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("parse %s: %v", url, err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// newTestRedisBus returns a bus with waits short enough for tests that
// stop Redis, closed when t ends (before its client, which was created
// first and is therefore closed later).
func newTestRedisBus(t testing.TB, c redis.UniversalClient) *RedisBus {
	t.Helper()
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	b := NewRedisBus(context.Background(), c, log)
	b.timing = redisBusTimings{
		subscribeWait: 3 * time.Second,
		idle:          time.Second,
		pongWait:      time.Second,
		retryMin:      20 * time.Millisecond,
		retryMax:      200 * time.Millisecond,
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// redisBusEngine runs the Bus contract with two bus instances on the shared
// test Redis: every change crosses Redis from one instance to the other.
func redisBusEngine() busEngine {
	return busEngine{
		name: "redis",
		open: func(t testing.TB) busPair {
			url := testenv.RedisURL(t)
			pubClient, subClient := newBusTestClient(t, url), newBusTestClient(t, url)
			return busPair{
				pub: newTestRedisBus(t, pubClient),
				sub: newTestRedisBus(t, subClient),
				subscribers: func(t testing.TB, user string) int {
					ch := busChannel(user)
					n, err := pubClient.PubSubNumSub(context.Background(), ch).Result()
					if err != nil {
						t.Fatalf("PUBSUB NUMSUB: %v", err)
					}
					return int(n[ch])
				},
			}
		},
		user: func(t testing.TB) string { return testenv.UniqueUser(t) },
	}
}

// A lost connection loses whatever was published meanwhile; the subscriber
// must hear Resync once Redis is back, and then receive changes again.
func TestRedisBusResyncsAfterRedisRestart(t *testing.T) {
	srv := testenv.StartRedis(t)
	pub := newTestRedisBus(t, newBusTestClient(t, srv.URL()))
	sub := newTestRedisBus(t, newBusTestClient(t, srv.URL()))
	user := testenv.UniqueUser(t)
	ctx := t.Context()

	s, err := sub.Subscribe(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(ctx, Change{User: user, Collection: "before"}); err != nil {
		t.Fatal(err)
	}
	if c, ok := busRecv(s, 5*time.Second); !ok || c.Collection != "before" {
		t.Fatalf("before restart: got %+v, %v", c, ok)
	}
	select {
	case <-s.Resync():
		t.Fatal("Resync before any connection was lost")
	default:
	}

	srv.Stop()
	downCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
	start := time.Now()
	err = pub.Publish(downCtx, Change{User: user, Collection: "lost"})
	cancel()
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("Publish with Redis stopped: err = %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Publish with Redis stopped took %v", d)
	}

	srv.Start()
	select {
	case <-s.Resync():
	case <-time.After(15 * time.Second):
		t.Fatal("no Resync after Redis came back")
	}
	busEventually(t, 10*time.Second, "changes not delivered after the restart", func() bool {
		if err := pub.Publish(ctx, Change{User: user, Collection: "after"}); err != nil {
			return false
		}
		c, ok := busRecv(s, 500*time.Millisecond)
		return ok && c.Collection == "after"
	})
}

// A connection that stops answering (a half-open TCP connection after a
// network fault looks the same) must be detected by the idle ping and
// replaced; the subscriber then resyncs. CLIENT PAUSE makes the server
// silent without closing anything, so only the ping can notice.
func TestRedisBusDetectsSilentConnection(t *testing.T) {
	srv := testenv.StartRedis(t)
	admin := newBusTestClient(t, srv.URL())
	b := newTestRedisBus(t, newBusTestClient(t, srv.URL()))
	s, err := b.Subscribe(t.Context(), testenv.UniqueUser(t))
	if err != nil {
		t.Fatal(err)
	}
	// idle (1s) + pongWait (1s) pass well within the pause.
	if err := admin.Do(t.Context(), "CLIENT", "PAUSE", "4000", "ALL").Err(); err != nil {
		t.Fatalf("CLIENT PAUSE: %v", err)
	}
	select {
	case <-s.Resync():
	case <-time.After(15 * time.Second):
		t.Fatal("no Resync after the connection went silent")
	}
}

// With no Redis at all, both sides fail fast with ErrUnavailable instead
// of hanging a device's request.
func TestRedisBusUnavailable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close() // nothing listens there now
	b := newTestRedisBus(t, newBusTestClient(t, "redis://"+addr+"/0"))

	cases := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Publish", func(ctx context.Context) error {
			return b.Publish(ctx, Change{User: "u@example.test", Collection: "1"})
		}},
		{"Subscribe", func(ctx context.Context) error {
			s, err := b.Subscribe(ctx, "u@example.test")
			if err == nil {
				_ = s.Close()
			}
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			start := time.Now()
			err := tc.call(ctx)
			if !errors.Is(err, ErrUnavailable) {
				t.Errorf("err = %v, want ErrUnavailable", err)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("took %v with Redis down", d)
			}
		})
	}
}

// A payload that is not ours (garbage, or another user's change on this
// user's channel) is dropped, and subscribers re-check instead.
func TestRedisBusForeignPayloadSignalsResync(t *testing.T) {
	url := testenv.RedisURL(t)
	raw := newBusTestClient(t, url)
	b := newTestRedisBus(t, newBusTestClient(t, url))
	user := testenv.UniqueUser(t)
	other, _ := json.Marshal(Change{User: "mallory@example.test", Collection: "1"})
	for _, payload := range []string{"not json", string(other)} {
		t.Run(payload, func(t *testing.T) {
			s, err := b.Subscribe(t.Context(), user)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := raw.Publish(t.Context(), busChannel(user), payload).Err(); err != nil {
				t.Fatal(err)
			}
			select {
			case <-s.Resync():
			case <-time.After(5 * time.Second):
				t.Fatal("no Resync after an undecodable payload")
			}
			if c, ok := busRecv(s, 100*time.Millisecond); ok {
				t.Errorf("delivered %+v from a foreign payload", c)
			}
		})
	}
}

func TestDecodeBusChange(t *testing.T) {
	at := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	good, _ := json.Marshal(Change{User: "a@example.test", Collection: "7", Source: "dev", At: at})
	cases := []struct {
		name, channel, payload string
		ok                     bool
	}{
		{"valid", busChannel("a@example.test"), string(good), true},
		{"other user's channel", busChannel("b@example.test"), string(good), false},
		{"not JSON", busChannel("a@example.test"), "{", false},
		{"empty", busChannel("a@example.test"), "", false},
		{"wrong field type", busChannel("a@example.test"), `{"u":"a@example.test","t":5}`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := decodeBusChange(tc.channel, tc.payload)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if tc.ok && (c.User != "a@example.test" || c.Collection != "7" || c.Source != "dev" || !c.At.Equal(at)) {
				t.Errorf("decoded %+v", c)
			}
		})
	}
}

// FuzzDecodeBusChange: payloads come from anyone who can publish on the
// Redis; decoding must never panic and never accept a misrouted change.
func FuzzDecodeBusChange(f *testing.F) {
	f.Add("a@example.test", `{"u":"a@example.test","c":"7","s":"dev","t":"2025-01-02T03:04:05Z"}`)
	f.Add("a@example.test", `{"u":"b@example.test"}`)
	f.Add("", `{}`)
	f.Add("x}y", `{"u":"x}y","c":""}`)
	f.Fuzz(func(t *testing.T, user, payload string) {
		ch := busChannel(user)
		c, err := decodeBusChange(ch, payload)
		if err != nil {
			return
		}
		if busChannel(c.User) != ch {
			t.Fatalf("accepted change of %q on %q", c.User, ch)
		}
	})
}
