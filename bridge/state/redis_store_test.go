package state

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/idlebridge/idlebridge/internal/testenv"
)

// redisHarness runs the suite on the shared test Redis, isolated by unique
// user names, except Restart, which needs a private server it can stop.
func redisHarness() harness {
	return harness{newEnv: func(t *testing.T, ttl time.Duration) *engineEnv {
		url := testenv.RedisURL(t)
		var private *testenv.RedisServer
		if strings.HasSuffix(t.Name(), "Restart") { // Restart, SubmissionRestart
			private = testenv.StartRedis(t)
			url = private.URL()
		}
		return &engineEnv{
			open: func(t *testing.T) Store {
				t.Helper()
				client, err := OpenRedisClient(url)
				if err != nil {
					t.Fatal(err)
				}
				return NewRedisStore(client, RedisOptions{DeviceTTL: ttl, OwnClient: true})
			},
			restart: func(t *testing.T) {
				if private == nil {
					t.Fatal("restart needs a private redis-server")
				}
				private.Stop()
				private.Start()
			},
			expire: func(t *testing.T, s Store) {
				time.Sleep(ttl + 300*time.Millisecond)
			},
			user: func(t *testing.T) string { return testenv.UniqueUser(t) },
		}
	}}
}

func TestRedisConformance(t *testing.T) { runConformance(t, redisHarness()) }

