package state

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Config chooses and configures the engine.
type Config struct {
	// DataDir holds the embedded engine's file; used when RedisURL is empty.
	DataDir string
	// RedisURL selects the Redis engine; see OpenRedisClient for the forms.
	RedisURL string
	// DeviceTTL is the inactivity after which a device's state is dropped;
	// DefaultDeviceTTL when zero.
	DeviceTTL time.Duration
}

// Open opens the engine cfg selects. With Redis it also returns the client
// so the bus and the leases can share its pool; the store owns that client
// and closes it in Close, so close the bus and leases first. With the
// embedded engine the client is nil, and the store implements Sweeper,
// which the caller must run periodically to expire idle devices.
func Open(ctx context.Context, cfg Config) (Store, redis.UniversalClient, error) {
	if cfg.RedisURL != "" {
		client, err := OpenRedisClient(cfg.RedisURL)
		if err != nil {
			return nil, nil, err
		}
		if err := client.Ping(ctx).Err(); err != nil {
			_ = client.Close()
			return nil, nil, fmt.Errorf("state: connect to redis %s: %w", redactURL(cfg.RedisURL), redisErr(ctx, err))
		}
		return NewRedisStore(client, RedisOptions{DeviceTTL: cfg.DeviceTTL, OwnClient: true}), client, nil
	}
	if cfg.DataDir == "" {
		return nil, nil, errors.New("state: neither a data directory nor a Redis URL is configured")
	}
	e, err := OpenEmbeddedDir(cfg.DataDir, EmbeddedOptions{DeviceTTL: cfg.DeviceTTL})
	if err != nil {
		return nil, nil, err
	}
	return e, nil, nil
}

// Sweeper is implemented by engines that expire idle devices only when
// asked (the embedded engine; Redis expires keys itself). The server calls
// Sweep periodically when the store it opened implements it.
type Sweeper interface {
	Sweep(ctx context.Context, now time.Time) (int, error)
}

var _ Sweeper = (*Embedded)(nil)
