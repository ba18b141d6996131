package bridge_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/internal/bridgetest"
	"github.com/idlebridge/idlebridge/internal/testenv"
)

// TestRedisOutage: with Redis down a device gets a retryable 503 with
// Retry-After, not a 500 and not a reset; when Redis is back (with its
// append-only file) the device carries on with the keys it has — no full
// resync.
func TestRedisOutage(t *testing.T) {
	ctx := context.Background()
	rs := testenv.StartRedis(t)
	e := bridgetest.Start(t, bridgetest.Options{Redis: true, RedisURL: rs.URL()})
	dev, inbox, key := inboxReady(t, e, "phone")
	appendMail(t, e, "while redis is down")

	rs.Stop()
	req := wbxml.New(wbxml.FolderHierarchy, "FolderSync")
	req.AddText(wbxml.FolderHierarchy, "SyncKey", "1")
	r, err := dev.Do(ctx, "FolderSync", req)
	var he *client.HTTPError
	if !errors.As(err, &he) || he.Code != 503 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("FolderSync with Redis down: %v (headers %v), want 503 with Retry-After", err, r)
	}

	rs.Start()
	var res *client.SyncResult
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err = dev.Sync(ctx, inbox, key, client.SyncOptions{})
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("Sync after Redis came back: %v", err)
	}
	if res.Status != "1" || len(res.Adds()) != 1 {
		t.Fatalf("Sync after Redis came back: status %s, %d adds; want the one new message on the old key", res.Status, len(res.Adds()))
	}
}