// newTestRedisStore opens a store on the shared test Redis.
func newTestRedisStore(t *testing.T, ttl time.Duration) (*RedisStore, redis.UniversalClient) {
	t.Helper()
	client, err := OpenRedisClient(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return NewRedisStore(client, RedisOptions{DeviceTTL: ttl}), client
}

// userKeys lists every key of a user (SCAN on the user's prefix).
func userKeys(t *testing.T, client redis.UniversalClient, user string) []string {
	t.Helper()
	var keys []string
	iter := client.Scan(context.Background(), 0, userPrefix(user)+"*", 1000).Iterator()
	for iter.Next(context.Background()) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return keys
}

func TestRedisKeysExpireAndRefresh(t *testing.T) {
	// The TTL is long and expiry is forced by hand (PEXPIRE), so the test
	// does not race the clock on a loaded machine: it checks that every key
	// carries the TTL, that touching the device record refreshes all of the
	// device's keys (collections not committed to since included), and that
	// the engine copes with a device whose keys Redis has expired.
	const ttl = 10 * time.Minute
	s, client := newTestRedisStore(t, ttl)
	ctx := context.Background()
	u := testenv.UniqueUser(t)

	mustUpdate(t, s, u, "gone", func(*Device) {})
	mustCommit(t, s, u, "gone", "7", 0, CommitRequest{Apply: &Delta{Set: map[string]string{"a": "1"}}, SyncKey: "1"})
	mustUpdate(t, s, u, "alive", func(*Device) {})
	mustCommit(t, s, u, "alive", "7", 0, CommitRequest{Apply: &Delta{Set: map[string]string{"a": "1"}}, SyncKey: "1"})
	mustCommit(t, s, u, "alive", "8", 0, CommitRequest{Apply: &Delta{Set: map[string]string{"b": "1"}}, SyncKey: "1"})

	// Every key carries a TTL no longer than the configured one.
	for _, k := range userKeys(t, client, u) {
		d, err := client.PTTL(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		if d <= 0 || d > ttl {
			t.Fatalf("key %s has TTL %v, want (0, %v]", k, d, ttl)
		}
	}

	// Age the active device's keys, then touch only its record: all of
	// them, collections included, must get the full TTL back.
	const aged = time.Minute
	var aliveKeys []string
	for _, k := range userKeys(t, client, u) {
		if strings.Contains(k, "alive") {
			aliveKeys = append(aliveKeys, k)
			if err := client.PExpire(ctx, k, aged).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(aliveKeys) < 3 {
		t.Fatalf("keys of the active device = %v, want its record and two collections at least", aliveKeys)
	}
	mustUpdate(t, s, u, "alive", func(d *Device) { d.LastSeen = time.Now() })
	for _, k := range aliveKeys {
		d, err := client.PTTL(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		if d <= aged {
			t.Fatalf("key %s kept its aged TTL %v after the device was touched, want it refreshed to about %v", k, d, ttl)
		}
	}

	// Let Redis expire every key of the idle device.
	for _, k := range userKeys(t, client, u) {
		if strings.Contains(k, "gone") {
			if err := client.PExpire(ctx, k, time.Millisecond).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	testenv.WaitFor(t, 10*time.Second, "the idle device's keys to expire", func() bool {
		for _, k := range userKeys(t, client, u) {
			if strings.Contains(k, "gone") {
				return false
			}
		}
		return true
	})

	if _, err := s.GetDevice(ctx, u, "gone"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("device past its TTL: %v", err)
	}
	ds, err := s.ListDevices(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	if got := deviceIDs(ds); len(got) != 1 || got[0] != "alive" {
		t.Fatalf("ListDevices = %v, want [alive]", got)
	}
	// ListDevices dropped the expired ID from the set.
	if members := client.SMembers(ctx, redisDevicesKey(u)).Val(); len(members) != 1 || members[0] != "alive" {
		t.Fatalf("device set = %v, want [alive]", members)
	}
	for _, coll := range []string{"7", "8"} {
		if _, err := s.GetCollection(ctx, u, "alive", coll); err != nil {
			t.Fatalf("collection %s of the active device expired: %v", coll, err)
		}
		if snap := mustSnapshot(t, s, u, "alive", coll); len(snap) != 1 {
			t.Fatalf("snapshot %s of the active device expired: %v", coll, snap)
		}
	}
	if err := s.DeleteDevice(ctx, u, "alive"); err != nil {
		t.Fatal(err)
	}
	if keys := userKeys(t, client, u); len(keys) != 0 {
		t.Fatalf("keys left after the last device was deleted: %v", keys)
	}
}

func TestRedisKeysShareOneSlot(t *testing.T) {
	users := []string{"alice@example.com", "we{ird}:user%", "}{", ""}
	for _, u := range users {
		keys := []string{
			redisDeviceKey(u, "d:1"), redisDevicesKey(u), redisColsKey(u, "d:1"),
			redisSnapKey(u, "d:1", "7"), redisSnapKey(u, "d", "1:7"),
		}
		var tag string
		for _, k := range keys {
			open := strings.IndexByte(k, '{')
			end := strings.IndexByte(k[open+1:], '}')
			if open < 0 || end < 0 {
				t.Fatalf("key %q has no hash tag", k)
			}
			got := k[open+1 : open+1+end]
			if tag == "" {
				tag = got
			}
			if got != tag {
				t.Fatalf("user %q: key %q has tag %q, others %q", u, k, got, tag)
			}
		}
		// Device "d:1" + collection "7" and device "d" + collection "1:7"
		// must not collide.
		if keys[3] == keys[4] {
			t.Fatalf("snapshot keys collide: %s", keys[3])
		}
	}
}

func TestRedisUnavailable(t *testing.T) {
	// A port that refuses Redis: it stays bound (a closed port could be
	// taken by another process between the close and the dial, which made
	// this test flaky) and resets every connection it accepts.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // close with RST: "connection reset by peer"
			}
			_ = c.Close()
		}
	}()
	addr := l.Addr().String()

	client, err := OpenRedisClient("redis://" + addr + "/0?dial_timeout=200ms&max_retries=1")
	if err != nil {
		t.Fatal(err)
	}
	s := NewRedisStore(client, RedisOptions{OwnClient: true})
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ops := []struct {
		name string
		call func() error
	}{
		{"Ping", func() error { return s.Ping(ctx) }},
		{"GetDevice", func() error { _, err := s.GetDevice(ctx, "u", "d"); return err }},
		{"UpdateDevice", func() error {
			_, err := s.UpdateDevice(ctx, "u", "d", func(*Device) error { return nil })
			return err
		}},
		{"ListUsers", func() error { _, err := s.ListUsers(ctx); return err }},
		{"Commit", func() error { _, err := s.Commit(ctx, "u", "d", "7", 0, CommitRequest{}); return err }},
		{"Snapshot", func() error { _, err := s.Snapshot(ctx, "u", "d", "7"); return err }},
		{"DeleteDevice", func() error { return s.DeleteDevice(ctx, "u", "d") }},
	}
	for _, op := range ops {
		err := op.call()
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("%s on a resetting port: err = %v, want ErrUnavailable", op.name, err)
		}
		// The cause stays visible: a reset, or the EOF of a closed stream.
		var opErr *net.OpError
		if !errors.As(err, &opErr) && !errors.Is(err, io.EOF) && !errors.Is(err, syscall.EPIPE) && !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("%s: the cause is lost: %v", op.name, err)
		}
	}
	// Open reports the failure too, as unavailable.
	if _, _, err := Open(ctx, Config{RedisURL: "redis://" + addr + "/0?dial_timeout=200ms"}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Open on a resetting port: %v, want ErrUnavailable", err)
	}
}

func TestRedisSurvivesServerRestart(t *testing.T) {
	srv := testenv.StartRedis(t)
	client, err := OpenRedisClient(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	s := NewRedisStore(client, RedisOptions{OwnClient: true})
	defer s.Close()
	ctx := context.Background()
	mustUpdate(t, s, "u@example.test", "d1", func(d *Device) { d.Type = "x" })
	srv.Stop()
	if _, err := s.GetDevice(ctx, "u@example.test", "d1"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("GetDevice with Redis stopped: %v, want ErrUnavailable", err)
	}
	srv.Start()
	// The same client reconnects by itself.
	d, err := s.GetDevice(ctx, "u@example.test", "d1")
	if err != nil || d.Type != "x" {
		t.Fatalf("GetDevice after Redis came back = %+v, %v", d, err)
	}
}

func TestOpenRedisFromConfig(t *testing.T) {
	url := testenv.RedisURL(t)
	s, client, err := Open(context.Background(), Config{RedisURL: url, DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*RedisStore); !ok || client == nil {
		t.Fatalf("Open returned %T and client %v", s, client)
	}
	if err := s.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// The store owned the client: it is closed now.
	if err := client.Ping(context.Background()).Err(); !errors.Is(err, redis.ErrClosed) {
		t.Fatalf("client after store Close: %v, want closed", err)
	}
}

func TestOpenRedisClientURLs(t *testing.T) {
	tests := []struct {
		url      string
		wantErr  bool
		wantType string
	}{
		{url: "redis://127.0.0.1:6379/0", wantType: "*redis.Client"},
		{url: "rediss://user:pw@cache.example:6380/2", wantType: "*redis.Client"},
		{url: "unix:///run/redis/redis.sock?db=1", wantType: "*redis.Client"},
		{url: "redis+cluster://h1:6379,h2:6379,h3", wantType: "*redis.ClusterClient"},
		{url: "redis+cluster://only-one:7000", wantType: "*redis.ClusterClient"},
		{url: "rediss+cluster://u:p@h1:6379,h2:6379", wantType: "*redis.ClusterClient"},
		{url: "redis+sentinel://h1:26379,h2:26379/mymaster/3", wantType: "*redis.Client"},
		{url: "redis+sentinel://h1,h2/mymaster?sentinel_password=s", wantType: "*redis.Client"},
		{url: "redis+sentinel://h1:26379,h2:26379", wantErr: true}, // no master name
		{url: "redis+sentinel://h1/m/notanumber", wantErr: true},   // bad db
		{url: "redis+cluster://h1:6379/0", wantErr: true},          // clusters have no db
		{url: "redis+cluster://@", wantErr: true},                  // no host
		{url: "redis+cluster://h1?pool_size=3", wantErr: true},     // unknown option
		{url: "memcached://h1", wantErr: true},
		{url: "127.0.0.1:6379", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			c, err := OpenRedisClient(tc.url)
			if tc.wantErr {
				if err == nil {
					c.Close()
					t.Fatal("accepted")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if got := fmt.Sprintf("%T", c); got != tc.wantType {
				t.Fatalf("client type %s, want %s", got, tc.wantType)
			}
		})
	}

	opts, err := parseMultiHostURL("us%40er:p%3Aw@h1:1,h2/mymaster/3?sentinel_password=sp", true)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Username != "us@er" || opts.Password != "p:w" || opts.MasterName != "mymaster" || opts.DB != 3 ||
		opts.SentinelPassword != "sp" || strings.Join(opts.Addrs, ",") != "h1:1,h2:26379" {
		t.Fatalf("parsed %+v", opts)
	}
	if got := redactURL("redis+cluster://u:secret@h1,h2"); strings.Contains(got, "secret") {
		t.Fatalf("redactURL leaked the password: %s", got)
	}
}

// TestRedisMemoryPerIdleDevice measures what an idle, provisioned device
// with a few synced folders costs in Redis, on a private server so the
// number is clean.
func TestRedisMemoryPerIdleDevice(t *testing.T) {
	if testing.Short() {
		t.Skip("memory measurement skipped in -short")
	}
	srv := testenv.StartRedis(t)
	client, err := OpenRedisClient(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	s := NewRedisStore(client, RedisOptions{})
	ctx := context.Background()
	usedMemory := func() int64 {
		info, err := client.Info(ctx, "memory").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(info, "\r\n") {
			if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
		}
		t.Fatal("no used_memory in INFO")
		return 0
	}
	const devices = 10_000
	now := time.Now()
	before := usedMemory()
	for i := range devices {
		u := fmt.Sprintf("user%05d@example.com", i)
		mustUpdate(t, s, u, fmt.Sprintf("ApplF4GHJK%05d", i), func(d *Device) {
			d.Type, d.UserAgent, d.ProtocolVersion = "iPhone", "Apple-iPhone15C2/2101.1", "16.1"
			d.Info = map[string]string{"Model": "iPhone15,2", "OS": "iOS 17.4", "FriendlyName": "Phone"}
			d.PolicyKey, d.FirstSeen, d.LastSeen = 1234567890, now, now
		})
	}
	afterRecords := usedMemory()
	t.Logf("Redis memory per idle device record (device JSON + device set + users index): %d bytes (%d devices, used_memory %d -> %d)",
		(afterRecords-before)/devices, devices, before, afterRecords)

	// The same devices with the folder hierarchy and two folders synced to
	// an empty window: headers only, no snapshot entries.
	for i := range devices {
		u := fmt.Sprintf("user%05d@example.com", i)
		dev := fmt.Sprintf("ApplF4GHJK%05d", i)
		for _, coll := range []string{"", "2", "7"} {
			mustCommit(t, s, u, dev, coll, 0, CommitRequest{SyncKey: "{3f2504e0-4f89-11d3-9a0c-0305e82c3301}1",
				Meta: map[string]string{"uidvalidity": "1700000000", "modseq": "123456", "class": "Email"}})
		}
	}
	afterHeaders := usedMemory()
	t.Logf("Redis memory per idle device with 3 collection headers (empty snapshots): %d bytes", (afterHeaders-before)/devices)
}

// FuzzOpenRedisClient: no configured URL panics the parser or redactURL.
func FuzzOpenRedisClient(f *testing.F) {
	for _, s := range []string{
		"redis://127.0.0.1:6379/0", "redis+cluster://u:pw@h1,h2:7000", "redis+sentinel://:pw@h1:26379/m/1?sentinel_password=x",
		"unix:///tmp/r.sock", "redis+sentinel://@/", "rediss+cluster://,,,", "redis+cluster://a@b@c:1",
	} {
		f.Add(s)
	}
	// Parsing only: a client built from a fuzzed URL could start dialing
	// arbitrary addresses in the background (min_idle_conns).
	f.Fuzz(func(t *testing.T, raw string) {
		tg, err := parseRedisURL(raw)
		if err != nil {
			_ = redactURL(raw)
			return
		}
		if (tg.single == nil) == (tg.multi == nil) {
			t.Fatalf("%q parsed to %+v: want exactly one kind of target", raw, tg)
		}
		if tg.single != nil && tg.single.PoolSize > maxRedisPool {
			t.Fatalf("%q: pool size %d accepted", raw, tg.single.PoolSize)
		}
	})
}

func TestRedisSetWatchedBatchAfterScriptFlush(t *testing.T) {
	// The batch's pipelined EVALSHAs fail with NOSCRIPT once Redis lost
	// its script cache (a restart); the entries must be sent again with
	// EVAL, not reported failed or silently dropped.
	s, client := newTestRedisStore(t, time.Hour)
	u, v := testenv.UniqueUser(t), testenv.UniqueUser(t)+"-2"
	until := time.Now().Add(time.Hour)
	if err := s.SetWatched(t.Context(), u, "a", []string{"1"}, until); err != nil {
		t.Fatal(err)
	}
	if err := client.ScriptFlush(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	err := s.SetWatchedBatch(t.Context(), "a", []WatchedEntry{
		{User: u, Folders: []string{"2"}, Until: until},
		{User: v, Folders: []string{"3"}, Until: until},
	})
	if err != nil {
		t.Fatalf("SetWatchedBatch after SCRIPT FLUSH: %v", err)
	}
	got, err := s.WatchedMany(t.Context(), []string{u, v}, time.Now())
	if err != nil || len(got) != 2 || !slices.Equal(got[0], []string{"2"}) || !slices.Equal(got[1], []string{"3"}) {
		t.Fatalf("WatchedMany = %v, %v; want [[2] [3]]", got, err)
	}
}
